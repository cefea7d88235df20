#!/usr/bin/env bash
# Install torch 2.13.0 into the given interpreter's environment without dragging CUDA packages
# onto CPU machines:
#  1. a local wheel that pip already knows about (find-links) is used as is -- on these machines
#     `pip install torch==2.13.0` takes the CPU build kept on disk;
#  2. otherwise, on a machine without an NVIDIA driver, the CPU build from PyTorch's CPU index;
#  3. otherwise (or if that index is unreachable) the default build from PyPI.
set -euo pipefail
PY=${1:?usage: install_torch.sh PYTHON}
VERSION=2.13.0

if "$PY" -c "import sys, torch; sys.exit(0 if torch.__version__.split('+')[0] == '$VERSION' else 1)" 2>/dev/null; then
  exit 0
fi
if "$PY" -m pip install --quiet --no-index --no-deps "torch==$VERSION" 2>/dev/null; then
  echo "torch $VERSION: local wheel"
  "$PY" -m pip install --quiet "torch==$VERSION"   # its dependencies, from the registry
  exit 0
fi
if ! command -v nvidia-smi >/dev/null 2>&1; then
  if "$PY" -m pip install --quiet "torch==$VERSION" --index-url https://download.pytorch.org/whl/cpu \
        --extra-index-url https://pypi.org/simple; then
    echo "torch $VERSION: CPU build"
    exit 0
  fi
  echo "torch $VERSION: CPU index unreachable, installing the default build from PyPI" >&2
fi
"$PY" -m pip install --quiet "torch==$VERSION"
