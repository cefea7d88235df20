"""run_take_iter: stages, cache keys, resuming after an interruption, stage selection, bad input."""

import numpy as np
import pytest

from calibration.errors import CancelledError
from calibration.progress import CancelToken
from mocap.detection.registry import UnknownDetectorError
from mocap.errors import MismatchError, MocapError
from mocap.filtering.pipeline import FilterConfig
from mocap.metrics import mpjpe
from mocap.pipeline.config import STAGES, DetectStageConfig, ExportStageConfig, PipelineConfig
from mocap.pipeline.plan import StageNotCachedError, plan_take
from mocap.pipeline.run import run_take, run_take_iter
from mocap.session.provenance import code_version, config_hash, read_manifest
from mocap.session.store import NoCalibrationError, Session

from .conftest import ORACLE


def oracle_config(**changes) -> PipelineConfig:
    return PipelineConfig(detect=DetectStageConfig(backend=ORACLE), **changes)


def ran(result) -> list[str]:
    return [s.stage for s in result.stages if not s.cached]


def test_first_run_computes_every_stage_and_the_second_reuses_them(studio):
    first = run_take(studio.take, oracle_config())
    assert ran(first) == ["detect", "triangulate", "filter", "export"]
    assert mpjpe(first.poses.xyz, studio.synthetic.poses.xyz) < 0.02  # metres, 1 px noise
    exports = sorted(p.name for p in first.exports)
    assert exports == ["take_1.bvh", "take_1.fbx"]
    assert all(p.is_file() and p.parent == studio.take.exports_dir for p in first.exports)
    manifest = read_manifest(studio.take.derived_dir / "filter" / "stage.toml")
    assert manifest.code_version == code_version()
    assert manifest.config_hash == config_hash(oracle_config().stage_config("filter"))
    assert manifest.inputs["triangulate"] == first.stage("triangulate").key

    # which detection slot became the person, views in rig order (the review colours 2D by it)
    slot_person = np.load(studio.take.derived_dir / "triangulate" / "slot_person.npy", allow_pickle=False)
    detections = first.detections
    assert slot_person.shape == detections.score.shape[:3]
    seen = detections.score.sum(axis=-1) > 0  # (T, V, S)
    assert np.all((slot_person == 0) == seen)  # one person, one slot per view: every seen slot is theirs

    second = run_take(studio.take, oracle_config())
    assert ran(second) == [] and len(studio.made) == 1  # the detector was not even built
    np.testing.assert_array_equal(second.poses.xyz, first.poses.xyz)
    assert second.exports == first.exports


def test_a_changed_setting_reruns_that_stage_and_the_ones_after(studio):
    run_take(studio.take, oracle_config())
    smoother = oracle_config(filtering=FilterConfig(cutoff_hz=3.0))
    assert ran(run_take(studio.take, smoother)) == ["filter", "export"]
    more_formats = smoother.model_copy(update={"export": ExportStageConfig(formats=("bvh", "trc"))})
    result = run_take(studio.take, more_formats)
    assert ran(result) == ["export"]
    assert sorted(p.suffix for p in result.exports) == [".bvh", ".trc"]
    assert ran(run_take(studio.take, oracle_config(people=1, triangulation={"method": "dlt"}))) == [
        "triangulate",
        "filter",
        "export",
    ]


def test_an_interrupted_run_resumes_at_the_unfinished_stage(studio):
    cancel = CancelToken()

    def cancel_while_triangulating():
        for report in run_take_iter(studio.take, oracle_config(), cancel=cancel):
            if report.stage == "triangulating":
                cancel.cancel()

    with pytest.raises(CancelledError):
        cancel_while_triangulating()
    assert (studio.take.derived_dir / "detect" / "stage.toml").is_file()
    assert not (studio.take.derived_dir / "triangulate" / "stage.toml").exists()
    assert ran(run_take(studio.take, oracle_config())) == ["triangulate", "filter", "export"]


def test_damaged_outputs_are_recomputed(studio):
    first = run_take(studio.take, oracle_config())
    first.stage("triangulate").outputs[0].write_bytes(b"damaged")
    studio.take.exports_dir.joinpath("take_1.fbx").unlink()
    assert ran(run_take(studio.take, oracle_config())) == ["triangulate", "export"]


