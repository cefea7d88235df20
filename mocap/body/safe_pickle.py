"""Reading pickled model files without running code from them.

The official SMPL ``.pkl`` files (and the SMPLify GMM pose prior) are Python 2 pickles of a dict
of numpy arrays, ``chumpy.ch.Ch`` objects (a plain chumpy array keeps its value in the ``x`` entry
of its state) and ``scipy.sparse`` matrices (the joint regressor). A plain ``pickle.load`` would
import and call any global the file names, so a crafted file could run code (``os.system``).

:func:`load_restricted_pickle` resolves only the globals in :data:`ALLOWED_GLOBALS`, each mapped to
a function or placeholder written here, and refuses every other global with an
:class:`UnsafePickleError` naming it. Neither chumpy nor any other module named by the file is
imported. After loading, placeholders are replaced by numpy arrays: a chumpy array by its ``x``,
a sparse matrix by its dense equivalent (built from its ``data``/``indices``/``indptr``).
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mocap.errors import FileFormatError, MissingFileError


class UnsafePickleError(FileFormatError):
    """A pickle names a global outside the whitelist; nothing from it was executed."""


class _ChumpyArray:
    """Stands in for ``chumpy.ch.Ch``; keeps the pickled state (``x`` is the value)."""

    state: dict[str, Any]

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {}


class _SparseMatrix:
    """Stands in for a ``scipy.sparse`` compressed or coordinate matrix; keeps its state."""

    fmt = ""
    state: dict[str, Any]

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {}


class _CscMatrix(_SparseMatrix):
    fmt = "csc"


class _CsrMatrix(_SparseMatrix):
    fmt = "csr"


class _CooMatrix(_SparseMatrix):
    fmt = "coo"


_PLACEHOLDERS = (_ChumpyArray, _CscMatrix, _CsrMatrix, _CooMatrix)


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copy_reg._reconstructor`` limited to plain objects of the placeholder classes."""
    if base is not object or state is not None or cls not in _PLACEHOLDERS:
        raise pickle.UnpicklingError(f"copyreg._reconstructor of {cls!r} over {base!r} is not allowed")
    return object.__new__(cls)


def _ndarray_reconstruct(subtype: Any, shape: Any, dtype: Any) -> NDArray[Any]:
    """``numpy.core.multiarray._reconstruct`` for plain ndarrays only."""
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError(f"numpy _reconstruct of {subtype!r} is not allowed")
    return np.ndarray.__new__(np.ndarray, shape, np.dtype(dtype) if not isinstance(dtype, np.dtype) else dtype)


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    """``numpy.core.multiarray.scalar`` for non-object dtypes."""
    dt = np.dtype(dtype)
    if dt.hasobject or not isinstance(data, bytes | bytearray):
        raise pickle.UnpicklingError(f"numpy scalar of dtype {dt} is not allowed")
    return np.frombuffer(bytes(data), dtype=dt, count=1)[0]


def _numpy_frombuffer(buffer: Any, dtype: Any, shape: Any, order: str) -> NDArray[Any]:
    """``numpy.core.numeric._frombuffer`` (pickle protocol 5 arrays), copied so it is writable."""
    dt = np.dtype(dtype)
    if dt.hasobject:
        raise pickle.UnpicklingError("object arrays are not allowed")
    return np.frombuffer(bytes(buffer), dtype=dt).reshape(shape, order="F" if order == "F" else "C").copy()


