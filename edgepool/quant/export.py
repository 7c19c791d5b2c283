# SPDX-License-Identifier: Apache-2.0
"""Export trained Brevitas models (QONNX and QCDQ ONNX) and compute the reference integers.

Both exports use the TorchScript exporter (``dynamo=False``), initializers are *not* graph inputs,
the graph input is named ``input`` (float32 NCHW, batch 1) and the output ``logits``.

:func:`brevitas_int_outputs` is the reference the golden interpreter is compared against: the
integer value of the final accumulator (the logits have no output quantizer).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import QuantizationError
from ..ir.qtype import frac_from_scale

INPUT_NAME = "input"
OUTPUT_NAME = "logits"


def _export_kwargs() -> dict:
    return dict(dynamo=False, keep_initializers_as_inputs=False,
                input_names=[INPUT_NAME], output_names=[OUTPUT_NAME])


def _export(exporter, model: nn.Module, path: str | Path, input_shape: tuple[int, ...]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exporter(model, input_t=torch.zeros(tuple(input_shape), dtype=torch.float32),
                 export_path=str(path), **_export_kwargs())
    return path


def export_qonnx(model: nn.Module, path: str | Path, input_shape: tuple[int, ...]) -> Path:
    """Write ``model`` as QONNX (``Quant`` nodes, domain ``qonnx.custom_op.general``) to ``path``.

    ``input_shape`` is the full NCHW shape including the batch (e.g. ``(1, 1, 8, 8)``).
    The model is put in eval mode.
    """
    from brevitas.export import export_qonnx as exporter

    return _export(exporter, model, path, input_shape)


def export_qcdq(model: nn.Module, path: str | Path, input_shape: tuple[int, ...]) -> Path:
    """Write ``model`` as standard ONNX with QuantizeLinear / Clip / DequantizeLinear (QCDQ),
    runnable by onnxruntime. ``input_shape`` includes the batch."""
    from brevitas.export import export_onnx_qcdq as exporter

    return _export(exporter, model, path, input_shape)


def brevitas_quant_outputs(model: nn.Module, x: np.ndarray | torch.Tensor,
                           batch_size: int = 256) -> tuple[np.ndarray, int]:
    """Run ``model.forward_quant`` in float64 and return ``(ints, frac)``: the final accumulator as
    exact ``int64`` integers and its fraction bits (``real = ints * 2**-frac``).

    The model is evaluated on a float64 copy: with power-of-two scales every intermediate value is
    an exact binary fraction, and float64's 53-bit mantissa holds every accumulator of our models
    exactly (float32's 24 bits would not for 16-bit models), so ``value / scale`` is an integer.
    """
    import copy

    m = copy.deepcopy(model).double().eval()
    xt = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    outs: list[np.ndarray] = []
    frac: int | None = None
    with torch.no_grad():
        for i in range(0, xt.shape[0], batch_size):
            q = m.forward_quant(xt[i:i + batch_size])
            scale = float(q.scale.reshape(-1)[0])
            if q.scale.numel() != 1:
                raise QuantizationError("per-channel output scale is not supported")
            f = frac_from_scale(scale, "model output")
            if frac is not None and f != frac:
                raise QuantizationError(f"output scale changed between batches ({frac} vs {f})")
            frac = f
            v = q.value.numpy() * (2.0 ** f)
            ints = np.round(v)
            if not np.array_equal(ints, v):
                raise QuantizationError("model output is not an integer multiple of its scale")
            outs.append(ints.astype(np.int64))
    assert frac is not None
    return np.concatenate(outs), frac


def brevitas_int_outputs(model: nn.Module, x: np.ndarray | torch.Tensor) -> np.ndarray:
    """The Brevitas integer outputs of ``model`` on ``x`` (float32 NCHW): the final accumulator
    (``logits / scale``, exact) as ``int64`` of shape (N, classes), or (N, classes, H, W) for a
    model with a global-average float head (``float_head``: the logits are its mean). See
    :func:`brevitas_quant_outputs` for the fraction bits."""
    return brevitas_quant_outputs(model, x)[0]


def int_predictions(ints: np.ndarray) -> np.ndarray:
    """Class predictions from :func:`brevitas_quant_outputs` integers: the argmax over axis 1.
    A class *map* (N, classes, H, W) — the accumulator under a global-average float head — is
    summed over H×W first (the argmax of the exact sum is the argmax of the mean)."""
    ints = np.asarray(ints)
    if ints.ndim == 4:
        ints = ints.sum(axis=(2, 3))
    return ints.argmax(1)


def run_onnxruntime(path: str | Path, x: np.ndarray, batch_size: int = 1) -> np.ndarray:
    """Run an exported model (batch 1) with onnxruntime over every sample of ``x``; float32
    logits (N, classes)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    x = np.asarray(x, dtype=np.float32)
    return np.concatenate([sess.run(None, {name: x[i:i + batch_size]})[0]
                           for i in range(0, len(x), batch_size)])
