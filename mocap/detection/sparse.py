"""TFLite sparse tensors (the format read by the DENSIFY operator) to dense arrays.

A sparse TFLite tensor stores its non-zero values in traversal order together with one
``DimensionMetadata`` per traversed dimension (TFLite schema, ``SparsityParameters``):

* ``DENSE`` dimensions hold every index ``0 .. dense_size - 1``; the position of a child is
  ``parent * dense_size + i``;
* ``SPARSE_CSR`` dimensions hold, for parent position ``p``, the children
  ``segments[p] .. segments[p + 1] - 1``, each with coordinate ``indices[k]``; the position of a
  child is ``k`` itself.

The traversal order may visit block dimensions after the original ones (``block_map`` names the
original dimension each block dimension subdivides); the coordinate along an original dimension
is then ``outer * block_size + inner``. At the last level the position indexes the value array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mocap.errors import ShapeError


@dataclass(frozen=True)
class DimensionLevel:
    """One traversed dimension of a sparse tensor.

    Attributes:
        dense_size: the size of a DENSE level (unused for SPARSE_CSR).
        segments: SPARSE_CSR row pointers (None for DENSE).
        indices: SPARSE_CSR coordinates (None for DENSE).
    """

    dense_size: int
    segments: NDArray[np.int64] | None = None
    indices: NDArray[np.int64] | None = None

    @property
    def is_sparse(self) -> bool:
        return self.segments is not None


def densify(
    values: NDArray[np.generic],
    shape: tuple[int, ...],
    traversal_order: tuple[int, ...],
    block_map: tuple[int, ...],
    levels: tuple[DimensionLevel, ...],
) -> NDArray[np.generic]:
    """The dense array of ``shape`` described by a TFLite sparse tensor.

    Args:
        values: (N,) the stored values in traversal order.
        shape: the dense shape (original dimensions).
        traversal_order: for each level, the dimension it traverses; entries ``>= len(shape)``
            are block dimensions.
        block_map: for each block dimension, the original dimension it subdivides.
        levels: one :class:`DimensionLevel` per entry of ``traversal_order``.

    Raises:
        ShapeError: the metadata is inconsistent (index out of range, too few values).
    """
    rank = len(shape)
    if len(levels) != len(traversal_order) or len(traversal_order) != rank + len(block_map):
        raise ShapeError("sparsity", f"{rank + len(block_map)} dimension levels", f"{len(levels)}")
    block_size = {block_map[k]: levels[traversal_order.index(rank + k)].dense_size for k in range(len(block_map))}
    dense = np.zeros(shape, dtype=values.dtype)
    # Level by level, keep (positions, coordinates) of every node reached so far: vectorised BFS.
    positions = np.zeros(1, dtype=np.int64)
    coords = np.zeros((1, len(traversal_order)), dtype=np.int64)
    for level, dim_level in enumerate(levels):
        segments, indices = dim_level.segments, dim_level.indices
        if segments is None or indices is None:
            size = dim_level.dense_size
            child = np.arange(size, dtype=np.int64)
            positions = (positions[:, None] * size + child[None, :]).reshape(-1)
            coords = np.repeat(coords, size, axis=0)
            coords[:, level] = np.tile(child, len(coords) // size if size else 0)
            continue
        if positions.size and (positions.max() + 1 >= segments.size):
            raise ShapeError("sparsity.segments", f"more than {positions.max() + 1} entries", f"{segments.size}")
        starts, stops = segments[positions], segments[positions + 1]
        counts = stops - starts
        parent = np.repeat(np.arange(len(positions)), counts)
        positions = (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)) + np.repeat(
            starts, counts
        )
        if positions.size and positions.max() >= indices.size:
            raise ShapeError("sparsity.indices", f"more than {positions.max()} entries", f"{indices.size}")
        coords = coords[parent]
        coords[:, level] = indices[positions]
    if positions.size and positions.max() >= values.size:
        raise ShapeError("sparse values", f"at least {positions.max() + 1} values", f"{values.size}")
    full = np.zeros((len(positions), rank), dtype=np.int64)
    for level, dim in enumerate(traversal_order):
        if dim < rank:
            full[:, dim] += coords[:, level] * block_size.get(dim, 1)
        else:
            full[:, block_map[dim - rank]] += coords[:, level]
    if np.any(full >= np.asarray(shape)) or np.any(full < 0):
        raise ShapeError("sparse coordinates", f"inside {shape}", "coordinates outside the tensor")
    dense[tuple(full.T)] = values[positions]
    return dense
