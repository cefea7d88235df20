"""Binary FBX export of solved skeletons: one armature per person, animation in one take.

Our own writer (no usable FBX writer exists in the package registries). Scene layout:

* ``GlobalSettings``: up/front/coord axes (Y-up: up +Y, front +Z, coord +X; Z-up: up +Z, front
  -Y, coord +X), ``UnitScaleFactor`` in centimetres per file unit (100 for metres), ``TimeMode``
  (the standard mode of the frame rate, else custom with ``CustomFrameRate``), time span.
* Per person a ``Null`` model ``person_<id>`` (Blender makes it the armature object) whose
  children are ``LimbNode`` models named as in :mod:`mocap.skeleton.hierarchy` (end sites
  included as leaf LimbNodes, Mixamo style), each with a ``LimbNode`` ``NodeAttribute``.
* Each LimbNode's rest orientation points its local +Y axis along its bone (how Blender and Maya
  draw bones); its ``Lcl Translation`` is the rest offset in the parent's frame.
* ``AnimationStack`` -> ``AnimationLayer`` -> per joint an ``AnimationCurveNode`` ``R`` (and ``T``
  for the root) -> one ``AnimationCurve`` per channel (``d|X``, ``d|Y``, ``d|Z``) keyed on every
  frame (KeyTime in 46186158000 ticks per second, linear keys, Euler XYZ degrees, continuous).

Conventions: world Z-up metres are converted to the file's axes and units here only. The default
is Z-up metres, Blender's own frame: Blender imports the armature with an identity object
transform; ``up="y"`` suits tools that ignore the axis settings (Blender then keeps a 90 degree
rotation on the armature object, the skeleton still upright).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from calibration.files import atomic_output
from mocap import __version__
from mocap.export.base import UNIT_SCALE, ExportOptions, Units, Up, axes_matrix, register_exporter
from mocap.export.fbx_binary import (
    CREATION_TIME,
    FILE_ID,
    KTIME_PER_SECOND,
    Node,
    array,
    encode_file,
    f64,
    i32,
    i64,
    raw,
    string,
)
from mocap.poses3d import Poses3D
from mocap.solve.rotations import matrix_to_euler, normalize
from mocap.solve.skeleton import SolvedSkeleton
from mocap.solve.solver import solve_people

#: FBX TimeMode of the standard frame rates (anything else: 14, custom rate).
TIME_MODES = {120.0: 1, 100.0: 2, 60.0: 3, 50.0: 4, 48.0: 5, 30.0: 6, 25.0: 10, 24.0: 11, 96.0: 15, 72.0: 16}
#: (UpAxis, UpAxisSign, FrontAxis, FrontAxisSign, CoordAxis, CoordAxisSign) per up option.
AXES = {"y": (1, 1, 2, 1, 0, 1), "z": (2, 1, 1, -1, 0, 1)}
_CREATOR = f"mocap-studio {__version__}"


def _p(parent: Node, name: str, kind: str, label: str, flags: str, *values: tuple[str, object]) -> None:
    """A ``P`` property record inside ``Properties70``."""
    parent.add("P", string(name), string(kind), string(label), string(flags), *values)


def _p3(parent: Node, name: str, kind: str, flags: str, v: Sequence[float]) -> None:
    _p(parent, name, kind, "", flags, f64(v[0]), f64(v[1]), f64(v[2]))


def _ids() -> Iterator[int]:
    next_id = 1_000_000
    while True:
        next_id += 1
        yield next_id


def rest_frames(skeleton: SolvedSkeleton) -> NDArray[np.float64]:
    """(J, 3, 3) rest orientation of each joint in world axes: local +Y along the bone to its first child."""
    h = skeleton.hierarchy
    out = np.zeros((h.num_joints, 3, 3))
    for j in range(h.num_joints):
        children = h.children(j)
        if not children:
            out[j] = out[h.parents[j]]
            continue
        y, _ = normalize(skeleton.rest_offsets[children[0]])
        ref = np.array([0.0, -1.0, 0.0]) if abs(y[1]) < 0.9 else np.array([0.0, 0.0, 1.0])
        z, _ = normalize(ref - (ref @ y) * y)
        out[j] = np.stack([np.cross(y, z), y, z], axis=-1)
    return out


def _time_mode(fps: float) -> int:
    for rate, mode in TIME_MODES.items():
        if abs(fps - rate) < 1e-9:
            return mode
    return 14


class _Scene:
    """Builds the FBX node tree of several skeletons."""

    def __init__(self, skeletons: Sequence[SolvedSkeleton], units: Units, up: Up, version: int) -> None:
        self.skeletons = skeletons
        self.version = version
        self.axes = axes_matrix(up)
        self.scale = UNIT_SCALE[units]
        self.up = up
        self.fps = skeletons[0].fps
        self.frames = skeletons[0].num_frames
        self.ktimes = np.round(np.arange(self.frames) * (KTIME_PER_SECOND / self.fps)).astype(np.int64)
        self.ids = _ids()
        self.objects = Node("Objects")
        self.connections = Node("Connections")
        self.counts: dict[str, int] = {}

    def connect(self, kind: str, child: int, parent: int, prop: str | None = None) -> None:
        extra = [string(prop)] if prop else []
        self.connections.add("C", string(kind), i64(child), i64(parent), *extra)

    def obj(self, kind: str, name: str, cls: str, subtype: str) -> tuple[int, Node]:
        uid = next(self.ids)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        node = self.objects.add(kind, i64(uid), string(name.encode() + b"\x00\x01" + cls.encode()), string(subtype))
        return uid, node

    def model(self, name: str, kind: str, translation: Sequence[float], rotation: Sequence[float]) -> int:
        uid, node = self.obj("Model", name, "Model", kind)
        node.add("Version", i32(232))
        props = node.add("Properties70")
        _p(props, "InheritType", "enum", "", "", i32(1))
        _p(props, "DefaultAttributeIndex", "int", "Integer", "", i32(0))
        _p3(props, "Lcl Translation", "Lcl Translation", "A", translation)
        _p3(props, "Lcl Rotation", "Lcl Rotation", "A", rotation)
        _p3(props, "Lcl Scaling", "Lcl Scaling", "A", (1.0, 1.0, 1.0))
        node.add("Shading", ("C", 1))
        node.add("Culling", string("CullingOff"))
        attr, attr_node = self.obj("NodeAttribute", name, "NodeAttribute", kind)
        if kind == "LimbNode":
            attr_node.add("TypeFlags", string("Skeleton"))
            _p(attr_node.add("Properties70"), "Size", "double", "Number", "", f64(1.0))
        else:
            attr_node.add("TypeFlags", string("Null"))
        self.connect("OO", attr, uid)
        return uid

    def curves(self, layer: int, model: int, prop: str, short: str, values: NDArray[np.float64]) -> None:
        """A curve node (``T`` or ``R``) with three curves keyed on every frame; values (T, 3)."""
        cnode, node = self.obj("AnimationCurveNode", short, "AnimCurveNode", "")
        props = node.add("Properties70")
        for axis, channel in enumerate("XYZ"):
            _p(props, f"d|{channel}", "Number", "", "A", f64(values[0, axis]))
        self.connect("OO", cnode, layer)
        self.connect("OP", cnode, model, prop)
        for axis, channel in enumerate("XYZ"):
            curve, cnode_curve = self.obj("AnimationCurve", "", "AnimCurve", "")
            cnode_curve.add("Default", f64(values[0, axis]))
            cnode_curve.add("KeyVer", i32(4009))
            cnode_curve.add("KeyTime", array("l", self.ktimes))
            cnode_curve.add("KeyValueFloat", array("f", values[:, axis].astype(np.float32)))
            cnode_curve.add("KeyAttrFlags", array("i", np.array([4])))  # linear interpolation
            cnode_curve.add("KeyAttrDataFloat", array("f", np.zeros(4)))
            cnode_curve.add("KeyAttrRefCount", array("i", np.array([self.frames])))
            self.connect("OP", curve, cnode, f"d|{channel}")

    def armature(self, skeleton: SolvedSkeleton, layer: int) -> None:
        h = skeleton.hierarchy
        null = self.model(f"person_{skeleton.person_id}", "Null", (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
        self.connect("OO", null, 0)
        bones = rest_frames(skeleton)  # world axes
        world = skeleton.forward_kinematics()[1]  # (T, J, 3, 3) world rotations
        local = np.empty_like(world)
        for j, parent in enumerate(h.parents):
            if parent < 0:  # root: file-axes world orientation A G B
                local[:, j] = self.axes @ world[:, j] @ bones[j]
            else:  # B_p^T G_p^T G_j B_j: the axis change cancels between parent and child
                local[:, j] = bones[parent].T @ skeleton.local_rotations[:, j] @ bones[j]
        # FBX Euler XYZ applies X first: R = Rz Ry Rx ("ZYX" in mocap.solve.rotations), listed x, y, z
        euler = np.degrees(matrix_to_euler(local, "ZYX"))[..., ::-1]  # (T, J, 3)
        uids: list[int] = []
        for j, parent in enumerate(h.parents):
            if parent < 0:  # root translation s A x
                translation = self.scale * skeleton.root_translation @ self.axes.T
            else:
                translation = np.broadcast_to(self.scale * bones[parent].T @ skeleton.rest_offsets[j], (self.frames, 3))
            uid = self.model(h.joint_names[j], "LimbNode", translation[0], euler[0, j])
            self.connect("OO", uid, null if parent < 0 else uids[parent])
            uids.append(uid)
            if h.is_end[j]:
                continue
            self.curves(layer, uid, "Lcl Rotation", "R", euler[:, j])
            if parent < 0:
                self.curves(layer, uid, "Lcl Translation", "T", translation)

    def build(self) -> list[Node]:
        stop = int(self.ktimes[-1])
        stack, stack_node = self.obj("AnimationStack", "Take 001", "AnimStack", "")
        props = stack_node.add("Properties70")
        for name in ("LocalStart", "ReferenceStart"):
            _p(props, name, "KTime", "Time", "", i64(0))
        for name in ("LocalStop", "ReferenceStop"):
            _p(props, name, "KTime", "Time", "", i64(stop))
        layer, _ = self.obj("AnimationLayer", "BaseLayer", "AnimLayer", "")
        self.connect("OO", layer, stack)
        for skeleton in self.skeletons:
            self.armature(skeleton, layer)
        return [
            self._header(),
            Node("FileId", [raw(FILE_ID)]),
            Node("CreationTime", [string(CREATION_TIME)]),
            Node("Creator", [string(_CREATOR)]),
            self._settings(stop),
            self._documents(),
            Node("References"),
            self._definitions(),
            self.objects,
            self.connections,
            self._takes(stop),
        ]

    def _header(self) -> Node:
        header = Node("FBXHeaderExtension")
        header.add("FBXHeaderVersion", i32(1003))
        header.add("FBXVersion", i32(self.version))
        stamp = header.add("CreationTimeStamp")
        for name, value in (("Version", 1000), ("Year", 1970), ("Month", 1), ("Day", 1), ("Hour", 10)):
            stamp.add(name, i32(value))
        for name in ("Minute", "Second", "Millisecond"):
            stamp.add(name, i32(0))
        header.add("Creator", string(_CREATOR))
        return header

    def _settings(self, stop: int) -> Node:
        settings = Node("GlobalSettings")
        settings.add("Version", i32(1000))
        props = settings.add("Properties70")
        up, up_sign, front, front_sign, coord, coord_sign = AXES[self.up]
        for name, value in (
            ("UpAxis", up),
            ("UpAxisSign", up_sign),
            ("FrontAxis", front),
            ("FrontAxisSign", front_sign),
            ("CoordAxis", coord),
            ("CoordAxisSign", coord_sign),
            ("OriginalUpAxis", up),
            ("OriginalUpAxisSign", up_sign),
        ):
            _p(props, name, "int", "Integer", "", i32(value))
        centimetres = 100.0 / self.scale
        _p(props, "UnitScaleFactor", "double", "Number", "", f64(centimetres))
        _p(props, "OriginalUnitScaleFactor", "double", "Number", "", f64(centimetres))
        _p(props, "TimeMode", "enum", "", "", i32(_time_mode(self.fps)))
        _p(props, "TimeProtocol", "enum", "", "", i32(2))
        _p(props, "SnapOnFrameMode", "enum", "", "", i32(0))
        _p(props, "TimeSpanStart", "KTime", "Time", "", i64(0))
        _p(props, "TimeSpanStop", "KTime", "Time", "", i64(stop))
        _p(props, "CustomFrameRate", "double", "Number", "", f64(self.fps))
        return settings

    def _documents(self) -> Node:
        documents = Node("Documents")
        documents.add("Count", i32(1))
        doc = documents.add("Document", i64(next(self.ids)), string("Scene"), string("Scene"))
        _p(doc.add("Properties70"), "ActiveAnimStackName", "KString", "", "", string("Take 001"))
        doc.add("RootNode", i64(0))
        return documents

    def _definitions(self) -> Node:
        definitions = Node("Definitions")
        definitions.add("Version", i32(100))
        definitions.add("Count", i32(1 + sum(self.counts.values())))
        definitions.add("ObjectType", string("GlobalSettings")).add("Count", i32(1))
        for kind, count in self.counts.items():
            definitions.add("ObjectType", string(kind)).add("Count", i32(count))
        return definitions

    def _takes(self, stop: int) -> Node:
        takes = Node("Takes")
        takes.add("Current", string("Take 001"))
        take = takes.add("Take", string("Take 001"))
        take.add("FileName", string("Take_001.tak"))
        take.add("LocalTime", i64(0), i64(stop))
        take.add("ReferenceTime", i64(0), i64(stop))
        return takes


def fbx_bytes(skeletons: Sequence[SolvedSkeleton], *, units: Units = "m", up: Up = "z", version: int = 7400) -> bytes:
    """The binary FBX file of one or more solved skeletons (same frame count and rate)."""
    if not skeletons:
        raise ValueError("no skeleton to write")
    if len({(s.num_frames, s.fps) for s in skeletons}) != 1:
        raise ValueError("skeletons of one FBX file must share frame count and fps")
    return encode_file(_Scene(skeletons, units, up, version).build(), version)


class FbxExporter:
    """Solved skeletons as binary FBX, one armature per person in one file."""

    name = "fbx"
    suffix = ".fbx"
    description = "binary FBX 7.4 skeleton animation (one armature per person)"
    default_units: Units = "m"
    default_up: Up = "z"

    def write(self, poses: Poses3D, person_ids: Sequence[int], path: Path, options: ExportOptions) -> list[Path]:
        skeletons = solve_people(poses, person_ids, options.solve)
        data = fbx_bytes(
            skeletons,
            units=options.units or self.default_units,
            up=options.up or self.default_up,
            version=options.fbx_version,
        )
        with atomic_output(path) as handle:
            handle.write(data)
        return [path]


register_exporter(FbxExporter())
