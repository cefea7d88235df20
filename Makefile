# Two commands, each self-bootstrapping on a fresh machine with Python 3.11:
#   make test   -> set up .venv and system packages, then lint, type-check and run the tests
#   make demo   -> set up .venv, then run the end-to-end demo
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup system-deps test lint typecheck pytest demo clean

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

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: setup
	$(PY) -m mypy

pytest: setup system-deps
	$(PY) -m pytest

test: lint typecheck pytest

demo: setup
	$(VENV)/bin/mocap demo --out demo_out

clean:
	rm -rf $(VENV) demo_out .pytest_cache .mypy_cache .ruff_cache
