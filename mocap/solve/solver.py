"""3D keypoints -> :class:`SolvedSkeleton`: constant bone lengths, swing-and-twist joint rotations.

Method (analytic, no optimisation; every step vectorised over frames):

1. **Points.** The layout's keypoints are mapped to the solver's canonical points
   (:func:`mocap.skeleton.hierarchy.solver_mapping`; e.g. COCO's neck is the mid-shoulder point) and
   gaps are filled by the rule of :mod:`mocap.solve.gaps`.
2. **Lengths.** Bones are solved from the root outwards. A bone's length is the **median** over the
   frames where its end keypoint was reconstructed of the distance from the already solved start
   joint to that keypoint (robust to outliers; one value per person, so every bone keeps one
   length over the take). Fixed offsets in a parent's frame (hip joints in the pelvis frame) are
   component-wise medians.
3. **Rotations = swing + twist.** A bone's world rotation maps its rest direction onto the
   direction from its solved start joint to its end keypoint (the *swing*, so every chain end lands
   on its keypoint up to the length change), and its roll about that direction (the *twist*) comes
   from a neighbouring joint:

   * Hips: pelvis frame from the hip axis (right -> left hip) and the spine (hips -> neck).
   * Spine, Spine1, Spine2: one straight chain from the Spine joint to the neck; the twist turns
     from the pelvis's lateral axis to the shoulder axis in thirds.
   * Upper arm / thigh: the bend plane of the limb (the wrist or ankle seen from the upper bone),
     weighted by ``sin(bend)**2``, blended with the no-twist orientation (``hinge_fallback``) so the
     twist stays defined, and continuous, when the limb straightens.
   * Forearm, shin, neck, clavicle: no twist relative to the parent (the smallest rotation), which
     makes elbow and knee pure hinges.
   * Head: head top and ear axis when present, else the ear axis and the nose. Feet: the toe
     direction with no twist (the ankle as a two-axis joint, robust to detectors swapping toes).
     Hands: knuckles and the index-pinky axis. A part whose keypoints the layout lacks keeps its
     parent's orientation (identity local rotation) and a default length.

   Twist references are averaged over ``twist_window`` frames (a single noisy frame must not
   flip a roll); bone directions are not, so joint positions stay exact. Where a twist reference is
   parallel to its bone (undefined), the no-twist rotation is used.
4. **Rest pose.** The hierarchy's T-pose. The foot's and (without a head-top keypoint) the head's
   rest orientation is the person's median orientation relative to the parent, since those have no
   T-pose direction of their own (a foot points forward and down).

The root translation is the solved ``Hips`` position (the hip centre).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from calibration.conventions import PADDED_PERSON_ID
from mocap.poses3d import Poses3D
from mocap.skeleton.hierarchy import HUMANOID, REQUIRED_POINTS, SOLVER_POINTS, solver_mapping
from mocap.solve.gaps import fill_point_gaps
from mocap.solve.rotations import frame, normalize, swing
from mocap.solve.skeleton import SolvedSkeleton, SolveError

log = logging.getLogger(__name__)

_X = np.array([1.0, 0.0, 0.0])
_Y = np.array([0.0, 1.0, 0.0])
_Z = np.array([0.0, 0.0, 1.0])
_FORWARD = -_Y

#: Default lengths, as fractions of the hips-to-neck distance, of parts a layout does not measure.
DEFAULT_FRACTIONS = {"neck": 0.35, "head_top": 0.25, "hand": 0.16, "foot": 0.3, "toe": 0.1}


class SolveConfig(BaseModel):
    """Options of the skeleton solver."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    twist_window: int = Field(
        5,
        ge=1,
        description="Frames of the centred moving average applied to twist references (not to bone directions), "
        "so that one noisy frame cannot flip a limb's roll; 1 turns it off.",
    )

    spine_start: float = Field(
        0.15,
        gt=0.0,
        lt=0.5,
        description="Height of the Spine joint above Hips, as a fraction of the hips-to-neck distance.",
    )
    hinge_fallback: float = Field(
        0.25,
        gt=0.0,
        le=1.0,
        description="Weight of the no-twist orientation against the limb's bend (sin of the bend angle) when "
        "choosing the twist of upper arms and thighs; the bend dominates above about asin(this).",
    )


