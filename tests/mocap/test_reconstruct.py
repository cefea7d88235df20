"""reconstruct(): the pipeline API, its plug-in associator, progress and cancellation."""

from collections.abc import Generator

import numpy as np
import pytest

from calibration.progress import CancelToken, Progress
from mocap.errors import CancelledError, MismatchError
from mocap.filtering import FilterConfig
from mocap.metrics import mpjpe
from mocap.synthetic.studio import StudioConfig, generate_take
from mocap.triangulation import (
    PersonObservations,
    ReconstructConfig,
    TriangulationConfig,
    reconstruct,
    reconstruct_iter,
)
from mocap.triangulation import pipeline as reconstruct_module


@pytest.fixture(scope="module")
def take():
    return generate_take(StudioConfig(num_frames=90, noise_px=2.0, missed_rate=0.1, seed=4))


def test_single_person_reconstruction_is_accurate_and_filtered(take):
    result = reconstruct(take.rig, take.detections)
    assert result.poses.xyz.shape == (90, 1, 17, 3) and list(result.poses.person_id) == [0]
    assert mpjpe(result.poses.xyz, take.poses.xyz) < 0.015
    assert result.raw.points_world.shape == (90, 1, 17, 3) and result.raw.view_errors_px.shape == (90, 1, 17, 4)
    assert result.poses.valid.mean() >= result.raw.valid.mean() > 0.9
    unfiltered = reconstruct(take.rig, take.detections, ReconstructConfig(filtering=None))
    np.testing.assert_allclose(unfiltered.poses.xyz, result.raw.points_world.astype(np.float32))


def test_chunks_give_the_same_answer_as_one_pass(take, monkeypatch):
    whole = reconstruct(take.rig, take.detections, ReconstructConfig(filtering=None))
    monkeypatch.setattr(reconstruct_module, "CHUNK_FRAMES", 25)
    chunked = reconstruct(take.rig, take.detections, ReconstructConfig(filtering=None))
    np.testing.assert_allclose(chunked.raw.points_world, whole.raw.points_world, atol=1e-6)
    np.testing.assert_array_equal(chunked.raw.status, whole.raw.status)


def test_an_associator_plugs_in(take):
    """A multi-person associator returns PersonObservations; here an oracle one from the ground truth."""

    def oracle(rig, detections, cancel=None) -> Generator[Progress, None, PersonObservations]:
        yield Progress("oracle association", 1, 1)
        slot = np.argmax(take.slot_person == 0, axis=-1)
        xy = np.take_along_axis(detections.xy, slot[:, :, None, None, None], axis=2)
        score = np.take_along_axis(detections.score, slot[:, :, None, None], axis=2)
        return PersonObservations(xy, score, np.array([7]), rig.names, detections.layout, detections.fps)

    stages = []
    operation = reconstruct_iter(take.rig, take.detections, associate=oracle)
    while True:
        try:
            stages.append(next(operation).stage)
        except StopIteration as stop:
            result = stop.value
            break
    assert stages[0] == "oracle association" and "triangulating" in stages and stages[-1] == "filtering"
    assert list(result.poses.person_id) == [7] and mpjpe(result.poses.xyz, take.poses.xyz) < 0.015


def test_cancel_and_mismatched_views(take):
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        list(reconstruct_iter(take.rig, take.detections, cancel=token))
    with pytest.raises(MismatchError, match="detections lack cameras cam_4"):
        reconstruct(take.rig, take.detections.subset_views(["cam_1", "cam_2", "cam_3"]))


def test_all_missing_detections_give_nan_poses_with_reasons(take):
    empty = type(take.detections)(
        np.full_like(take.detections.xy, np.nan),
        np.zeros_like(take.detections.score),
        take.detections.camera_names,
        take.detections.layout,
        take.detections.fps,
    )
    result = reconstruct(take.rig, empty)
    assert np.isnan(result.poses.xyz).all() and result.raw.status_counts() == {"TOO_FEW_VIEWS": 90 * 17}
    one_view = reconstruct(take.rig.subset(["cam_2"]), take.detections)
    assert np.isnan(one_view.poses.xyz).all() and set(one_view.raw.status_counts()) == {"TOO_FEW_VIEWS"}


def test_plain_dlt_and_settings(take):
    config = ReconstructConfig(
        triangulation=TriangulationConfig(method="dlt", refine=False), filtering=FilterConfig(cutoff_hz=None)
    )
    result = reconstruct(take.rig, take.detections, config)
    assert np.isnan(result.raw.threshold_px) and mpjpe(result.poses.xyz, take.poses.xyz) < 0.03
    with pytest.raises(ValueError, match="min_views"):
        TriangulationConfig(min_views=1)
