"""Shape checks and read-only arrays for the frozen data types of both packages.

A shape spec is a tuple whose entries are ints (an exact size), strings (a named size that must
agree across every array checked with the same ``sizes`` dict) or ``None`` (any size). A leading
``...`` entry accepts any number of leading batch axes.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from calibration.errors import ShapeError

ShapeSpec = tuple[Any, ...]


def _format_spec(spec: ShapeSpec) -> str:
    parts = ["..." if s is Ellipsis else ("*" if s is None else str(s)) for s in spec]
    return "(" + ", ".join(parts) + (",)" if len(parts) == 1 else ")")


def check_shape(
    name: str,
    array: NDArray[Any],
    spec: ShapeSpec,
    sizes: MutableMapping[str, int] | None = None,
) -> None:
    """Raise :class:`ShapeError` unless ``array.shape`` matches ``spec``.

    Args:
        name: argument name used in the error message.
        array: the array to check.
        spec: the expected shape, e.g. ``("T", "V", "P", "J", 2)`` or ``(..., 3)``.
        sizes: named sizes seen so far; named entries are bound here on first sight and must
            agree afterwards, so one dict checks several arrays against each other.

    Raises:
        ShapeError: naming ``name``, the expected spec (with bound sizes) and the actual shape.
    """
    sizes = {} if sizes is None else sizes
    shape = array.shape
    if spec and spec[0] is Ellipsis:
        tail = spec[1:]
        ok = len(shape) >= len(tail)
        dims = list(zip(shape[len(shape) - len(tail) :], tail, strict=True)) if ok else []
    else:
        ok = len(shape) == len(spec)
        dims = list(zip(shape, spec, strict=True)) if ok else []
    new: dict[str, int] = {}
    for actual, want in dims:
        if want is None:
            continue
        if isinstance(want, str):
            bound = sizes.get(want, new.get(want))
            if bound is None:
                new[want] = actual
            elif bound != actual:
                ok = False
        elif actual != want:
            ok = False
    if not ok:
        shown = tuple(sizes.get(s, s) if isinstance(s, str) else s for s in spec)
        raise ShapeError(name, f"shape {_format_spec(shown)}", f"shape {tuple(shape)}")
    sizes.update(new)


def frozen(
    name: str,
    value: ArrayLike,
    spec: ShapeSpec,
    dtype: DTypeLike,
    sizes: MutableMapping[str, int] | None = None,
) -> NDArray[Any]:
    """Convert ``value`` to a read-only array of ``dtype`` after checking its shape.

    The result never shares memory with ``value``, so later writes by the caller cannot change a
    frozen data type.

    Raises:
        ShapeError: if the value cannot be converted to ``dtype`` or has the wrong shape.
    """
    try:
        array = np.array(value, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise ShapeError(name, f"an array of {np.dtype(dtype).name}", f"{exc}") from exc
    check_shape(name, array, spec, sizes)
    array.setflags(write=False)
    return array


def as_float64(name: str, value: ArrayLike, spec: ShapeSpec) -> NDArray[np.float64]:
    """A float64 view or copy of ``value`` with its shape checked (not made read-only)."""
    if type(value) is np.ndarray and value.dtype == np.float64:
        array: NDArray[np.float64] = value  # the common case, without numpy's conversion machinery
    else:
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ShapeError(name, "an array of numbers", f"{exc}") from exc
    check_shape(name, array, spec)
    return array
