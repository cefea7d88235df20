"""Triangulation: batched weighted DLT, robust view selection, refinement, temporal guidance.

Entry points: :func:`triangulate_dlt` (plain), :func:`triangulate_robust` (outlier views
rejected), :func:`triangulate` / :func:`triangulate_sequence` (configured by
:class:`TriangulationConfig`), :func:`reconstruct` (association -> triangulation -> filtering), the
torch twin ``mocap.triangulation.torch_dlt`` (any ``device``; imported on demand: it needs torch) and
the compiled CPU paths ``mocap.triangulation.fast_cpu`` (plain, refined and robust, equal to the
numpy ones; imported on demand: they need numba). ``mocap.triangulation.studies`` holds the
known-answer accuracy studies that the tests and ``mocap bench triangulation`` share.
"""

from mocap.triangulation.dlt import triangulate_dlt
from mocap.triangulation.guided import triangulate_guided
from mocap.triangulation.observations import Associator, PersonObservations, associate_single_person
from mocap.triangulation.pipeline import ReconstructConfig, Reconstruction, reconstruct, reconstruct_iter
from mocap.triangulation.refine import refine_points
from mocap.triangulation.result import PointStatus, TriangulationResult
from mocap.triangulation.robust import triangulate_robust
from mocap.triangulation.triangulate import TriangulationConfig, triangulate, triangulate_sequence

__all__ = [
    "Associator",
    "PersonObservations",
    "PointStatus",
    "ReconstructConfig",
    "Reconstruction",
    "TriangulationConfig",
    "TriangulationResult",
    "associate_single_person",
    "reconstruct",
    "reconstruct_iter",
    "refine_points",
    "triangulate",
    "triangulate_dlt",
    "triangulate_guided",
    "triangulate_robust",
    "triangulate_sequence",
]
