"""The layering of DESIGN.md section 2, checked on every import statement of the three packages.

ui -> mocap -> calibration (and ui -> calibration); nothing points back up; no Qt below ui;
torch, cv2 and Qt are not loaded by importing the library or starting the CLI.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT = {"PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6", "OpenGL"}
FORBIDDEN = {
    "calibration": {"mocap", "ui"} | QT,
    "mocap": {"ui"} | QT,
    "ui": set(),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_points_up_or_pulls_qt_below_ui(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_modules(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}")
    assert not offenders, "\n".join(offenders)


def test_relative_imports_are_not_used():
    for package in FORBIDDEN:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            assert not any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(tree)), path


def test_library_and_cli_import_without_heavy_modules():
    code = (
        "import sys, calibration, mocap, mocap.cli, mocap.synthetic.studio, mocap.triangulation.dlt;"
        "names = ('torch', 'cv2', 'PySide6', 'open3d', 'aniposelib', 'mediapipe');"
        "heavy = sorted(m for m in names if m in sys.modules);"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == ""
