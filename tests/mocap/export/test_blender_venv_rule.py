"""A missing .venv-blender is a failure that says what to run, never a silent skip."""

import pytest

from tests.mocap.export.conftest import require_blender


def test_missing_venv_fails_with_the_make_target(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="run make blender-venv"):
        require_blender(tmp_path / "bin" / "python", {})


def test_skip_only_on_request(tmp_path):
    with pytest.raises(pytest.skip.Exception, match="MOCAP_SKIP_BLENDER=1"):
        require_blender(tmp_path / "bin" / "python", {"MOCAP_SKIP_BLENDER": "1"})
    python = tmp_path / "python"
    python.write_text("")
    assert require_blender(python, {}) == python
