"""Import one BVH or FBX file into Blender (the ``bpy`` module) and measure what Blender made of it.

Runs under ``.venv-blender/bin/python`` (``make blender-venv``), never under the project's venv::

    .venv-blender/bin/python tools/blender_measure.py FILE OUT.npz [--up y|z] [--scale S]

Writes ``OUT.npz`` with, per armature ``k`` (sorted by object name):

* ``a{k}_name``: the armature object's name; ``a{k}_bones``: bone names (B,);
* ``a{k}_heads`` / ``a{k}_tails``: (F, B, 3) world positions of every bone's head and tail on
  every frame of its action (Blender evaluates the pose, the armature's object transform included);
* ``a{k}_matrix_world``: (4, 4) the armature object's transform; ``a{k}_frame_range``: the
  action's first and last frame; ``a{k}_keys``: keyframe count of every F-curve;

and for the scene: ``fps`` (``render.fps / render.fps_base``), ``unit_system``,
``unit_scale_length``, ``armatures`` (count). Exit status 0 on success, 1 with a message when the
import fails or makes no armature.
"""

from __future__ import annotations

import argparse
import sys

import bpy  # type: ignore[import-not-found]
import numpy as np


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("out")
    parser.add_argument("--up", choices=("y", "z"), default="y", help="BVH only: the file's up axis")
    parser.add_argument("--scale", type=float, default=1.0, help="BVH only: import scale (0.01 for cm)")
    args = parser.parse_args(argv)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    if args.file.lower().endswith(".bvh"):
        forward, up = ("-Z", "Y") if args.up == "y" else ("Y", "Z")
        result = bpy.ops.import_anim.bvh(
            filepath=args.file,
            global_scale=args.scale,
            axis_forward=forward,
            axis_up=up,
            update_scene_fps=True,
            update_scene_duration=True,
        )
    else:
        result = bpy.ops.import_scene.fbx(filepath=args.file)
    if "FINISHED" not in result:
        print(f"import failed: {result}", file=sys.stderr)
        return 1
    scene = bpy.context.scene
    armatures = sorted((o for o in scene.objects if o.type == "ARMATURE"), key=lambda o: o.name)
    if not armatures:
        print("the import made no armature", file=sys.stderr)
        return 1
    out: dict[str, np.ndarray] = {
        "fps": np.array(scene.render.fps / scene.render.fps_base),
        "unit_system": np.array(scene.unit_settings.system),
        "unit_scale_length": np.array(scene.unit_settings.scale_length),
        "armatures": np.array(len(armatures)),
    }
    for k, arm in enumerate(armatures):
        action = arm.animation_data.action if arm.animation_data else None
        if action is None:
            print(f"armature {arm.name} has no action", file=sys.stderr)
            return 1
        first, last = (round(f) for f in action.frame_range)
        bones = [b.name for b in arm.pose.bones]
        heads = np.zeros((last - first + 1, len(bones), 3))
        tails = np.zeros_like(heads)
        for i, frame in enumerate(range(first, last + 1)):
            scene.frame_set(frame)
            world = arm.matrix_world
            for b, pose_bone in enumerate(arm.pose.bones):
                heads[i, b] = world @ pose_bone.head
                tails[i, b] = world @ pose_bone.tail
        out[f"a{k}_name"] = np.array(arm.name)
        out[f"a{k}_bones"] = np.array(bones)
        out[f"a{k}_heads"] = heads
        out[f"a{k}_tails"] = tails
        out[f"a{k}_matrix_world"] = np.array(arm.matrix_world)
        out[f"a{k}_frame_range"] = np.array([first, last])
        out[f"a{k}_keys"] = np.array([len(c.keyframe_points) for c in action.fcurves])
    np.savez(args.out, **out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