def test_selected_stages_build_on_cached_ones_only(studio):
    only_detect = run_take(studio.take, oracle_config(), stages=["detect"])
    assert ran(only_detect) == ["detect"] and only_detect.poses is None
    with pytest.raises(StageNotCachedError, match=r"stage triangulate has not run; include it in --stages"):
        run_take(studio.take, oracle_config(), stages=["export"])
    assert ran(run_take(studio.take, oracle_config(), stages=["triangulate", "filter"])) == ["triangulate", "filter"]
    with pytest.raises(StageNotCachedError, match=r"stage filter is out of date"):
        run_take(studio.take, oracle_config(filtering=None), stages=["export"])
    assert ran(run_take(studio.take, oracle_config(), stages=["export"])) == ["export"]
    forced = run_take(studio.take, oracle_config(), stages=["filter"], force=True)
    assert ran(forced) == ["filter"]


def test_progress_reports_every_stage(studio):
    stages = [report.stage for report in run_take_iter(studio.take, oracle_config())]
    assert stages[0] == f"detect ({ORACLE})" and "triangulating" in stages and stages[-1] == "export"
    again = {report.stage for report in run_take_iter(studio.take, oracle_config())}
    assert again == {"detect (cached)", "triangulate (cached)", "filter (cached)", "export (cached)"}


def test_bad_input_is_one_line(studio, tmp_path):
    with pytest.raises(MocapError, match=r"unknown stage 'solve'; stages are detect, triangulate, filter, export"):
        run_take(studio.take, oracle_config(), stages=["solve"])
    with pytest.raises(UnknownDetectorError, match=r"no detector backend 'nope'"):
        run_take(studio.take, PipelineConfig(detect=DetectStageConfig(backend="nope")))
    two_cameras = studio.synthetic.rig.subset(studio.synthetic.rig.names[:2])
    with pytest.raises(MismatchError, match=r"matches no camera of the rig"):
        run_take(studio.take, oracle_config(), rig=two_cameras)
    bare = Session.create(tmp_path / "bare")
    (bare.takes_dir / "t").symlink_to(studio.take.root, target_is_directory=True)
    with pytest.raises(NoCalibrationError, match=r"the session has no calibration") as caught:
        run_take(bare.take("t"), oracle_config())
    assert "\n" not in str(caught.value)
    studio.take.acquire_recording_lock()  # this process "records" it
    studio.take.update(status="recording")
    with pytest.raises(MocapError, match=r"the take is still being recorded"):
        run_take(Session.open(studio.session.root).take("take_1"), oracle_config())
    assert not (studio.take.derived_dir / "detect" / "stage.toml").exists()  # nothing ran


def test_final_poses_are_the_newest_finished_stage(studio):
    from mocap.pipeline.run import final_poses_path

    assert final_poses_path(studio.take) is None
    run_take(studio.take, oracle_config(), stages=["detect", "triangulate"])
    assert final_poses_path(studio.take) == studio.take.derived_dir / "triangulate" / "poses3d.npz"
    run_take(studio.take, oracle_config(), stages=["filter"])
    assert final_poses_path(studio.take) == studio.take.derived_dir / "filter" / "poses3d.npz"
    run_take(studio.take, oracle_config(triangulation={"method": "dlt"}), stages=["triangulate"])
    assert final_poses_path(studio.take) == studio.take.derived_dir / "triangulate" / "poses3d.npz"  # filter stale


