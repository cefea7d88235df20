"""``mocap export TAKE``: a processed take's latest poses are exported; an unprocessed take says what to run."""

from mocap.cli import main
from mocap.formats.bvh_reader import read_bvh

from .conftest import ORACLE


def test_export_reads_the_processed_take(studio, tmp_path, capsys):
    out = tmp_path / "take.bvh"
    assert main(["export", str(studio.take.root), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mocap: error: ") and "run `mocap process" in err and "\n" not in err
    assert not out.exists()
    assert main(["process", str(studio.take.root), "--backend", ORACLE, "--formats", "trc"]) == 0
    assert main(["export", str(studio.take.root), "--out", str(out)]) == 0
    assert read_bvh(out).num_frames == studio.synthetic.detections.num_frames