def _smooth(vectors: NDArray[np.float64], window: int) -> NDArray[np.float64]:
    """Centred moving average of ``(T, 3)`` over ``window`` frames (shorter at the ends)."""
    if window <= 1 or len(vectors) < 2:
        return vectors
    half = window // 2
    padded = np.concatenate([np.zeros((1, 3)), np.cumsum(vectors, axis=0)])
    t = np.arange(len(vectors))
    lo = np.clip(t - half, 0, len(vectors))
    hi = np.clip(t + half + 1, 0, len(vectors))
    return (padded[hi] - padded[lo]) / (hi - lo)[:, None]


class _Solver:
    """State of one person's solve: filled points, and per joint world rotations/positions/offsets."""

    def __init__(self, points: NDArray[np.float64], observed: NDArray[np.bool_], config: SolveConfig) -> None:
        self.points = points  # (T, N, 3) gap-filled solver points
        self.observed = observed  # (T, N) reconstructed in the input
        self.config = config
        t = len(points)
        j = HUMANOID.num_joints
        self.rot = np.zeros((t, j, 3, 3))  # world rotations
        self.pos = np.zeros((t, j, 3))  # world positions
        self.offsets = np.zeros((j, 3))

    # ---------------------------------------------------------------- helpers

    def has(self, name: str) -> bool:
        return bool(self.observed[:, SOLVER_POINTS.index(name)].any())

    def p(self, name: str) -> NDArray[np.float64]:
        return self.points[:, SOLVER_POINTS.index(name)]

    def seen(self, *names: str) -> NDArray[np.bool_]:
        mask = np.ones(len(self.points), dtype=bool)
        for name in names:
            mask &= self.observed[:, SOLVER_POINTS.index(name)]
        return mask

    def median_length(self, vectors: NDArray[np.float64], mask: NDArray[np.bool_]) -> float:
        lengths = np.linalg.norm(vectors[mask] if mask.any() else vectors, axis=-1)
        return float(np.median(lengths))

    def place(self, joint: str, offset: NDArray[np.float64]) -> None:
        """Fix ``joint``'s rest offset and its world positions from its parent's pose."""
        j = HUMANOID.index(joint)
        parent = HUMANOID.parents[j]
        self.offsets[j] = offset
        self.pos[:, j] = self.pos[:, parent] + self.rot[:, parent] @ offset

    def inherit(self, bone: str) -> None:
        """``bone`` keeps its parent's orientation (identity local rotation)."""
        j = HUMANOID.index(bone)
        self.rot[:, j] = self.rot[:, HUMANOID.parents[j]]

    def aim(
        self,
        bone: str,
        child: str,
        target: NDArray[np.float64],
        target_seen: NDArray[np.bool_],
        *,
        rest_direction: NDArray[np.float64] | None = None,
        bend: NDArray[np.float64] | None = None,
        lateral: NDArray[np.float64] | None = None,
        rest_hint: NDArray[np.float64] | None = None,
    ) -> None:
        """Rotate ``bone`` so that ``child`` points at ``target`` (T, 3); set the child's offset.

        Twist: ``lateral`` (a world vector whose rest direction is ``rest_hint``) fixes the roll;
        ``bend`` (a vector that vanishes with the bend) is blended with the no-twist direction;
        neither: the smallest rotation from the parent's orientation (no twist).
        """
        b = HUMANOID.index(bone)
        c = HUMANOID.index(child)
        parent_rot = self.rot[:, HUMANOID.parents[b]]
        d0 = HUMANOID.rest_directions[c] if rest_direction is None else rest_direction
        v = target - self.pos[:, b]
        _, norm = normalize(v)
        defined = norm > 1e-9
        no_twist = swing(parent_rot @ d0, np.where(defined[:, None], v, parent_rot @ d0)) @ parent_rot
        rot = no_twist
        if rest_hint is not None and (bend is not None or lateral is not None):
            if lateral is not None:
                hint = lateral
            elif bend is not None:
                # |bend| * bend grows as sin^2 of the bend, so that detector noise on a nearly
                # straight limb cannot swing the twist around; it dominates above hinge_fallback
                strength = np.linalg.norm(bend, axis=-1, keepdims=True)
                hint = strength * bend + self.config.hinge_fallback**2 * (no_twist @ rest_hint)
            hint = _smooth(hint, self.config.twist_window)
            current, quality = frame(np.where(defined[:, None], v, parent_rot @ d0), hint)
            rest, rest_quality = frame(d0, rest_hint)
            if rest_quality < 1e-6:
                raise SolveError(f"{bone}: twist reference parallel to the bone in the rest pose")
            twisted = current @ rest.T
            rot = np.where((quality > 1e-3)[:, None, None], twisted, no_twist)
        self.rot[:, b] = rot
        length = self.median_length(v, target_seen)
        self.place(child, length * d0)

    def median_direction(
        self, vectors: NDArray[np.float64], parent: str, mask: NDArray[np.bool_]
    ) -> NDArray[np.float64]:
        """Unit median direction of world ``vectors`` (T, 3) in ``parent``'s frame (its rest direction)."""
        unit, _ = normalize(vectors)
        local = np.einsum("tji,tj->ti", self.rot[:, HUMANOID.index(parent)], unit)
        median = np.median(local[mask] if mask.any() else local, axis=0)
        out, norm = normalize(median)
        if norm < 1e-9:
            raise SolveError(f"cannot find a rest direction relative to {parent} (the directions cancel out)")
        return out

    # ---------------------------------------------------------------- body parts

    def torso(self) -> float:
        """Hips, spine chain, neck; returns the hips-to-neck distance used for default lengths."""
        hips = HUMANOID.index("Hips")
        lateral = self.p("left_hip") - self.p("right_hip")
        up = self.p("neck") - self.p("mid_hip")
        current, quality = frame(lateral, up)
        if np.any(quality < 1e-6):
            raise SolveError("the hip axis is parallel to the spine in some frames; the keypoints are not a body")
        rest, _ = frame(_X, _Z)
        self.rot[:, hips] = current @ rest.T
        self.pos[:, hips] = self.p("mid_hip")
        torso = self.median_length(up, self.seen("neck", "mid_hip"))
        self.place("Spine", np.array([0.0, 0.0, self.config.spine_start * torso]))
        neck = self.p("neck")
        chain = neck - self.pos[:, HUMANOID.index("Spine")]
        length = self.median_length(chain, self.seen("neck"))
        pelvis_lateral = self.rot[:, hips, :, 0]
        chest_lateral, _ = normalize(self.p("left_shoulder") - self.p("right_shoulder"))
        bones = ("Spine", "Spine1", "Spine2", "Neck")
        for k in range(3):
            w = (k + 1) / 3.0
            j = HUMANOID.index(bones[k])
            parent_rot = self.rot[:, HUMANOID.parents[j]]
            current, quality = frame(chain, (1.0 - w) * pelvis_lateral + w * chest_lateral)
            rest, _ = frame(_Z, _X)
            no_twist = swing(parent_rot @ _Z, chain) @ parent_rot
            self.rot[:, j] = np.where((quality > 1e-3)[:, None, None], current @ rest.T, no_twist)
            self.place(bones[k + 1], np.array([0.0, 0.0, length / 3.0]))
        for clavicle in ("LeftShoulder", "RightShoulder"):  # clavicles start at the neck
            self.place(clavicle, np.array([0.0, 0.0, length / 3.0]))
        return torso

    def head(self, torso: float) -> None:
        if self.has("head"):
            self.aim("Neck", "Head", self.p("head"), self.seen("head"))
        else:
            self.inherit("Neck")
            self.place("Head", np.array([0.0, 0.0, DEFAULT_FRACTIONS["neck"] * torso]))
        lateral: NDArray[np.float64] | None = None
        if self.has("left_ear") and self.has("right_ear"):
            lateral = self.p("left_ear") - self.p("right_ear")
        elif self.has("left_eye") and self.has("right_eye"):
            lateral = self.p("left_eye") - self.p("right_eye")
        if self.has("head_top"):
            self.aim("Head", "HeadTop_End", self.p("head_top"), self.seen("head_top"), lateral=lateral, rest_hint=_X)
            return
        if lateral is not None and self.has("nose"):
            forward = self.p("nose") - self.pos[:, HUMANOID.index("Head")]
            mask = self.seen("nose")
            rest_lateral = self.median_direction(lateral, "Neck", mask)
            rest_forward = self.median_direction(forward, "Neck", mask)
            current, quality = frame(lateral, forward)
            rest, rest_quality = frame(rest_lateral, rest_forward)
            head = HUMANOID.index("Head")
            if rest_quality > 1e-6:
                parent_rot = self.rot[:, HUMANOID.parents[head]]
                self.rot[:, head] = np.where((quality > 1e-3)[:, None, None], current @ rest.T, parent_rot)
            else:
                self.inherit("Head")
        else:
            self.inherit("Head")
        self.place("HeadTop_End", np.array([0.0, 0.0, DEFAULT_FRACTIONS["head_top"] * torso]))

    def arm(self, side: str, torso: float) -> None:
        low, cap = side, side.capitalize()
        self.aim(f"{cap}Shoulder", f"{cap}Arm", self.p(f"{low}_shoulder"), self.seen(f"{low}_shoulder"))
        elbow = self.p(f"{low}_elbow")
        forearm = self.p(f"{low}_wrist") - elbow
        upper_dir, _ = normalize(elbow - self.pos[:, HUMANOID.index(f"{cap}Arm")])
        fore_unit, _ = normalize(forearm)
        bend = fore_unit - np.sum(fore_unit * upper_dir, axis=-1, keepdims=True) * upper_dir  # |bend| = sin(angle)
        self.aim(f"{cap}Arm", f"{cap}ForeArm", elbow, self.seen(f"{low}_elbow"), bend=bend, rest_hint=_FORWARD)
        self.aim(f"{cap}ForeArm", f"{cap}Hand", self.p(f"{low}_wrist"), self.seen(f"{low}_wrist"))
        hand_end = f"{cap}Hand_End"
        if self.has(f"{low}_hand"):
            lateral = None
            if self.has(f"{low}_index") and self.has(f"{low}_pinky"):
                lateral = self.p(f"{low}_index") - self.p(f"{low}_pinky")
            self.aim(
                f"{cap}Hand",
                hand_end,
                self.p(f"{low}_hand"),
                self.seen(f"{low}_hand"),
                lateral=lateral,
                rest_hint=_FORWARD,
            )
        else:
            self.inherit(f"{cap}Hand")
            self.place(hand_end, HUMANOID.rest_directions[HUMANOID.index(hand_end)] * DEFAULT_FRACTIONS["hand"] * torso)

    def leg(self, side: str, torso: float) -> None:
        low, cap = side, side.capitalize()
        hips = HUMANOID.index("Hips")
        local = np.einsum("tji,tj->ti", self.rot[:, hips], self.p(f"{low}_hip") - self.pos[:, hips])
        mask = self.seen(f"{low}_hip")
        self.place(f"{cap}UpLeg", np.median(local[mask] if mask.any() else local, axis=0))
        knee = self.p(f"{low}_knee")
        thigh_dir, _ = normalize(knee - self.pos[:, HUMANOID.index(f"{cap}UpLeg")])
        shin_unit, _ = normalize(self.p(f"{low}_ankle") - knee)
        # the shin swings backwards when the knee bends: minus its part across the thigh points forward
        bend = -(shin_unit - np.sum(shin_unit * thigh_dir, axis=-1, keepdims=True) * thigh_dir)
        self.aim(f"{cap}UpLeg", f"{cap}Leg", knee, self.seen(f"{low}_knee"), bend=bend, rest_hint=_FORWARD)
        self.aim(f"{cap}Leg", f"{cap}Foot", self.p(f"{low}_ankle"), self.seen(f"{low}_ankle"))
        toe_base, toe_end = f"{cap}ToeBase", f"{cap}Toe_End"
        if self.has(f"{low}_foot"):
            toe = self.p(f"{low}_foot")
            mask = self.seen(f"{low}_foot")
            foot = toe - self.pos[:, HUMANOID.index(f"{cap}Foot")]
            rest_dir = self.median_direction(foot, f"{cap}Leg", mask)
            self.aim(f"{cap}Foot", toe_base, toe, mask, rest_direction=rest_dir)
            foot_length = float(np.linalg.norm(self.offsets[HUMANOID.index(toe_base)]))
        else:
            self.inherit(f"{cap}Foot")
            foot_length = DEFAULT_FRACTIONS["foot"] * torso
            self.place(toe_base, HUMANOID.rest_directions[HUMANOID.index(toe_base)] * foot_length)
        self.inherit(toe_base)
        toe_length = min(DEFAULT_FRACTIONS["toe"] * torso, 0.5 * foot_length)
        self.place(toe_end, HUMANOID.rest_directions[HUMANOID.index(toe_end)] * toe_length)

    def finish_ends(self) -> None:
        for j, is_end in enumerate(HUMANOID.is_end):
            if is_end:
                self.rot[:, j] = self.rot[:, HUMANOID.parents[j]]

    def local_rotations(self) -> NDArray[np.float64]:
        local = np.empty_like(self.rot)
        for j, parent in enumerate(HUMANOID.parents):
            local[:, j] = self.rot[:, j] if parent < 0 else np.swapaxes(self.rot[:, parent], -1, -2) @ self.rot[:, j]
        return local


