"""Cross-view association of 2D poses in one frame: epipolar affinity + constrained clustering.

**Affinity.** For two detections in views ``a`` and ``b``, each joint seen in both contributes its
symmetric point-to-epipolar-line distance: the distance of ``x_b`` to the line ``E_ab x_a`` and of
``x_a`` to ``E_ab^T x_b``, each in normalized image units scaled to metres by its view's working
distance (:mod:`mocap.association.geometry`), so that pairs of different cameras compare. The pair
distance is the confidence-weighted mean over common joints (weight ``sqrt(s_a s_b)``), defined
only when at least ``min_common_joints`` joints are shared.

**Matching.** Detections are grouped by greedy agglomerative clustering under a cannot-link
constraint, in the spirit of the greedy multi-view matching of Bridgeman et al., "Multi-Person 3D
Pose Estimation and Tracking in Sports" (CVPR Workshops 2019): candidate pairs are visited from
the most to the least consistent; two clusters merge only if they share no view (at most one
detection per view and person, which makes the result cycle-consistent by construction) and
their *average* pair distance over all cross pairs is below ``pair_threshold_m`` while no cross
pair exceeds ``2 x pair_threshold_m`` (average linkage stops the chaining of single-linkage
matching). Detections left alone — people seen in one view, false positives — stay singletons.

Complexity per frame: O(V^2 N^2 J) distance terms for N detections per view (vectorised per view
pair) and O(E log E) for the E candidate pairs; with N ~ people + false positives this is a few
thousand terms for 8 cameras x 8 people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mocap.association.geometry import ViewGeometry


@dataclass(frozen=True)
class CrossViewConfig:
    """Thresholds of the per-frame association (metres, via the working-distance scale)."""

    pair_threshold_m: float = 0.15
    min_common_joints: int = 5
    min_score: float = 0.05


def pair_distances(
    geometry: ViewGeometry,
    a: int,
    b: int,
    xa: NDArray[np.float64],
    sa: NDArray[np.float64],
    xb: NDArray[np.float64],
    sb: NDArray[np.float64],
    config: CrossViewConfig,
) -> NDArray[np.float64]:
    """Symmetric metric epipolar distances between detections of views ``a`` and ``b``.

    Args:
        xa, xb: (Na, J, 2), (Nb, J, 2) normalized coordinates (NaN where missing).
        sa, sb: (Na, J), (Nb, J) scores.

    Returns:
        (Na, Nb) distances in metres; ``inf`` where fewer than ``min_common_joints`` are shared.
    """
    ha = np.concatenate([np.nan_to_num(xa), np.ones(xa.shape[:-1] + (1,))], axis=-1)  # (Na, J, 3)
    hb = np.concatenate([np.nan_to_num(xb), np.ones(xb.shape[:-1] + (1,))], axis=-1)
    e = geometry.essential[a, b]
    lines_b = ha @ e.T  # (Na, J, 3): lines in view b
    lines_a = hb @ e  # (Nb, J, 3): lines in view a
    numerator = np.abs(np.einsum("ajk,bjk->abj", lines_b, hb))  # |x_b^T E x_a|, (Na, Nb, J)
    norm_b = np.linalg.norm(lines_b[..., :2], axis=-1)  # (Na, J)
    norm_a = np.linalg.norm(lines_a[..., :2], axis=-1)  # (Nb, J)
    with np.errstate(divide="ignore", invalid="ignore"):
        dist_b = numerator / norm_b[:, None, :] * geometry.working_distance_m[b]
        dist_a = numerator / norm_a[None, :, :] * geometry.working_distance_m[a]
    distance = 0.5 * (dist_a + dist_b)
    weight = np.sqrt(np.clip(sa, 0, None)[:, None, :] * np.clip(sb, 0, None)[None, :, :])
    weight = np.where(
        (sa[:, None, :] > config.min_score) & (sb[None, :, :] > config.min_score) & np.isfinite(distance), weight, 0.0
    )
    common = (weight > 0).sum(axis=-1)
    total = weight.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(weight > 0, distance, 0.0).sum(axis=-1) / total
    return np.where(common >= config.min_common_joints, mean, np.inf)


def cluster_detections(
    geometry: ViewGeometry,
    candidates: list[NDArray[np.int64]],
    normalized: NDArray[np.float64],
    scores: NDArray[np.float64],
    config: CrossViewConfig,
) -> list[dict[int, int]]:
    """Group the candidate detections of one frame into people.

    Args:
        geometry: the rig's view geometry.
        candidates: per view, the detection slots to consider (others are ignored).
        normalized: (V, S, J, 2) normalized coordinates of the frame.
        scores: (V, S, J) scores of the frame.
        config: thresholds.

    Returns:
        Clusters of at least two views, each a mapping view -> detection slot, best first
        (most views, then lowest mean pair distance).
    """
    nodes = [(v, int(s)) for v in range(len(candidates)) for s in candidates[v]]
    if len(nodes) < 2:
        return []
    node_index = {node: i for i, node in enumerate(nodes)}
    n = len(nodes)
    distance = np.full((n, n), np.inf)
    edges: list[tuple[float, int, int]] = []
    views = [v for v in range(len(candidates)) if len(candidates[v])]
    for i, a in enumerate(views):
        for b in views[i + 1 :]:
            d = pair_distances(
                geometry,
                a,
                b,
                normalized[a, candidates[a]],
                scores[a, candidates[a]],
                normalized[b, candidates[b]],
                scores[b, candidates[b]],
                config,
            )
            for ia, sa in enumerate(candidates[a]):
                for ib, sb in enumerate(candidates[b]):
                    value = d[ia, ib]
                    if value < config.pair_threshold_m:
                        p, q = node_index[(a, int(sa))], node_index[(b, int(sb))]
                        distance[p, q] = distance[q, p] = value
                        edges.append((float(value), p, q))
                    elif np.isfinite(value):
                        p, q = node_index[(a, int(sa))], node_index[(b, int(sb))]
                        distance[p, q] = distance[q, p] = value
    edges.sort()
    cluster_of = list(range(n))
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    for _, p, q in edges:
        cp, cq = cluster_of[p], cluster_of[q]
        if cp == cq:
            continue
        if {nodes[m][0] for m in members[cp]} & {nodes[m][0] for m in members[cq]}:
            continue  # cannot-link: one detection per view
        cross = distance[np.ix_(members[cp], members[cq])]
        finite = cross[np.isfinite(cross)]
        if finite.size == 0 or finite.mean() >= config.pair_threshold_m or finite.max() >= 2 * config.pair_threshold_m:
            continue
        for m in members[cq]:
            cluster_of[m] = cp
        members[cp] += members.pop(cq)
    clusters = []
    for group in members.values():
        if len(group) < 2:
            continue
        inner = distance[np.ix_(group, group)]
        mean = float(inner[np.isfinite(inner)].mean()) if np.isfinite(inner).any() else np.inf
        clusters.append((-len(group), mean, {nodes[m][0]: nodes[m][1] for m in group}))
    clusters.sort(key=lambda c: (c[0], c[1]))
    return [c[2] for c in clusters]
