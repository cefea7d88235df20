"""Skeleton solving: 3D keypoints -> a humanoid skeleton with constant bone lengths and joint rotations."""

from mocap.solve.skeleton import SolvedSkeleton, SolveError
from mocap.solve.solver import SolveConfig, solve_people, solve_person

__all__ = ["SolveConfig", "SolveError", "SolvedSkeleton", "solve_people", "solve_person"]