def solve_person(poses: Poses3D, person_id: int, config: SolveConfig | None = None) -> SolvedSkeleton:
    """Solve one person's skeleton (see the module docstring for the method).

    Args:
        poses: 3D keypoints of a take, any layout that provides the required body joints.
        person_id: which person (track id).
        config: solver options (defaults when None).

    Raises:
        LayoutError: the layout cannot drive the skeleton.
        SolveError: zero frames, an unknown person, no data, or a required joint never reconstructed.
    """
    config = config or SolveConfig()
    if poses.num_frames == 0:
        raise SolveError("the poses have zero frames; nothing to solve")
    mapping = solver_mapping(poses.layout)
    try:
        one = poses.person(person_id)
    except KeyError as exc:
        raise SolveError(str(exc.args[0])) from None
    raw = mapping.points(one.xyz[:, 0].astype(np.float64))  # (T, N, 3)
    observed = ~np.isnan(raw[..., 0]) & mapping.available[None, :]
    if not observed.any():
        raise SolveError(f"person {person_id} has no reconstructed joint in any of the {poses.num_frames} frames")
    never = [name for k, name in enumerate(SOLVER_POINTS) if name in REQUIRED_POINTS and not observed[:, k].any()]
    if never:
        raise SolveError(
            f"person {person_id}: {', '.join(never)} never reconstructed in {poses.num_frames} frames; "
            "cannot solve a skeleton without them"
        )
    solver = _Solver(fill_point_gaps(raw), observed, config)
    torso = solver.torso()
    solver.head(torso)
    for side in ("left", "right"):
        solver.arm(side, torso)
        solver.leg(side, torso)
    solver.finish_ends()
    targets = np.full(solver.pos.shape, np.nan)
    for j, name in enumerate(HUMANOID.targets):
        if name is not None:
            k = SOLVER_POINTS.index(name)
            targets[observed[:, k], j] = raw[observed[:, k], k]
    skeleton = SolvedSkeleton(
        HUMANOID, int(person_id), poses.fps, solver.offsets, solver.local_rotations(), solver.pos[:, 0], targets
    )
    log.info(
        "person %s: skeleton solved over %d frames, median joint error %.1f mm",
        person_id,
        skeleton.num_frames,
        1000 * float(np.nanmedian(skeleton.reproduction_errors())),
    )
    return skeleton


def solve_people(
    poses: Poses3D, person_ids: Sequence[int] | None = None, config: SolveConfig | None = None
) -> tuple[SolvedSkeleton, ...]:
    """Solve several people (default: every non-padded person slot), in the order given.

    Raises:
        SolveError: no person to solve, or any person cannot be solved (see :func:`solve_person`).
        LayoutError: the layout cannot drive the skeleton.
    """
    ids = [int(i) for i in poses.person_id if i != PADDED_PERSON_ID] if person_ids is None else list(person_ids)
    if not ids:
        raise SolveError("the poses hold no person to solve")
    return tuple(solve_person(poses, i, config) for i in ids)
