"""Timestamp files (crash-tolerant), gap finding and stage manifests."""

import numpy as np
import pytest

from mocap.errors import FileFormatError, MissingFileError
from mocap.session.provenance import (
    StageManifest,
    code_version,
    config_hash,
    outputs_intact,
    read_manifest,
    record_outputs,
    stage_key,
    write_manifest,
)
from mocap.session.timestamps import HEADER, TimestampTable, TimestampWriter, find_gaps, read_timestamps


def test_rows_round_trip_and_a_cut_last_line_is_ignored(tmp_path):
    path = tmp_path / "cam.timestamps.csv"
    writer = TimestampWriter(path)
    for s in (0, 1, 3, 4):
        writer.write(s, s / 30.0, s / 30.0 + 0.01)
    writer.write(5, 5 / 30.0)  # arrival unknown
    # a crash before close: the file holds every row written so far
    table = read_timestamps(path)
    assert list(table.frame) == [0, 1, 2, 3, 4] and list(table.frame_set) == [0, 1, 3, 4, 5]
    assert table.timestamp_s[2] == pytest.approx(0.1)
    assert np.isnan(table.arrival_s[4])
    writer.close()
    with open(path, "a") as handle:
        handle.write("5,6,0.2")
    assert len(read_timestamps(path)) == 5
    with pytest.raises(FileExistsError):
        TimestampWriter(path)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("nonsense\n", "header"),
        (f"{HEADER}\n0,0,0.0,0.0\n1,x,0.1,0.1\n", "line 3"),
        (f"{HEADER}\n0,0,0.0,0.0\n2,1,0.1,0.1\n", "line 3: frame 2 where 1"),
        (f"{HEADER}\n0,3,0.0,0.0\n1,2,0.1,0.1\n", "line 3: frame_set does not increase"),
    ],
)
def test_malformed_files_name_the_line(tmp_path, body, match):
    path = tmp_path / "t.csv"
    path.write_text(body)
    with pytest.raises(FileFormatError, match=match):
        read_timestamps(path)


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError):
        read_timestamps(tmp_path / "none.csv")


def test_regular_table_and_gaps():
    table = TimestampTable.regular(4, 60.0)
    assert list(table.frame_set) == [0, 1, 2, 3] and table.timestamp_s[3] == pytest.approx(0.05)
    gaps = find_gaps([0, 1, 4, 5, 9], [i / 10 for i in range(10)])
    assert [(g.first_set, g.last_set, g.start_s, g.end_s) for g in gaps] == [(2, 3, 0.2, 0.3), (6, 8, 0.6, 0.8)]
    assert find_gaps(range(5), [0.0] * 5) == []


def test_config_hash_is_canonical_and_keys_depend_on_inputs():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    key = stage_key("triangulate", {"min_views": 2}, {"detect": "k1"})
    assert key != stage_key("triangulate", {"min_views": 2}, {"detect": "k2"})
    assert key != stage_key("filter", {"min_views": 2}, {"detect": "k1"})
    assert code_version().startswith(__import__("mocap").__version__)


def test_manifest_round_trip_and_tampering_is_detected(tmp_path):
    out = tmp_path / "derived" / "detect"
    out.mkdir(parents=True)
    (out / "keypoints2d.npz").write_bytes(b"data")
    manifest = StageManifest(
        stage="detect",
        key="k",
        config_hash=config_hash({"backend": "precomputed"}),
        code_version=code_version(),
        created="2025-01-01T00:00:00+00:00",
        seconds=1.5,
        config={"backend": "precomputed", "path": None, "layout": "body25b"},
        inputs={},
        outputs=record_outputs(tmp_path, [out / "keypoints2d.npz"]),
    )
    write_manifest(out / "stage.toml", manifest)
    again = read_manifest(out / "stage.toml")
    assert again.outputs[0].file == "derived/detect/keypoints2d.npz" and again.outputs[0].bytes == 4
    assert again.config == {"backend": "precomputed", "layout": "body25b"}
    assert outputs_intact(tmp_path, again)
    (out / "keypoints2d.npz").write_bytes(b"dat!")
    assert not outputs_intact(tmp_path, again)
    (out / "stage.toml").write_text("stage = 1\n")
    with pytest.raises(FileFormatError, match=r"stage\.toml"):
        read_manifest(out / "stage.toml")
