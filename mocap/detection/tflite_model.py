"""A TFLite flatbuffer read into a plain graph: tensors, folded float constants and operators.

Parsing uses the ``tflite`` package (generated flatbuffer accessors, no TensorFlow). At load time
every constant becomes a dense float32 array: ``DEQUANTIZE`` of a constant (float16 weights, or
int8/uint8 with scale and zero point) and ``DENSIFY`` of a sparse constant are evaluated here and
dropped from the operator list, so the executor only sees compute operators.

Shapes and layouts are TFLite's (NHWC activations, ``[O, KH, KW, I]`` convolution filters,
``[1, KH, KW, C]`` depthwise filters); the torch executor converts them once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mocap.detection.sparse import DimensionLevel, densify
from mocap.errors import FileFormatError, MissingFileError, ShapeError

log = logging.getLogger(__name__)

_NUMPY_TYPES = {
    "FLOAT32": np.float32,
    "FLOAT16": np.float16,
    "INT32": np.int32,
    "UINT8": np.uint8,
    "INT64": np.int64,
    "INT8": np.int8,
    "INT16": np.int16,
    "FLOAT64": np.float64,
}


@dataclass(frozen=True)
class TensorInfo:
    """A tensor of the graph: ``name``, TFLite ``shape`` and TFLite type name (``"FLOAT32"``)."""

    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class OpNode:
    """One operator: builtin name (``"CONV_2D"``), tensor indices and its options as a dict."""

    op: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class TfliteGraph:
    """The first subgraph of a TFLite model with its constants folded to float32.

    Attributes:
        path: the file read.
        tensors: every tensor of the subgraph, by index.
        constants: tensor index -> dense array (float32 for float tensors, int32 for shapes).
        nodes: compute operators in execution order (no DEQUANTIZE/DENSIFY of constants).
        inputs: indices of the graph inputs.
        outputs: indices of the graph outputs, in the model's order.
        folded: how many DEQUANTIZE and DENSIFY operators were evaluated at load time.
    """

    path: Path
    tensors: tuple[TensorInfo, ...]
    constants: dict[int, NDArray[Any]] = field(repr=False)
    nodes: tuple[OpNode, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    folded: dict[str, int]

    @property
    def operator_counts(self) -> dict[str, int]:
        """Operator name -> count of the compute operators."""
        counts: dict[str, int] = {}
        for node in self.nodes:
            counts[node.op] = counts.get(node.op, 0) + 1
        return counts

    def input_shape(self) -> tuple[int, ...]:
        """TFLite shape of the (single) input, e.g. ``(1, 224, 224, 3)``."""
        return self.tensors[self.inputs[0]].shape


def _enum_names(enum_class: type) -> dict[int, str]:
    return {v: k for k, v in vars(enum_class).items() if not k.startswith("_") and isinstance(v, int)}


def _options(op: Any, name: str) -> dict[str, Any]:
    """The builtin options an operator of type ``name`` needs, as plain Python values."""
    import tflite

    table = op.BuiltinOptions()
    if table is None:
        return {}
    readers: dict[str, tuple[type, tuple[str, ...]]] = {
        "CONV_2D": (
            tflite.Conv2DOptions,
            ("Padding", "StrideW", "StrideH", "DilationWFactor", "DilationHFactor", "FusedActivationFunction"),
        ),
        "DEPTHWISE_CONV_2D": (
            tflite.DepthwiseConv2DOptions,
            (
                "Padding",
                "StrideW",
                "StrideH",
                "DepthMultiplier",
                "DilationWFactor",
                "DilationHFactor",
                "FusedActivationFunction",
            ),
        ),
        "MAX_POOL_2D": (
            tflite.Pool2DOptions,
            ("Padding", "StrideW", "StrideH", "FilterWidth", "FilterHeight", "FusedActivationFunction"),
        ),
        "AVERAGE_POOL_2D": (
            tflite.Pool2DOptions,
            ("Padding", "StrideW", "StrideH", "FilterWidth", "FilterHeight", "FusedActivationFunction"),
        ),
        "ADD": (tflite.AddOptions, ("FusedActivationFunction",)),
        "MUL": (tflite.MulOptions, ("FusedActivationFunction",)),
        "CONCATENATION": (tflite.ConcatenationOptions, ("Axis", "FusedActivationFunction")),
        "RESIZE_BILINEAR": (tflite.ResizeBilinearOptions, ("AlignCorners", "HalfPixelCenters")),
        "DEPTH_TO_SPACE": (tflite.DepthToSpaceOptions, ("BlockSize",)),
    }
    if name not in readers:
        return {}
    options_class, fields = readers[name]
    options = options_class()
    options.Init(table.Bytes, table.Pos)
    return {f: getattr(options, f)() for f in fields}


def _index_vector(table: Any, kind: int) -> NDArray[np.int64]:
    import tflite

    vector_class = {1: tflite.Int32Vector, 2: tflite.Uint16Vector, 3: tflite.Uint8Vector}.get(kind)
    if vector_class is None or table is None:
        raise ShapeError("sparsity index vector", "Int32, Uint16 or Uint8 values", f"type {kind}")
    vector = vector_class()
    vector.Init(table.Bytes, table.Pos)
    return np.asarray(vector.ValuesAsNumpy(), dtype=np.int64)


def _sparse_levels(sparsity: Any) -> tuple[tuple[int, ...], tuple[int, ...], tuple[DimensionLevel, ...]]:
    order = tuple(int(v) for v in (sparsity.TraversalOrderAsNumpy() if sparsity.TraversalOrderLength() else ()))
    blocks = tuple(int(v) for v in (sparsity.BlockMapAsNumpy() if sparsity.BlockMapLength() else ()))
    levels = []
    for d in range(sparsity.DimMetadataLength()):
        meta = sparsity.DimMetadata(d)
        if meta.Format() == 0:  # DENSE
            levels.append(DimensionLevel(int(meta.DenseSize())))
        else:  # SPARSE_CSR
            segments = _index_vector(meta.ArraySegments(), meta.ArraySegmentsType())
            indices = _index_vector(meta.ArrayIndices(), meta.ArrayIndicesType())
            levels.append(DimensionLevel(0, segments, indices))
    return order, blocks, tuple(levels)


def _constant(model: Any, tensor: Any, info: TensorInfo) -> NDArray[Any] | None:
    """The raw constant of a tensor (its buffer), or None for an activation."""
    buffer = model.Buffers(tensor.Buffer())
    if buffer is None:
        return None
    if buffer.Offset() > 1:
        raise ShapeError(info.name, "weights inside the flatbuffer", "weights stored outside it (models > 2 GB)")
    if buffer.DataLength() == 0:
        return None
    dtype = _NUMPY_TYPES.get(info.dtype)
    if dtype is None:
        raise ShapeError(info.name, "a numeric tensor type", info.dtype)
    raw = np.frombuffer(buffer.DataAsNumpy().tobytes(), dtype=dtype)
    sparsity = tensor.Sparsity()
    if sparsity is not None:
        order, blocks, levels = _sparse_levels(sparsity)
        return densify(raw, info.shape, order, blocks, levels)
    expected = int(np.prod(info.shape)) if info.shape else 1
    if raw.size != expected:
        raise ShapeError(info.name, f"{expected} values for shape {info.shape}", f"{raw.size}")
    return raw.reshape(info.shape).copy()


def _dequantize(tensor: Any, values: NDArray[Any]) -> NDArray[np.float32]:
    if values.dtype.kind == "f":
        return values.astype(np.float32)
    quant = tensor.Quantization()
    if quant is None or quant.ScaleLength() == 0:
        raise ShapeError("DEQUANTIZE input", "scale and zero point", "none")
    scale = quant.ScaleAsNumpy().astype(np.float32)
    zero = quant.ZeroPointAsNumpy().astype(np.float32) if quant.ZeroPointLength() else np.zeros_like(scale)
    axis = int(quant.QuantizedDimension())
    shape = [1] * values.ndim
    if scale.size > 1:
        shape[axis] = scale.size
    return ((values.astype(np.float32) - zero.reshape(shape)) * scale.reshape(shape)).astype(np.float32)


def read_tflite(path: str | Path) -> TfliteGraph:
    """Read a ``.tflite`` file and fold its DEQUANTIZE/DENSIFY constants.

    Raises:
        MissingFileError: the file does not exist.
        FileFormatError: the file is not a TFLite flatbuffer, is truncated or inconsistent
            (the message says to reinstall the package that ships it).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such model file")
    data = path.read_bytes()
    fix = "the model file is damaged; reinstall mediapipe==0.10.14 or delete the cached copy to fetch it again"
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise FileFormatError(path, "", f"not a TFLite model (no TFL3 identifier); {fix}")
    try:
        return _parse(path, data)
    except (ShapeError, FileFormatError) as exc:
        raise FileFormatError(path, "", f"{exc}; {fix}") from None
    except Exception as exc:  # a damaged flatbuffer fails anywhere inside the generated accessors
        raise FileFormatError(path, "", f"cannot be parsed ({type(exc).__name__}: {exc}); {fix}") from None


