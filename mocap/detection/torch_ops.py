"""TFLite builtin operators as torch functions on NCHW tensors.

Layout rule (applied here, once): every 4-D activation lives in torch's NCHW order; tensors of
other ranks keep TFLite's order. An operator whose semantics depend on the layout (RESHAPE,
CONCATENATION's axis, PAD's paddings, broadcasting a constant) converts at its boundary, so the
graph stays NCHW from input to output and only the graph outputs go back to NHWC.

Padding follows TFLite exactly: ``VALID`` pads nothing; ``SAME`` gives ``out = ceil(in / stride)``
and pads ``total = max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0)`` with
``total // 2`` before and the rest after (asymmetric when odd, e.g. stride 2 on an even size).
Max pooling pads with ``-inf`` (padded cells never win), as TFLite ignores them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from mocap.detection.tflite_model import OpNode
from mocap.errors import MocapError

SAME, VALID = 0, 1  # tflite.Padding
NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


class UnsupportedOperatorError(MocapError, NotImplementedError):
    """The model uses a TFLite operator (or option) that the torch executor does not implement."""


def to_nchw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2) if x.dim() == 4 else x


def to_nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1) if x.dim() == 4 else x


def activation(x: torch.Tensor, code: int) -> torch.Tensor:
    """A TFLite fused activation (``ActivationFunctionType``) applied to ``x`` in place (``x`` is
    always a fresh result of the operator it is fused to)."""
    if code == 0:
        return x
    if code == 1:
        return F.relu_(x)
    if code == 2:
        return x.clamp_(-1.0, 1.0)
    if code == 3:
        return x.clamp_(0.0, 6.0)
    if code == 4:
        return x.tanh_()
    raise UnsupportedOperatorError(f"fused activation {code} is not supported by the torch executor")


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite SAME padding ``(before, after)`` along one axis of length ``size``."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _pad_same(
    x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int], value: float = 0.0
) -> torch.Tensor:
    top, bottom = same_padding(x.shape[2], kernel[0], stride[0], dilation[0])
    left, right = same_padding(x.shape[3], kernel[1], stride[1], dilation[1])
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom), value=value)


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, opts: dict[str, Any]) -> torch.Tensor:
    """CONV_2D / DEPTHWISE_CONV_2D with the weight already in torch layout ``(O, I/groups, KH, KW)``."""
    stride = (int(opts["StrideH"]), int(opts["StrideW"]))
    dilation = (int(opts.get("DilationHFactor", 1)), int(opts.get("DilationWFactor", 1)))
    groups = int(opts.get("groups", 1))
    padding = (0, 0)
    if opts["Padding"] == SAME:
        top, bottom = same_padding(x.shape[2], weight.shape[2], stride[0], dilation[0])
        left, right = same_padding(x.shape[3], weight.shape[3], stride[1], dilation[1])
        if top == bottom and left == right:
            padding = (top, left)  # symmetric: let the convolution pad (no copy)
        else:
            x = F.pad(x, (left, right, top, bottom))
    elif opts["Padding"] == VALID:
        padding = opts.get("valid_padding", (0, 0))  # a preceding symmetric PAD folded in by the executor
    else:
        raise UnsupportedOperatorError(f"padding mode {opts['Padding']} is not supported")
    y = F.conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return activation(y, int(opts.get("FusedActivationFunction", 0)))


def max_pool2d(x: torch.Tensor, opts: dict[str, Any]) -> torch.Tensor:
    kernel = (int(opts["FilterHeight"]), int(opts["FilterWidth"]))
    stride = (int(opts["StrideH"]), int(opts["StrideW"]))
    if opts["Padding"] == SAME:
        x = _pad_same(x, kernel, stride, (1, 1), value=float("-inf"))
    return activation(F.max_pool2d(x, kernel, stride), int(opts.get("FusedActivationFunction", 0)))


def average_pool2d(x: torch.Tensor, opts: dict[str, Any]) -> torch.Tensor:
    kernel = (int(opts["FilterHeight"]), int(opts["FilterWidth"]))
    stride = (int(opts["StrideH"]), int(opts["StrideW"]))
    if opts["Padding"] == SAME:
        # TFLite averages over the cells inside the image only: divide by the count of real cells.
        ones = torch.ones_like(x[:1, :1])
        total = F.avg_pool2d(_pad_same(x, kernel, stride, (1, 1)), kernel, stride)
        count = F.avg_pool2d(_pad_same(ones, kernel, stride, (1, 1)), kernel, stride)
        return activation(total / count, int(opts.get("FusedActivationFunction", 0)))
    return activation(F.avg_pool2d(x, kernel, stride), int(opts.get("FusedActivationFunction", 0)))


def pad(x: torch.Tensor, paddings: Sequence[Sequence[int]]) -> torch.Tensor:
    """PAD with TFLite ``paddings`` (rank x 2, in TFLite axis order), zero fill."""
    if x.dim() == 4:
        (n0, n1), (h0, h1), (w0, w1), (c0, c1) = paddings
        if n0 or n1:
            raise UnsupportedOperatorError("PAD along the batch axis is not supported")
        return F.pad(x, (w0, w1, h0, h1, c0, c1))
    flat: list[int] = []
    for before, after in reversed(list(paddings)):
        flat += [int(before), int(after)]
    return F.pad(x, flat)


def reshape(x: torch.Tensor, target: Sequence[int]) -> torch.Tensor:
    """RESHAPE to TFLite shape ``target`` whose first axis is the batch (its size is taken from x)."""
    shape = [x.shape[0], *[int(s) for s in target[1:]]]
    y = to_nhwc(x).reshape(shape)
    return to_nchw(y)


def concatenation(xs: Sequence[torch.Tensor], opts: dict[str, Any]) -> torch.Tensor:
    rank = xs[0].dim()
    axis = int(opts["Axis"]) % rank
    if rank == 4:
        axis = NHWC_TO_NCHW_AXIS[axis]
    return activation(torch.cat(list(xs), dim=axis), int(opts.get("FusedActivationFunction", 0)))


def resize_bilinear(x: torch.Tensor, size: Sequence[int], opts: dict[str, Any]) -> torch.Tensor:
    align = bool(opts.get("AlignCorners", False))
    half = bool(opts.get("HalfPixelCenters", False))
    out = (int(size[0]), int(size[1]))
    if align:
        return F.interpolate(x, size=out, mode="bilinear", align_corners=True)
    if half:
        return F.interpolate(x, size=out, mode="bilinear", align_corners=False)
    # Legacy TFLite mode: source = destination * (in / out), no half-pixel shift.
    return _resize_legacy(x, out)


def _resize_legacy(x: torch.Tensor, out: tuple[int, int]) -> torch.Tensor:
    height, width = x.shape[2], x.shape[3]
    ys = torch.arange(out[0], device=x.device, dtype=torch.float32) * (height / out[0])
    xs = torch.arange(out[1], device=x.device, dtype=torch.float32) * (width / out[1])
    y0 = ys.floor().long().clamp(max=height - 1)
    x0 = xs.floor().long().clamp(max=width - 1)
    y1 = (y0 + 1).clamp(max=height - 1)
    x1 = (x0 + 1).clamp(max=width - 1)
    wy = (ys - y0.to(ys.dtype)).to(x.dtype)[:, None]
    wx = (xs - x0.to(xs.dtype)).to(x.dtype)[None, :]
    top = x[:, :, y0][:, :, :, x0] * (1 - wx) + x[:, :, y0][:, :, :, x1] * wx
    bottom = x[:, :, y1][:, :, :, x0] * (1 - wx) + x[:, :, y1][:, :, :, x1] * wx
    return top * (1 - wy) + bottom * wy


def depth_to_space(x: torch.Tensor, block: int) -> torch.Tensor:
    """DEPTH_TO_SPACE in TensorFlow's DCR order: channel ``(i * block + j) * C + c`` goes to
    ``(h * block + i, w * block + j, c)`` (torch's pixel_shuffle uses the other order)."""
    n, channels, height, width = x.shape
    c_out = channels // (block * block)
    y = x.reshape(n, block, block, c_out, height, width).permute(0, 3, 4, 1, 5, 2)
    return y.reshape(n, c_out, height * block, width * block)


def broadcast_constant(value: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """A constant operand of ADD/MUL laid out to broadcast against a (possibly NCHW) activation."""
    if other.dim() != 4 or value.dim() == 0:
        return value
    while value.dim() < 4:
        value = value.unsqueeze(0)
    return to_nchw(value)


def elementwise(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Callable[..., torch.Tensor]:
    def apply(a: torch.Tensor, b: torch.Tensor, opts: dict[str, Any], a_const: bool, b_const: bool) -> torch.Tensor:
        if a_const:
            a = broadcast_constant(a, b)
        if b_const:
            b = broadcast_constant(b, a)
        return activation(fn(a, b), int(opts.get("FusedActivationFunction", 0)))

    return apply


ADD = elementwise(torch.add)
MUL = elementwise(torch.mul)
SUB = elementwise(torch.sub)

UNARY: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "LOGISTIC": torch.sigmoid,
    "RELU": F.relu,
    "RELU6": lambda x: x.clamp(0.0, 6.0),
    "TANH": torch.tanh,
    "HARD_SWISH": F.hardswish,
}


def check_supported(node: OpNode) -> None:
    """Raise :class:`UnsupportedOperatorError` unless the executor implements ``node``."""
    known = {
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "MAX_POOL_2D",
        "AVERAGE_POOL_2D",
        "PAD",
        "RESHAPE",
        "CONCATENATION",
        "RESIZE_BILINEAR",
        "DEPTH_TO_SPACE",
        "ADD",
        "MUL",
        "SUB",
        *UNARY,
    }
    if node.op not in known:
        raise UnsupportedOperatorError(
            f"TFLite operator {node.op} is not implemented by the torch executor "
            f"(supported: {', '.join(sorted(known))})"
        )
