"""``mocap bench triangulation`` runs end to end on a small batch and prints its tables."""

import re

import pytest

from mocap.cli import main


@pytest.mark.slow
def test_the_benchmark_prints_every_path_against_aniposelib(capsys):
    code = main(["bench", "triangulation", "--observations", "1500", "--repeat", "1", "--no-torch", "--no-studies"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("aniposelib triangulate") == 4  # clean and outliers, 4 and 8 cameras
    rows = re.findall(r"^ours: DLT \+ refine, compiled +([\d,]+) +([\d.]+) +([\d,]+) +([\d.]+) +([\d.]+)$", out, re.M)
    assert len(rows) == 4
    for _rate, ratio, _per_cpu, error_mm, made in rows[:2]:  # clean: 2 px noise gives about 1 cm
        assert float(ratio) > 0 and 3.0 < float(error_mm) < 20.0 and float(made) > 95.0
    observed = [int(n) for n in re.findall(r"points, (\d+) observed joints", out)]
    assert len(observed) == 4 and min(observed) >= 1500
