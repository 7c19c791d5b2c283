# SPDX-License-Identifier: Apache-2.0
"""Brevitas's bnn_pynq example networks (FINN's CNV / SFC / TFC / LFC at 1–2 bits), exported to
QONNX and imported by edgepool: every quantized activation's integer codes equal Brevitas's
(evaluated in float64) and the float output equals the PyTorch forward within float32 rounding,
with the same argmax, on every test input.

Weights are random (the networks' own init), batch-norm scales and biases random (some scales
negative); batch-norm statistics are calibrated by a few
forward passes in train mode (MNIST images for the MLPs, random CIFAR-sized images for CNV).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from bnn_pynq import export_bnn

import edgepool
from edgepool.ir import serialize

NETWORKS = ["cnv_1w1a", "cnv_1w2a", "cnv_2w2a", "tfc_1w1a", "tfc_1w2a", "tfc_2w2a", "sfc_1w1a",
            "sfc_1w2a", "sfc_2w2a", "lfc_1w1a", "lfc_1w2a"]


@pytest.fixture(scope="session")
def bnn(tmp_path_factory):
    """Build, calibrate and export each network once per session."""
    cache: dict[str, tuple] = {}
    root = tmp_path_factory.mktemp("bnn_pynq")

    def get(name: str):
        if name not in cache:
            cache[name] = export_bnn(name, root)
        return cache[name]
    return get


def _brevitas_codes(model, x: torch.Tensor) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each activation quantizer's integer codes (float64 model: exact) and the float32 output."""
    codes: dict[str, np.ndarray] = {}
    m64 = copy.deepcopy(model).double().eval()
    def recorder(layer: str):
        def hook(_m, _i, out):
            v = (out.value / out.scale).numpy()
            assert np.array_equal(v, np.round(v)), layer
            codes[layer] = v.astype(np.int64)
        return hook

    for name, mod in m64.named_modules():
        if name.endswith("act_quant"):
            mod.register_forward_hook(recorder(name.removesuffix(".act_quant")))
    with torch.no_grad():
        m64(x.double())
        y32 = model(x).numpy()
    return codes, y32


@pytest.mark.parametrize("name", NETWORKS)
def test_bnn_pynq_network_exact(bnn, name, tmp_path):
    model, path, x = bnn(name)
    g = edgepool.load(path)
    ops = set(g.ops())
    # streamlined: no float op between layers, one float head at the end
    assert "Threshold" in ops and not ops & {"BatchNorm", "Div", "Clip"}, g
    assert [n.op for n in g.nodes].count("Affine") == 1 and g.nodes[-1].op == "Affine"
    ref_codes, ref_y = _brevitas_codes(model, x)
    env = g.run(x.numpy(), keep_all=True)
    assert len(ref_codes) >= 4
    flips = [n for n in g.nodes if n.op == "Threshold" and len(n.inputs) > 2]
    assert flips, "no negative batch-norm scale was exercised"
    for layer, want in ref_codes.items():
        names = [v for v in env if v.startswith(f"/{layer}/act_quant/")]
        assert len(names) == 1, (layer, names)
        got = env[names[0]]
        assert got.shape == want.shape and np.array_equal(got, want), (
            f"{name} {layer}: {(got != want).sum()} codes differ")
    y = env[g.outputs[0]]
    assert y.dtype == np.float32
    tol = 8 * np.finfo(np.float32).eps * np.abs(ref_y).max(axis=1, keepdims=True)
    assert np.all(np.abs(y - ref_y) <= tol), np.abs(y - ref_y).max()
    assert np.array_equal(y.argmax(axis=1), ref_y.argmax(axis=1))
    # the streamlined graph survives an IR checkpoint (thresholds, directions, float64 head)
    back = serialize.load(serialize.save(g, tmp_path / "ckpt.onnx"))
    assert str(back) == str(g)
    assert np.array_equal(back.run(x.numpy()[:2]), y[:2])
