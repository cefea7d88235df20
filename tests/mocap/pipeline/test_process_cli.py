"""``mocap process``: a session or take folder in, exports out; a second run reuses the caches."""

import tomli_w

from mocap.cli import main

from .conftest import ORACLE


def test_process_a_session_twice(studio, capsys):
    assert main(["process", str(studio.session.root), "--backend", ORACLE, "--formats", "bvh"]) == 0
    out = capsys.readouterr().out
    assert "detect       ran in" in out and "export       ran in" in out
    assert f"wrote: {studio.take.exports_dir / 'take_1.bvh'}" in out
    assert main(["process", str(studio.take.root), "--backend", ORACLE, "--formats", "bvh"]) == 0
    out = capsys.readouterr().out
    assert all(f"{stage:12s} cached" in out for stage in ("detect", "triangulate", "filter", "export"))
    assert f"up to date: {studio.take.exports_dir / 'take_1.bvh'}" in out
    assert main(["process", str(studio.take.root), "--backend", ORACLE, "--formats", "bvh", "--cutoff-hz", "4"]) == 0
    out = capsys.readouterr().out
    assert "triangulate  cached" in out and "filter       ran in" in out


def test_settings_come_from_the_session_and_the_command_line_wins(studio, capsys):
    session_toml = studio.session.root / "session.toml"
    document = studio.session.info.model_dump(mode="json")
    document["pipeline"] = {"detect": {"backend": ORACLE}, "export": {"formats": ["trc"]}}
    session_toml.write_text(tomli_w.dumps(document))
    assert main(["process", str(studio.session.root), "--stages", "detect,triangulate,filter,export"]) == 0
    assert (studio.take.exports_dir / "take_1.trc").is_file()
    assert main(["process", str(studio.session.root), "--formats", "csv"]) == 0
    assert (studio.take.exports_dir / "take_1.csv").is_file()
    capsys.readouterr()
    document["pipeline"] = {"people": 0}
    session_toml.write_text(tomli_w.dumps(document))
    assert main(["process", str(studio.session.root)]) == 2
    assert capsys.readouterr().err.strip().startswith("mocap: error: session.toml [pipeline] people:")


def test_bad_input_exits_2_with_one_line(studio, tmp_path, capsys):
    cases = [
        ([str(tmp_path / "nowhere")], "neither a take (no take.toml) nor a session"),
        ([str(studio.session.root), "--take", "take_9"], "no take named 'take_9' (takes: take_1)"),
        ([str(studio.take.root), "--stages", "detect,solve"], "unknown stage 'solve'"),
        ([str(studio.take.root), "--backend", ORACLE, "--stages", "export"], "stage detect has not run"),
        ([str(studio.take.root), "--backend", ORACLE, "--formats", "gif"], "export.formats.0"),
        ([str(studio.take.root), "--backend", ORACLE, "--rig", str(tmp_path / "rig.toml")], "rig.toml"),
    ]
    for argv, message in cases:
        assert main(["process", *argv]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("mocap: error:") and message in err and "\n" not in err, (argv, err)
    assert not (studio.take.derived_dir / "detect" / "stage.toml").exists()
