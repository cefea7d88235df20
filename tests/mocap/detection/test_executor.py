"""The torch TFLite executor: operators on known answers, and parity with MediaPipe's interpreter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mocap.detection import torch_ops
from mocap.detection.executor import TfliteExecutor
from mocap.detection.tflite_model import read_tflite
from mocap.detection.tflite_reference import ReferenceInterpreter, mediapipe_available
from mocap.errors import FileFormatError, ShapeError


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "expected"),
    [
        (224, 3, 2, (0, 1)),
        (225, 3, 2, (1, 1)),
        (112, 3, 1, (1, 1)),
        (64, 5, 1, (2, 2)),
        (7, 1, 1, (0, 0)),
        (8, 2, 2, (0, 0)),
    ],
)
def test_same_padding_follows_tflite(size, kernel, stride, expected):
    assert torch_ops.same_padding(size, kernel, stride, 1) == expected
    before, after = expected
    assert (size + before + after - kernel) // stride + 1 == -(-size // stride)


def test_depth_to_space_uses_tensorflow_channel_order():
    # NHWC (1, 1, 1, 8): block 2 -> (1, 2, 2, 2); TF puts channel (i*2 + j)*2 + c at (i, j, c).
    nhwc = torch.arange(8.0).reshape(1, 1, 1, 8)
    out = torch_ops.to_nhwc(torch_ops.depth_to_space(torch_ops.to_nchw(nhwc), 2))
    expected = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]], [[4.0, 5.0], [6.0, 7.0]]]])
    assert torch.equal(out, expected)


def test_reshape_and_concat_keep_tflite_element_order():
    nhwc = torch.arange(2 * 2 * 3 * 4.0).reshape(2, 2, 3, 4)
    out = torch_ops.reshape(torch_ops.to_nchw(nhwc), (1, -1, 2))
    assert torch.equal(out, nhwc.reshape(2, -1, 2))
    cat = torch_ops.concatenation([torch_ops.to_nchw(nhwc)] * 2, {"Axis": 3, "FusedActivationFunction": 0})
    assert torch.equal(torch_ops.to_nhwc(cat), torch.cat([nhwc, nhwc], dim=3))


def test_max_pool_same_padding_ignores_the_pad():
    x = -torch.ones(1, 1, 3, 3)
    out = torch_ops.max_pool2d(
        x, {"Padding": torch_ops.SAME, "StrideH": 2, "StrideW": 2, "FilterHeight": 2, "FilterWidth": 2}
    )
    assert torch.equal(out, -torch.ones(1, 1, 2, 2))  # a zero pad would have given 0


def test_graphs_load_with_folded_constants(detection_graph, landmark_graph):
    assert detection_graph.folded == {"DEQUANTIZE": 144, "DENSIFY": 38}
    assert landmark_graph.folded["DEQUANTIZE"] == 192
    for graph in (detection_graph, landmark_graph):
        assert "DEQUANTIZE" not in graph.operator_counts and "DENSIFY" not in graph.operator_counts
        assert all(v.dtype in (np.float32, np.int32) for v in graph.constants.values())
    assert set(detection_graph.operator_counts) == {
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "ADD",
        "PAD",
        "RESHAPE",
        "DEPTH_TO_SPACE",
        "RESIZE_BILINEAR",
        "CONCATENATION",
    }
    assert detection_graph.input_shape() == (1, 224, 224, 3)
    assert landmark_graph.input_shape() == (1, 256, 256, 3)


def test_batches_of_any_size_give_the_per_image_results(detection_graph):
    executor = TfliteExecutor(detection_graph).eval()
    images = torch.rand(3, 224, 224, 3, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.inference_mode():
        batch = executor(images)
        single = [executor(images[i : i + 1]) for i in range(3)]
    for k in range(2):
        stacked = torch.cat([s[k] for s in single])
        assert batch[k].shape == (3, *detection_graph.tensors[detection_graph.outputs[k]].shape[1:])
        torch.testing.assert_close(batch[k], stacked, rtol=1e-4, atol=1e-3)


@pytest.mark.slow
def test_fp16_agrees_with_fp32(landmark_graph):
    executor = TfliteExecutor(landmark_graph, ["Identity", "Identity_1"]).eval()
    image = torch.rand(1, 256, 256, 3, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        full = executor(image)[0]
        half = executor.to(dtype=torch.float16)(image.half())[0].float()
    shift = (half - full).reshape(39, 5)[:, :2].norm(dim=-1)  # crop pixels (of 256)
    assert float(shift.median()) < 0.5
    assert float(shift.max()) < 3.0  # on noise, not a person: the end-to-end check is in test_blazepose


def test_pruned_executor_drops_the_unused_heads(landmark_graph):
    full = TfliteExecutor(landmark_graph)
    pruned = TfliteExecutor(landmark_graph, ["Identity", "Identity_1", "Identity_3"])
    assert len(pruned.nodes) < len(full.nodes)
    with pytest.raises(ShapeError, match="Identity_9"):
        TfliteExecutor(landmark_graph, ["Identity_9"])


def test_wrong_input_shape_is_one_line(detection_graph):
    executor = TfliteExecutor(detection_graph)
    with pytest.raises(ShapeError, match="224"):
        executor(torch.zeros(1, 256, 256, 3))


def test_corrupt_or_truncated_tflite_is_a_one_line_error(tmp_path, detection_graph):
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(FileFormatError, match=r"not a TFLite model.*reinstall mediapipe==0\.10\.14"):
        read_tflite(garbage)
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes(detection_graph.path.read_bytes()[:20000])
    with pytest.raises(FileFormatError, match="reinstall mediapipe") as info:
        read_tflite(truncated)
    assert "\n" not in str(info.value)


@pytest.mark.realdata
@pytest.mark.skipif(not mediapipe_available(), reason="the reference interpreter is the one inside mediapipe")
@pytest.mark.parametrize("which", ["detection", "landmark"])
def test_raw_outputs_match_mediapipes_tflite_interpreter(which, detection_graph, landmark_graph, real_images, capsys):
    import cv2

    graph, value_range = (detection_graph, (-1.0, 1.0)) if which == "detection" else (landmark_graph, (0.0, 1.0))
    reference = ReferenceInterpreter(graph, value_range)
    executor = TfliteExecutor(graph).eval()
    side = reference.size[0]
    worst = 0.0
    for image in real_images.values():
        rgb = np.ascontiguousarray(cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)[:, :, ::-1])
        expected = reference.run(rgb)
        with torch.inference_mode():
            ours = executor(torch.from_numpy(reference.input_tensor(rgb)))
        for name, a, b in zip(executor.output_names, ours, expected, strict=True):
            relative = float(np.abs(a.numpy() - b).max() / max(np.abs(b).max(), 1e-12))
            worst = max(worst, relative)
            assert relative < 1e-3, f"{graph.path.name} {name}: {relative:.2e}"
    with capsys.disabled():
        print(
            f"\n[detection] {graph.path.name}: max|ours - tflite| / max|tflite| <= {worst:.1e}, "
            f"{len(real_images)} images"
        )
