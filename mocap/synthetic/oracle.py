"""The oracle of a synthetic take: the true association, reconstructed like any other.

"Triangulation given the true association" is what multi-person association is measured against:
the true person of every detection slot (``take.slot_person``) gives per-person observations,
which go through the same reconstruction (triangulation and filtering) as an associator's output.
The oracle is not told about left/right swaps; it reads detections as the detector labelled them.
"""

from __future__ import annotations

import numpy as np

from mocap.association.associate import given_observations
from mocap.synthetic.studio import SyntheticTake
from mocap.triangulation.observations import PersonObservations
from mocap.triangulation.pipeline import ReconstructConfig, Reconstruction, reconstruct


def true_observations(take: SyntheticTake) -> PersonObservations:
    """Every true person's detections, (T, V, P, J), as the synthetic detector reported them."""
    det = take.detections
    t_count, v_count, _, j_count = det.score.shape
    p_count = take.poses.num_people
    xy = np.full((t_count, v_count, p_count, j_count, 2), np.nan)
    score = np.zeros((t_count, v_count, p_count, j_count))
    t, v, s = np.nonzero(take.slot_person >= 0)
    person = take.slot_person[t, v, s]
    xy[t, v, person] = det.xy[t, v, s]
    score[t, v, person] = det.score[t, v, s]
    return PersonObservations(xy, score, np.arange(p_count, dtype=np.int32), det.camera_names, det.layout, det.fps)


def oracle_reconstruction(take: SyntheticTake, config: ReconstructConfig | None = None) -> Reconstruction:
    """The take reconstructed from its true association (same settings as any reconstruction)."""
    return reconstruct(take.rig, take.detections, config, associate=given_observations(true_observations(take)))
