import numpy as np
import pytest

from mocap.errors import LayoutError
from mocap.skeleton import (
    BLAZEPOSE33,
    BODY25,
    BODY25B,
    CANONICAL_JOINTS,
    COCO17,
    HALPE26,
    SMPL24,
    get_layout,
    layout_from_names,
    layout_mapping,
)

ALL = [COCO17, HALPE26, BLAZEPOSE33, BODY25, BODY25B, SMPL24]


@pytest.mark.parametrize(
    ("layout", "count"), [(COCO17, 17), (HALPE26, 26), (BLAZEPOSE33, 33), (BODY25, 25), (BODY25B, 25), (SMPL24, 24)]
)
def test_sizes_trees_and_mirrors(layout, count):
    assert layout.num_joints == count
    assert len(layout.bones) == count - 1  # a spanning tree
    assert set(layout.joint_names) <= set(CANONICAL_JOINTS)
    perm = layout.flip_permutation
    assert sorted(perm) == list(range(count))
    assert all(perm[perm[i]] == i for i in range(count))
    for left, right in layout.left_right_pairs:
        assert layout.joint_names[left].replace("left", "right") == layout.joint_names[right]


def test_known_orders():
    assert BODY25B.source_names[17:19] == ("Neck", "Head")
    assert BODY25.joint_names[8] == "mid_hip"
    assert HALPE26.joint_names[17:20] == ("head_top", "neck", "mid_hip")
    assert SMPL24.parents[:4] == (-1, 0, 0, 0)
    assert BLAZEPOSE33.joint_names[31] == "left_foot_index"


def test_lookup_by_alias_and_errors():
    assert get_layout("BODY_25B") is BODY25B
    assert get_layout("coco-17") is COCO17
    with pytest.raises(LayoutError, match="unknown keypoint layout 'mpii'; known: blazepose33"):
        get_layout("mpii")
    with pytest.raises(LayoutError, match="no joint 'tail'"):
        COCO17.index("tail")
    assert BODY25B.index("LShoulder") == 5


def test_file_names_resolve_to_registered_or_custom_layouts():
    assert layout_from_names("coco17", list(COCO17.joint_names)) is COCO17
    custom = layout_from_names("mine", ["a", "b"])
    assert custom.joint_names == ("a", "b") and custom.bones == ()


def test_body25_and_body25b_map_into_each_other_exactly(rng):
    values = rng.normal(size=(4, BODY25.num_joints, 3))
    there = layout_mapping(BODY25, BODY25B).points(values)
    back = layout_mapping(BODY25B, BODY25).points(there)
    head_top = BODY25B.index("head_top")
    assert np.isnan(there[:, head_top]).all()  # BODY_25 has no head top
    mid_hip = BODY25.index("mid_hip")
    np.testing.assert_allclose(
        back[:, mid_hip], (values[:, BODY25.index("left_hip")] + values[:, BODY25.index("right_hip")]) / 2
    )
    keep = [i for i in range(BODY25.num_joints) if i != mid_hip]
    np.testing.assert_array_equal(back[:, keep], values[:, keep])


def test_derived_joints_and_nan_propagation():
    coco = np.zeros((1, 17, 2))
    coco[0, COCO17.index("left_shoulder")] = [2.0, 0.0]
    coco[0, COCO17.index("right_shoulder")] = [4.0, 2.0]
    coco[0, COCO17.index("left_hip")] = np.nan
    mapping = layout_mapping(COCO17, HALPE26)
    halpe = mapping.points(coco)
    np.testing.assert_array_equal(halpe[0, HALPE26.index("neck")], [3.0, 1.0])
    assert np.isnan(halpe[0, HALPE26.index("mid_hip")]).all()  # one hip is NaN
    assert np.isnan(halpe[0, HALPE26.index("left_big_toe")]).all()  # COCO has no feet
    scores = mapping.scores(np.linspace(0.1, 0.9, 17)[None])
    assert scores[0, HALPE26.index("neck")] == pytest.approx(min(0.1 + 0.05 * 5, 0.1 + 0.05 * 6))
    assert scores[0, HALPE26.index("left_heel")] == 0.0