def _latin1_encode(text: Any, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode``, as Python 3 writes bytes into protocol-2 pickles: latin-1 only."""
    if not isinstance(text, str) or encoding.replace("-", "").lower() != "latin1":
        raise pickle.UnpicklingError(f"_codecs.encode with {encoding!r} is not allowed")
    return text.encode("latin1")


def _numpy_dtype(*args: Any) -> np.dtype[Any]:
    """``numpy.dtype(obj, align, copy)`` as pickles call it."""
    return np.dtype(args[0]) if args else np.dtype(float)


_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_NUMERIC_MODULES = ("numpy.core.numeric", "numpy._core.numeric")

#: (module, name) as the pickle spells them -> what they resolve to. Python 2 spellings included.
ALLOWED_GLOBALS: dict[tuple[str, str], Callable[..., Any] | type] = {
    ("copy_reg", "_reconstructor"): _reconstructor,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("__builtin__", "object"): object,
    ("builtins", "object"): object,
    ("__builtin__", "set"): set,
    ("builtins", "set"): set,
    ("__builtin__", "frozenset"): frozenset,
    ("builtins", "frozenset"): frozenset,
    ("_codecs", "encode"): _latin1_encode,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _numpy_dtype,
    **{(m, "_reconstruct"): _ndarray_reconstruct for m in _NUMPY_MODULES},
    **{(m, "scalar"): _numpy_scalar for m in _NUMPY_MODULES},
    **{(m, "_frombuffer"): _numpy_frombuffer for m in _NUMERIC_MODULES},
    ("chumpy.ch", "Ch"): _ChumpyArray,
    **{(f"scipy.sparse.{m}", "csc_matrix"): _CscMatrix for m in ("csc", "_csc")},
    **{(f"scipy.sparse.{m}", "csr_matrix"): _CsrMatrix for m in ("csr", "_csr")},
    **{(f"scipy.sparse.{m}", "coo_matrix"): _CooMatrix for m in ("coo", "_coo")},
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, path: Path) -> None:
        super().__init__(file, encoding="latin1")  # Python 2 pickles hold numpy bytes as str
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        target = ALLOWED_GLOBALS.get((module, name))
        if target is None:
            raise UnsafePickleError(
                self._path,
                "",
                f"refused global {module}.{name}: a model file may hold only numpy arrays, chumpy arrays "
                "and scipy.sparse matrices (nothing in it was run); is it the file you downloaded?",
            )
        return target

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not allowed")


def _sparse_to_dense(path: Path, key: str, matrix: _SparseMatrix) -> NDArray[np.float64]:
    from scipy import sparse

    state = matrix.state
    shape = state.get("_shape", state.get("shape"))
    try:
        if matrix.fmt == "coo":
            coords = (state["row"], state["col"]) if "row" in state else tuple(state["coords"])
            built = sparse.coo_matrix((state["data"], coords), shape=shape)
        else:
            kind = sparse.csc_matrix if matrix.fmt == "csc" else sparse.csr_matrix
            built = kind((state["data"], state["indices"], state["indptr"]), shape=shape)
        return np.asarray(built.toarray(), dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise FileFormatError(path, key, f"sparse matrix state is malformed ({exc})") from None


def _to_plain(path: Path, key: str, value: Any) -> Any:
    """Replace placeholders inside ``value`` by numpy arrays (recursively through containers)."""
    if isinstance(value, _ChumpyArray):
        if "x" not in value.state:
            raise FileFormatError(path, key, "chumpy object without a value (x); only plain chumpy arrays are read")
        return _to_plain(path, key, value.state["x"])
    if isinstance(value, _SparseMatrix):
        return _sparse_to_dense(path, key, value)
    if isinstance(value, dict):
        return {k: _to_plain(path, f"{key}.{k}" if key else str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_plain(path, key, v) for v in value)
    if isinstance(value, np.ndarray) and value.dtype.hasobject:
        raise FileFormatError(path, key, "holds an array of Python objects, which is not read")
    return value


def load_restricted_pickle(path: str | Path) -> Any:
    """Load a pickled model file, resolving only whitelisted globals (see the module docstring).

    Args:
        path: the ``.pkl`` file.

    Returns:
        The unpickled object with chumpy arrays and sparse matrices replaced by dense numpy arrays.

    Raises:
        MissingFileError: the file does not exist.
        UnsafePickleError: the file names a global outside the whitelist (nothing was executed).
        FileFormatError: the file is not a readable pickle.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such file")
    try:
        with path.open("rb") as handle:
            loaded = _RestrictedUnpickler(handle, path).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise FileFormatError(path, "", f"not a readable model pickle ({type(exc).__name__}: {exc})") from None
    except OSError as exc:
        raise FileFormatError(path, "", f"cannot be read ({exc.strerror or exc})") from None
    return _to_plain(path, "", loaded)
