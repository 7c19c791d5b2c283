# SPDX-License-Identifier: Apache-2.0
"""Brevitas's bnn_pynq example networks for tests: build with random weights and random
batch-norm affines (some scales negative), calibrate the statistics, export to QONNX; and the
integer middle of an imported network as an accelerator program (the float input transform and
the float head stay on the host)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edgepool.accel.lower import lower_chain
from edgepool.accel.program import HwProgram
from edgepool.ir.graph import Graph
from edgepool.passes.pipelines import lower
from edgepool.quant.export import export_qonnx

MNIST = Path(__file__).resolve().parents[1] / "models" / "lenet-mnist" / "test.npz"


def bnn_data(name: str, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(calibration batch, test batch) for a network."""
    g = torch.Generator().manual_seed(seed)
    if name.startswith("cnv"):
        return torch.rand((32, 3, 32, 32), generator=g), torch.rand((6, 3, 32, 32), generator=g)
    with np.load(MNIST) as t:
        x = torch.from_numpy(t["x"][:96])
    return x[:64], x[64:76]


def export_bnn(name: str, root: Path):
    """``(model, qonnx path, test batch)`` of network ``name`` (e.g. ``"tfc_1w1a"``)."""
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    torch.manual_seed(0)
    model, _ = model_with_cfg(name, pretrained=False)
    calib, test = bnn_data(name, 1)
    # random affine batch-norm parameters, some scales negative (the chain then decreases:
    # thresholds on −acc), then calibrated statistics
    for mod in model.modules():
        if isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)) or \
                type(mod).__name__ == "TensorNorm":
            with torch.no_grad():
                mod.weight.uniform_(-1.5, 1.5)
                mod.bias.uniform_(-0.5, 0.5)
    model.train()
    with torch.no_grad():
        for chunk in calib.split(16):
            model(chunk)
    model.eval()
    path = export_qonnx(model, Path(root) / f"{name}.onnx", (1,) + tuple(test.shape[1:]))
    return model, path, test


def integer_middle(g: Graph, x: np.ndarray) -> tuple[HwProgram, np.ndarray, np.ndarray]:
    """``(program, codes in (N, H, W, C), accumulators out (N, H, W, C))`` of the integer chain
    of an imported bnn_pynq graph ``g`` between its input quantizer and its float head, the
    expected values by the golden interpreter on ``x``."""
    gl = lower(g, "fabric")
    quant = next(n for n in gl.nodes if n.op == "Quant")
    head = gl.producer(gl.outputs[0])
    program = HwProgram(g.name, tuple(lower_chain(gl, quant.outputs[0], head.inputs[0])))
    env = g.run(x, keep_all=True)
    src = next(n for n in g.nodes if n.op == "Quant").outputs[0]
    codes, want = env[src], env[g.producer(g.outputs[0]).inputs[0]]

    def hwc(a: np.ndarray, shape) -> np.ndarray:
        a = np.moveaxis(a, 1, -1) if a.ndim == 4 else a
        return np.asarray(a, np.int64).reshape((len(x),) + tuple(shape))
    return program, hwc(codes, program.in_shape), hwc(want, program.out_shape)
