"""``mocap bench detection`` runs end to end on one frame set and prints every row."""

from __future__ import annotations

import pytest

from mocap.cli import main
from mocap.detection.tflite_reference import mediapipe_available

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.mark.skipif(not mediapipe_available(), reason="needs mediapipe==0.10.14 (models and the peer)")
def test_the_benchmark_prints_ours_against_mediapipe(shared_data, capsys):
    command = ["bench", "detection", "--frames", "1", "--batch", "1", "--threads", "0", "--multi-frames", "2"]
    assert main(command) == 0
    out = capsys.readouterr().out
    assert "4 views of 1080x1920" in out
    lines = out.splitlines()
    multi = [line for line in lines if line.startswith("multi-person")]
    assert len(multi) == 2 and all("2 frame sets" in line for line in multi)
    assert "rig" not in multi[0] and "rig Calib.qca.txt" in multi[1]  # without, then with guidance
    for line in multi:
        fractions = [float(part.split()[-1]) for part in line.split(": ")[-1].split(";")[0].split(", ")]
        assert len(fractions) == 4 and all(0.0 <= f <= 1.0 for f in fractions)
        assert fractions[0] == 1.0  # cam01 shows both people from the first frame on
    rows = {line[:44].strip(): line[44:].split() for line in lines[2:] if not line.startswith("multi-person")}
    assert set(rows) == {
        "mediapipe cpu (tracking)",
        "blazepose cpu fp32 (tracking)",
        "mediapipe cpu (static)",
        "blazepose cpu fp32 (static, 1 sets/pass)",
    }
    rate, ratio, cpu_ms, cpu_ratio, agree = rows["blazepose cpu fp32 (static, 1 sets/pass)"]
    assert float(rate) > 0 and float(ratio) > 0 and float(cpu_ms) > 0 and float(cpu_ratio) > 0
    assert float(agree) < 2.0  # both ran the same models on the same frames