def _parse(path: Path, data: bytes) -> TfliteGraph:
    import tflite

    operator_names = _enum_names(tflite.BuiltinOperator)
    type_names = _enum_names(tflite.TensorType)
    model = tflite.Model.GetRootAsModel(data, 0)
    if model.SubgraphsLength() < 1:
        raise ShapeError("subgraphs", "at least one", "none")
    graph = model.Subgraphs(0)
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        codes.append(operator_names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "UNKNOWN"))
    tensors = []
    constants: dict[int, NDArray[Any]] = {}
    for i in range(graph.TensorsLength()):
        tensor = graph.Tensors(i)
        shape = tuple(int(s) for s in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
        info = TensorInfo(tensor.Name().decode("utf-8", "replace"), shape, type_names.get(tensor.Type(), "UNKNOWN"))
        tensors.append(info)
        value = _constant(model, tensor, info)
        if value is not None:
            constants[i] = value
    nodes = []
    folded = {"DEQUANTIZE": 0, "DENSIFY": 0}
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        name = codes[op.OpcodeIndex()]
        inputs = tuple(int(t) for t in op.InputsAsNumpy()) if op.InputsLength() else ()
        outputs = tuple(int(t) for t in op.OutputsAsNumpy())
        if name in folded and inputs and inputs[0] in constants:
            source = constants[inputs[0]]
            value = source if name == "DENSIFY" else _dequantize(graph.Tensors(inputs[0]), source)
            constants[outputs[0]] = value
            folded[name] += 1
            continue
        nodes.append(OpNode(name, inputs, outputs, _options(op, name)))
    for index, value in list(constants.items()):
        if value.dtype.kind == "f":
            constants[index] = value.astype(np.float32)
    graph_inputs = tuple(int(t) for t in graph.InputsAsNumpy())
    graph_outputs = tuple(int(t) for t in graph.OutputsAsNumpy())
    log.info("read %s: %d operators, folded %s", path.name, len(nodes), folded)
    return TfliteGraph(path, tuple(tensors), constants, tuple(nodes), graph_inputs, graph_outputs, folded)
