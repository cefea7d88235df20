"""Skeleton solver: known answers on the synthetic studio, continuity, NaN rule and bad input."""

import numpy as np
import pytest

from mocap.errors import LayoutError
from mocap.poses3d import Poses3D
from mocap.skeleton import COCO17, KeypointLayout
from mocap.skeleton.hierarchy import HUMANOID, REQUIRED_POINTS, solver_mapping
from mocap.solve import SolveConfig, SolveError, solve_people, solve_person
from mocap.solve.gaps import fill_gaps
from mocap.synthetic.studio import StudioConfig, generate_take


@pytest.fixture(scope="module")
def two_people():
    return generate_take(StudioConfig(num_people=2, num_frames=300, seed=3)).poses


def test_acceptance_on_the_synthetic_take(two_people):
    skeletons = solve_people(two_people)
    assert [s.person_id for s in skeletons] == [0, 1]
    for skeleton in skeletons:
        lengths = skeleton.bone_lengths()
        assert lengths.std(axis=0).max() < 1e-6  # constant bones, measured on the FK positions
        errors = skeleton.reproduction_errors()
        assert np.nanmedian(errors) < 0.01  # the input joints within 1 cm median
        assert np.nanpercentile(errors, 95) < 0.02
        assert np.degrees(skeleton.rotation_steps()).max() < 30.0  # no flips
        q = skeleton.local_quaternions
        assert np.all(np.sum(q[1:] * q[:-1], axis=-1) >= 0)  # sign continuity
        positions = skeleton.world_positions()
        head_top = positions[:, HUMANOID.index("HeadTop_End"), 2]
        toes = positions[:, HUMANOID.index("LeftToeBase"), 2]
        assert np.all(head_top - toes > 1.2)  # upright, metres


@pytest.mark.parametrize("layout", ["body25b", "halpe26", "blazepose33", "smpl24"])
def test_every_body_layout_drives_the_skeleton(layout):
    poses = generate_take(StudioConfig(num_people=1, num_frames=60, layout=layout, seed=1)).poses
    (skeleton,) = solve_people(poses)
    assert np.nanmedian(skeleton.reproduction_errors()) < 0.005
    assert np.degrees(skeleton.rotation_steps()).max() < 30.0


def test_rest_pose_is_a_t_pose(two_people):
    skeleton = solve_person(two_people, 0)
    offsets = skeleton.rest_offsets
    arm = offsets[HUMANOID.index("LeftForeArm")]
    assert arm[0] > 0.2 and abs(arm[1]) < 1e-9 and abs(arm[2]) < 1e-9
    shin = offsets[HUMANOID.index("RightFoot")]
    assert shin[2] < -0.3 and abs(shin[0]) < 1e-9
    assert np.allclose(offsets[0], 0.0)


def test_partial_nan_is_gap_filled_and_lengths_stay_constant(two_people):
    xyz = np.array(two_people.xyz)
    xyz[100:130, 0, COCO17.index("left_wrist")] = np.nan
    xyz[:10, 0, COCO17.index("right_knee")] = np.nan
    poses = Poses3D.from_points(xyz, two_people.layout, two_people.fps, two_people.person_id)
    skeleton = solve_person(poses, 0)
    assert np.all(np.isfinite(skeleton.world_positions()))
    assert skeleton.bone_lengths().std(axis=0).max() < 1e-6
    # the missing frames have no target, so they do not count in the errors
    assert np.all(np.isnan(skeleton.targets[100:130, HUMANOID.index("LeftHand")]))


def test_fill_gaps_rule():
    values = np.array([[np.nan], [1.0], [np.nan], [3.0], [np.nan]])
    np.testing.assert_allclose(fill_gaps(values)[:, 0], [1.0, 1.0, 2.0, 3.0, 3.0])
    assert np.all(np.isnan(fill_gaps(np.full((3, 1), np.nan))))


def test_bad_input(two_people):
    xyz = np.array(two_people.xyz)
    xyz[:, 1] = np.nan
    poses = Poses3D.from_points(xyz, two_people.layout, two_people.fps)
    with pytest.raises(SolveError, match="person 1 has no reconstructed joint"):
        solve_person(poses, 1)
    with pytest.raises(SolveError, match="no person with id 7"):
        solve_person(poses, 7)
    empty = Poses3D.from_points(np.zeros((0, 1, 17, 3)), COCO17, 30.0)
    with pytest.raises(SolveError, match="zero frames"):
        solve_people(empty)
    xyz = np.array(two_people.xyz)
    xyz[:, 0, COCO17.index("left_knee")] = np.nan
    with pytest.raises(SolveError, match="left_knee never reconstructed"):
        solve_person(Poses3D.from_points(xyz, COCO17, 30.0), 0)


def test_unknown_layout_is_refused():
    layout = KeypointLayout("markers", ("a", "b"), (-1, -1), ("a", "b"))
    with pytest.raises(LayoutError, match="cannot drive the skeleton: it lacks mid_hip"):
        solver_mapping(layout)
    assert set(REQUIRED_POINTS) <= set(solver_mapping(COCO17).target.joint_names)


def test_config_is_strict():
    with pytest.raises(ValueError, match="extra"):
        SolveConfig(unknown=1)  # type: ignore[call-arg]
