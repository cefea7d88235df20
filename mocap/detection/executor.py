"""Run a TFLite graph with torch: any device, float32 or float16, any batch size.

:class:`TfliteExecutor` is a ``torch.nn.Module`` built from a :class:`~mocap.detection.tflite_model.TfliteGraph`.
Weights are converted once to torch layout and held as buffers, so ``.to(device, dtype)`` moves
them like any module. Only the operators needed for the requested outputs are kept (the pose
landmark model's segmentation branch is skipped when its output is not asked for).

Input and outputs use TFLite's layout (NHWC for images) unless ``nchw=True`` is passed to
:meth:`TfliteExecutor.forward`, which saves two permutes when the caller already holds NCHW crops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from mocap.detection import torch_ops as ops
from mocap.detection.tflite_model import OpNode, TfliteGraph
from mocap.errors import ShapeError


def _torch_weight(node: OpNode, value: np.ndarray) -> tuple[np.ndarray, int]:
    """Convolution filter in torch layout and the group count."""
    if node.op == "CONV_2D":  # [O, KH, KW, I] -> [O, I, KH, KW]
        return np.ascontiguousarray(value.transpose(0, 3, 1, 2)), 1
    multiplier = int(node.options.get("DepthMultiplier", 1)) or 1  # [1, KH, KW, C*M] -> [C*M, 1, KH, KW]
    out_channels = value.shape[3]
    return np.ascontiguousarray(value.transpose(3, 0, 1, 2)), out_channels // multiplier


class TfliteExecutor(torch.nn.Module):
    """A TFLite graph as a torch module.

    Args:
        graph: the parsed model.
        outputs: names or indices (into ``graph.outputs``) of the outputs to compute; all if None.

    Raises:
        UnsupportedOperatorError: the graph uses an operator the executor lacks (named).
        ShapeError: an output name is not an output of the graph.
    """

    def __init__(self, graph: TfliteGraph, outputs: Sequence[str | int] | None = None) -> None:
        super().__init__()
        self.graph = graph
        names = [graph.tensors[i].name for i in graph.outputs]
        wanted: list[int] = []
        for item in outputs if outputs is not None else range(len(graph.outputs)):
            if isinstance(item, str):
                if item not in names:
                    raise ShapeError("outputs", f"one of {', '.join(names)}", item)
                item = names.index(item)
            wanted.append(graph.outputs[int(item)])
        self.output_tensors = tuple(wanted)
        self.output_names = tuple(graph.tensors[i].name for i in wanted)
        self.input_tensor = graph.inputs[0]
        self.nodes = self._prune(graph, set(wanted))
        self._constant_slots: dict[int, str] = {}
        self._params: dict[int, dict[str, Any]] = {}
        self._pads_into_convs = self._foldable_pads()
        for position, node in enumerate(self.nodes):
            ops.check_supported(node)
            self._prepare(position, node)

    @staticmethod
    def _prune(graph: TfliteGraph, wanted: set[int]) -> tuple[OpNode, ...]:
        needed = set(wanted)
        kept = []
        for node in reversed(graph.nodes):
            if needed.intersection(node.outputs):
                kept.append(node)
                needed.update(i for i in node.inputs if i >= 0)
        return tuple(reversed(kept))

    def _foldable_pads(self) -> dict[int, tuple[int, int]]:
        """PAD nodes whose only consumer is a VALID convolution and whose padding is spatial and
        symmetric: the convolution pads instead (its zero padding is the same), saving a copy.

        Returns:
            position of the convolution -> (rows, columns) padded on each side.
        """
        consumers: dict[int, list[int]] = {}
        for position, node in enumerate(self.nodes):
            for index in node.inputs:
                consumers.setdefault(index, []).append(position)
        folded = {}
        for node in self.nodes:
            if node.op != "PAD" or node.outputs[0] in self.output_tensors:
                continue
            users = consumers.get(node.outputs[0], [])
            paddings = np.asarray(self.graph.constants.get(node.inputs[1], np.zeros((0, 2))), dtype=int)
            if len(users) != 1 or paddings.shape != (4, 2):
                continue
            conv = self.nodes[users[0]]
            (n0, n1), (h0, h1), (w0, w1), (c0, c1) = paddings.tolist()
            if (
                conv.op in ("CONV_2D", "DEPTHWISE_CONV_2D")
                and conv.options.get("Padding") == ops.VALID
                and conv.inputs[0] == node.outputs[0]
                and n0 == n1 == c0 == c1 == 0
                and h0 == h1
                and w0 == w1
            ):
                folded[users[0]] = (h0, w0)
        return folded

    def _buffer(self, index: int, value: np.ndarray) -> str:
        if index not in self._constant_slots:
            name = f"const_{index}"
            self.register_buffer(name, torch.from_numpy(np.ascontiguousarray(value)), persistent=False)
            self._constant_slots[index] = name
        return self._constant_slots[index]

    def _prepare(self, position: int, node: OpNode) -> None:
        constants = self.graph.constants
        params: dict[str, Any] = {}
        if node.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            weight, groups = _torch_weight(node, constants[node.inputs[1]])
            params["weight"] = self._buffer_named(f"w{position}", weight)
            bias = node.inputs[2] if len(node.inputs) > 2 else -1
            params["bias"] = self._buffer_named(f"b{position}", constants[bias]) if bias >= 0 else None
            params["opts"] = dict(node.options, groups=groups)
            if position in self._pads_into_convs:
                params["opts"]["valid_padding"] = self._pads_into_convs[position]
        elif node.op == "PAD":
            params["paddings"] = constants[node.inputs[1]].astype(int).tolist()
            params["folded"] = any(
                self.nodes[p].inputs[0] == node.outputs[0] for p in self._pads_into_convs
            )  # the convolution after it pads
        elif node.op == "RESHAPE":
            params["shape"] = self.graph.tensors[node.outputs[0]].shape
        elif node.op == "RESIZE_BILINEAR":
            params["size"] = constants[node.inputs[1]].astype(int).tolist()
        elif node.op in ("ADD", "MUL", "SUB"):
            params["const"] = [i in constants for i in node.inputs[:2]]
            for i in node.inputs[:2]:
                if i in constants:
                    self._buffer(i, constants[i].astype(np.float32))
        self._params[position] = params

    def _buffer_named(self, name: str, value: np.ndarray) -> str:
        self.register_buffer(name, torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)), persistent=False)
        return name

    def _value(self, env: dict[int, torch.Tensor], index: int) -> torch.Tensor:
        if index in env:
            return env[index]
        slot = self._constant_slots.get(index)
        if slot is None:
            raise ShapeError(f"tensor {self.graph.tensors[index].name}", "computed before use", "missing")
        value: torch.Tensor = getattr(self, slot)
        return value

    def forward(self, image: torch.Tensor, nchw: bool = False) -> list[torch.Tensor]:
        """Run the graph.

        Args:
            image: (B, H, W, C) in TFLite layout, or (B, C, H, W) with ``nchw=True``; the dtype
                and device of the module's buffers.
            nchw: input given, and 4-D outputs returned, in NCHW.

        Returns:
            The requested outputs, in order, in TFLite layout (NHWC for 4-D) unless ``nchw``.
        """
        expected = self.graph.tensors[self.input_tensor].shape
        spatial = image.shape[2:] if nchw else image.shape[1:3]
        channels = image.shape[1] if nchw else image.shape[3]
        if image.dim() != 4 or tuple(spatial) != tuple(expected[1:3]) or channels != expected[3]:
            layout = "(B, C, H, W)" if nchw else "(B, H, W, C)"
            raise ShapeError(
                "image", f"{layout} with H, W, C = {expected[1]}, {expected[2]}, {expected[3]}", str(tuple(image.shape))
            )
        env: dict[int, torch.Tensor] = {self.input_tensor: image if nchw else ops.to_nchw(image)}
        for position, node in enumerate(self.nodes):
            env[node.outputs[0]] = self._run(position, node, env)
        results = [env[i] for i in self.output_tensors]
        return results if nchw else [ops.to_nhwc(r) for r in results]

    def _run(self, position: int, node: OpNode, env: dict[int, torch.Tensor]) -> torch.Tensor:
        params = self._params[position]
        x = self._value(env, node.inputs[0])
        op = node.op
        if op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            bias = getattr(self, params["bias"]) if params["bias"] else None
            return ops.conv2d(x, getattr(self, params["weight"]), bias, params["opts"])
        if op == "MAX_POOL_2D":
            return ops.max_pool2d(x, node.options)
        if op == "AVERAGE_POOL_2D":
            return ops.average_pool2d(x, node.options)
        if op == "PAD":
            return x if params["folded"] else ops.pad(x, params["paddings"])
        if op == "RESHAPE":
            return ops.reshape(x, params["shape"])
        if op == "CONCATENATION":
            return ops.concatenation([self._value(env, i) for i in node.inputs], node.options)
        if op == "RESIZE_BILINEAR":
            return ops.resize_bilinear(x, params["size"], node.options)
        if op == "DEPTH_TO_SPACE":
            return ops.depth_to_space(x, int(node.options["BlockSize"]))
        if op in ("ADD", "MUL", "SUB"):
            fn = {"ADD": ops.ADD, "MUL": ops.MUL, "SUB": ops.SUB}[op]
            a_const, b_const = params["const"]
            return fn(x, self._value(env, node.inputs[1]), node.options, a_const, b_const)
        return ops.UNARY[op](x)
