"""The reference TFLite interpreter: the one inside the installed ``mediapipe`` package.

MediaPipe's Python wheel does not expose a bare interpreter, but its calculator graph does run
any ``.tflite`` file: ``ImageToTensorCalculator`` (an identity warp when the image already has
the model's input size) -> ``InferenceCalculator`` (TFLite with the XNNPACK delegate, as in
MediaPipe's own pose graphs) -> one ``TensorsToFloatsCalculator`` per output. Parity tests and
the benchmark compare our torch executor with these raw outputs on the same uint8 image; the
input tensor is ``pixel * (high - low) / 255 + low`` on both sides.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mocap.detection.tflite_model import TfliteGraph
from mocap.errors import MissingFileError, ShapeError


def mediapipe_available() -> bool:
    """True when the ``mediapipe`` package can be imported."""
    import importlib.util

    return importlib.util.find_spec("mediapipe") is not None


def _graph_config(model: Path, size: tuple[int, int], value_range: tuple[float, float], count: int) -> str:
    outputs = "\n".join(f'output_stream: "out{i}"' for i in range(count))
    split = "\n".join(f'  output_stream: "t{i}"' for i in range(count))
    ranges = "\n".join(f"      ranges: {{ begin: {i} end: {i + 1} }}" for i in range(count))
    floats = "\n".join(
        f'node {{ calculator: "TensorsToFloatsCalculator" '
        f'input_stream: "TENSORS:t{i}" output_stream: "FLOATS:out{i}" }}'
        for i in range(count)
    )
    return f"""
input_stream: "image"
{outputs}
node {{
  calculator: "ImageToTensorCalculator"
  input_stream: "IMAGE:image"
  output_stream: "TENSORS:input_tensors"
  options {{ [mediapipe.ImageToTensorCalculatorOptions.ext] {{
    output_tensor_width: {size[0]} output_tensor_height: {size[1]} keep_aspect_ratio: false
    output_tensor_float_range {{ min: {value_range[0]} max: {value_range[1]} }} }} }}
}}
node {{
  calculator: "InferenceCalculator"
  input_stream: "TENSORS:input_tensors"
  output_stream: "TENSORS:output_tensors"
  options {{ [mediapipe.InferenceCalculatorOptions.ext] {{ model_path: "{model}" delegate {{ xnnpack {{}} }} }} }}
}}
node {{
  calculator: "SplitTensorVectorCalculator"
  input_stream: "output_tensors"
{split}
  options {{ [mediapipe.SplitVectorCalculatorOptions.ext] {{
{ranges}
  }} }}
}}
{floats}
"""


class ReferenceInterpreter:
    """Runs one ``.tflite`` model through MediaPipe's TFLite interpreter.

    Args:
        graph: the parsed model (for its path, input size and output shapes).
        value_range: the float range uint8 pixels map to (``(-1, 1)`` for pose detection,
            ``(0, 1)`` for pose landmarks).

    Raises:
        MissingFileError: mediapipe is not installed (says what to install).
    """

    def __init__(self, graph: TfliteGraph, value_range: tuple[float, float]) -> None:
        if not mediapipe_available():
            raise MissingFileError("the reference interpreter needs mediapipe: pip install mediapipe==0.10.14")
        self.graph = graph
        _, height, width, _ = graph.input_shape()
        self.size = (int(width), int(height))
        self.value_range = value_range
        self.output_shapes = [graph.tensors[i].shape for i in graph.outputs]
        self._config = _graph_config(graph.path.resolve(), self.size, value_range, len(self.output_shapes))

    def input_tensor(self, image_rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
        """(1, H, W, 3) float32: the exact tensor the reference feeds the model for ``image_rgb``."""
        low, high = self.value_range
        scale = np.float32((high - low) / 255.0)
        return (image_rgb.astype(np.float32) * scale + np.float32(low))[None]

    def run(self, image_rgb: NDArray[np.uint8]) -> list[NDArray[np.float32]]:
        """Raw model outputs for one RGB uint8 image of the model's input size.

        Returns:
            One array per graph output, in TFLite shape (batch 1).
        """
        from mediapipe.python import packet_creator, packet_getter
        from mediapipe.python._framework_bindings import calculator_graph, image_frame

        if image_rgb.shape != (self.size[1], self.size[0], 3) or image_rgb.dtype != np.uint8:
            raise ShapeError(
                "image_rgb", f"({self.size[1]}, {self.size[0]}, 3) uint8", f"{image_rgb.shape} {image_rgb.dtype}"
            )
        graph = calculator_graph.CalculatorGraph(graph_config=self._config)
        results: dict[str, NDArray[np.float32]] = {}

        def keep(name: str, packet: Any) -> None:
            results[name] = np.asarray(packet_getter.get_float_list(packet), dtype=np.float32)

        for i in range(len(self.output_shapes)):
            graph.observe_output_stream(f"out{i}", keep)
        graph.start_run()
        frame = packet_creator.create_image_frame(
            image_format=image_frame.ImageFormat.SRGB, data=np.ascontiguousarray(image_rgb)
        )
        graph.add_packet_to_input_stream("image", frame.at(0))
        graph.close()
        return [results[f"out{i}"].reshape(shape) for i, shape in enumerate(self.output_shapes)]
