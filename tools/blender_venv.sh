#!/usr/bin/env bash
# Build .venv-blender: Blender 4.5 as a Python module (bpy, ~370 MB; it pins numpy<2, so it cannot
# share the project's venv). The Blender round-trip tests run tools/blender_measure.py with it.
# Usage: tools/blender_venv.sh [VENV_DIR] [PYTHON]     (defaults: .venv-blender, python3.11)
set -euo pipefail
VENV="${1:-.venv-blender}"
PYTHON="${2:-$(command -v python3.11 || command -v python3)}"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "bpy 4.5 needs Python 3.11 (found " + sys.version.split()[0] + ")")'
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "bpy==4.5.*" "numpy<2"
"$VENV/bin/python" -c 'import bpy; print("bpy", bpy.app.version_string, "ready in '"$VENV"'")'
touch "$VENV/.installed"