def test_bad_videos_in_the_take_are_named(studio, blank_backend):
    config = PipelineConfig(detect=DetectStageConfig(backend=blank_backend))
    video = studio.take.video_path("cam_2")
    data = video.read_bytes()
    video.write_bytes(data[: len(data) // 2])  # cut short (a file replaced or copied half-way)
    with pytest.raises(MocapError, match=r"cam_2.mkv: ended before frame \d+; the take records 36 frames for it"):
        run_take(studio.take, config)
    video.write_bytes(b"not a video at all")
    with pytest.raises(MocapError, match=r"cam_2.mkv: cannot be opened as video"):
        run_take(studio.take, config)
    video.unlink()
    with pytest.raises(MocapError, match=r"cam_2.mkv: no such video file"):
        run_take(studio.take, config)
    assert not (studio.take.derived_dir / "detect" / "stage.toml").exists()


def test_several_people_go_through_multi_person_association(tmp_path, monkeypatch):
    from mocap.detection import registry
    from mocap.metrics import evaluate_people
    from mocap.session.importing import import_videos
    from mocap.synthetic.studio import StudioConfig, generate_take

    from .conftest import OracleDetector, write_videos

    synthetic = generate_take(StudioConfig(num_cameras=4, num_people=2, num_frames=30, noise_px=1.0, seed=2))
    entry = registry.DetectorEntry(ORACLE, "test", lambda **_: OracleDetector(synthetic.detections))
    monkeypatch.setitem(registry._REGISTRY, ORACLE, entry)
    session = Session.create(tmp_path / "session")
    session.set_calibration(synthetic.rig)
    take = import_videos(session, write_videos(tmp_path, synthetic.rig.names, 30), name="two")
    result = run_take(take, oracle_config(people=2, export=ExportStageConfig(formats=("bvh",))))
    scores = evaluate_people(result.poses, synthetic.poses)
    slot_person = np.load(take.derived_dir / "triangulate" / "slot_person.npy", allow_pickle=False)
    ids = set(result.poses.person_id[result.poses.person_id >= 0].tolist())
    assert set(np.unique(slot_person).tolist()) <= ids | {-1} and ids <= set(np.unique(slot_person).tolist())
    truth = synthetic.slot_person  # (T, V, S) true person of each slot
    for person in ids:  # every track holds one true person's detections
        owners = truth[slot_person == person]
        assert np.mean(owners == np.bincount(owners[owners >= 0]).argmax()) > 0.95
    assert (result.poses.person_id >= 0).sum() == 2
    assert scores.mpjpe_m < 0.03 and scores.matched_fraction > 0.9 and scores.id_switches == 0
    assert len(result.exports) == 2 and all(p.name.startswith("two_person") for p in result.exports)


def test_videos_recorded_without_sync_are_re_timed_by_their_keypoints(tmp_path, monkeypatch):
    import json

    from mocap.detection import registry
    from mocap.pipeline.run import SyncError
    from mocap.session.importing import import_videos
    from mocap.synthetic.studio import StudioConfig, generate_take

    from .conftest import OracleDetector, write_videos

    offsets = (0, 3, -5, 7)
    config = StudioConfig(num_cameras=4, num_frames=240, noise_px=1.0, missed_rate=0.05, seed=1)
    synthetic = generate_take(config.model_copy(update={"time_offsets_frames": offsets}))
    entry = registry.DetectorEntry(ORACLE, "test", lambda **_: OracleDetector(synthetic.detections))
    monkeypatch.setitem(registry._REGISTRY, ORACLE, entry)
    session = Session.create(tmp_path / "session")
    session.set_calibration(synthetic.rig)
    take = import_videos(session, write_videos(tmp_path, synthetic.rig.names, 240), name="unsynced")
    stages = ["detect", "triangulate"]
    trusting = run_take(take, oracle_config(filtering=None), stages=stages)
    synced = run_take(take, oracle_config(filtering=None, sync="keypoints"), stages=stages)
    record = json.loads((take.derived_dir / "triangulate" / "offsets.json").read_text())
    assert record["whole_frames"] == list(offsets) and min(record["confidence"]) > 0.15
    inner = slice(10, -10)  # frames every view saw after re-timing
    truth = synthetic.poses.xyz[inner]
    assert mpjpe(synced.poses.xyz[inner], truth) < 0.015 < mpjpe(trusting.poses.xyz[inner], truth)
    with pytest.raises(SyncError, match=r"has no sound; use sync = keypoints"):
        run_take(take, oracle_config(filtering=None, sync="audio"), stages=stages)
    with pytest.raises(SyncError, match=r"clock offsets too uncertain for cam_2 \(0\.\d\d\)"):
        run_take(take, oracle_config(filtering=None, sync="keypoints", min_sync_confidence=1.0), stages=stages)


def test_an_interrupted_detection_resumes_from_its_checkpoint(studio, monkeypatch):
    from mocap.pipeline import detect_take

    monkeypatch.setattr(detect_take, "CHECKPOINT_EVERY", 10)
    cancel = CancelToken()

    def cancel_after_25_sets():
        for report in run_take_iter(studio.take, oracle_config(), cancel=cancel):
            if report.stage.startswith("detect") and report.done >= 25:
                cancel.cancel()

    with pytest.raises(CancelledError):
        cancel_after_25_sets()
    checkpoint = studio.take.derived_dir / "detect" / "partial.npz"
    assert checkpoint.is_file() and not (studio.take.derived_dir / "detect" / "stage.toml").exists()
    resumed = run_take(studio.take, oracle_config(), stages=["detect"])
    assert studio.made[-1].calls == 36 - 20  # sets 0..19 came from the checkpoint
    assert not checkpoint.exists()
    whole = run_take(studio.take, oracle_config(), stages=["detect"], force=True)
    assert studio.made[-1].calls == 36
    np.testing.assert_array_equal(resumed.detections.xy, whole.detections.xy)


def test_a_checkpoint_of_other_settings_is_not_used(studio, monkeypatch):
    from mocap.pipeline import detect_take

    monkeypatch.setattr(detect_take, "CHECKPOINT_EVERY", 10)
    cancel = CancelToken()

    def cancel_after_25_sets():
        other = PipelineConfig(detect=DetectStageConfig(backend=ORACLE, options={"threshold": 0.9}))
        for report in run_take_iter(studio.take, other, cancel=cancel):
            if report.stage.startswith("detect") and report.done >= 25:
                cancel.cancel()

    with pytest.raises(CancelledError):
        cancel_after_25_sets()
    run_take(studio.take, oracle_config(), stages=["detect"])
    assert studio.made[-1].calls == 36


def test_the_plan_says_what_would_run_without_running_it(studio):
    assert [plan_take(studio.take, oracle_config()).state(s) for s in STAGES] == ["run"] * 4
    run_take(studio.take, oracle_config(), stages=["detect", "triangulate"])
    plan = plan_take(studio.take, oracle_config())
    assert [plan.state(s) for s in STAGES] == ["cached", "cached", "run", "run"]
    assert plan.camera_names == studio.synthetic.rig.names
    assert plan.keys["detect"] == plan.inputs["triangulate"]["detect"]
    partial = plan_take(studio.take, oracle_config(), stages=["triangulate"], force=True)
    assert [partial.state(s) for s in STAGES] == ["cached", "run", "not needed", "not needed"]
    assert not (studio.take.derived_dir / "filter").exists()  # planning wrote nothing


def test_several_people_hand_the_rig_to_blazepose_and_key_its_detections_by_it(studio, monkeypatch):
    """Cross-view guidance: with several people blazepose gets the take's rig, so recalibrating re-runs detection."""
    from calibration.rig import CameraRig
    from mocap.detection import registry

    from .conftest import OracleDetector

    received: list[dict] = []

    def factory(**options):
        received.append(options)
        return OracleDetector(studio.synthetic.detections)

    monkeypatch.setitem(registry._REGISTRY, "blazepose", registry.DetectorEntry("blazepose", "test", factory))
    one, two = PipelineConfig(people=1), PipelineConfig(people=2)
    assert "rig" not in plan_take(studio.take, one).inputs["detect"]
    assert (
        plan_take(studio.take, two).inputs["detect"]["rig"] == plan_take(studio.take, two).inputs["triangulate"]["rig"]
    )
    assert not PipelineConfig(people=2, detect=DetectStageConfig(options={"static": True})).detect.uses_rig(2)
    run_take(studio.take, one, stages=["detect"])
    run_take(studio.take, two, stages=["detect"])
    assert "rig" not in received[0] and isinstance(received[1]["rig"], CameraRig)
    assert received[1]["rig"].names == studio.synthetic.rig.names
