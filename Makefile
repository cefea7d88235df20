# Two commands, each self-bootstrapping on a fresh machine with Python 3.11:
#   make test   -> set up .venv and system packages, then lint, type-check and run the tests
#   make demo   -> set up .venv, then run the end-to-end demo
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Blender as a Python module for the BVH/FBX round-trip tests (bpy 4.5, numpy<2: its own venv, cached)
BLENDER_STAMP := .venv-blender/.installed

.PHONY: setup system-deps blender-venv test lint typecheck pytest demo screenshots gui-responsiveness clean

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml tools/install_torch.sh | $(PY)
	tools/install_torch.sh $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(STAMP)

system-deps:
	@tools/system_deps.sh

$(BLENDER_STAMP):
	tools/blender_venv.sh .venv-blender $(PYTHON)

blender-venv: $(BLENDER_STAMP)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: setup
	$(PY) -m mypy

pytest: setup system-deps blender-venv
	$(PY) -m pytest

test: lint typecheck pytest

demo: setup
	$(VENV)/bin/mocap demo --out demo_out --real

# GUI screenshots under Xvfb (live demo, calibration wizard and result, review) into docs/screenshots
screenshots: setup system-deps
	$(PY) tools/screenshots.py --out docs/screenshots --real

# event-loop latency while a take processes, and the live view's drawing rate
gui-responsiveness: setup system-deps
	$(PY) tools/gui_responsiveness.py

clean:
	rm -rf $(VENV) .venv-blender demo_out .pytest_cache .mypy_cache .ruff_cache
