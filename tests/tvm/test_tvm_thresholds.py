# SPDX-License-Identifier: Apache-2.0
"""Thresholds, float-scale and bipolar quantizers, float host ops and float heads through the IR →
Relax import, compiled with TVM's LLVM backend for the host: equal to the golden interpreter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import edgepool
from edgepool.quant.export import export_qonnx
from edgepool.toolchain import REPO_ROOT
from edgepool.tvm import relax_import as ri

pytestmark = pytest.mark.tvm


def _bnn(name: str, tmp_path, shape):
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    torch.manual_seed(0)
    m, _ = model_with_cfg(name, pretrained=False)
    for mod in m.modules():
        if isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            with torch.no_grad():
                mod.weight.uniform_(-1.5, 1.5)
                mod.bias.uniform_(-0.5, 0.5)
    m.train()
    with torch.no_grad():
        for _ in range(2):
            m(torch.rand((16,) + shape[1:]))
    return edgepool.load(export_qonnx(m, tmp_path / f"{name}.onnx", shape))


@pytest.mark.parametrize("name,shape", [("tfc_1w1a", (1, 1, 28, 28)),
                                        ("sfc_2w2a", (1, 1, 28, 28)),
                                        ("cnv_1w2a", (1, 3, 32, 32))])
def test_bnn_pynq_through_relax(name, shape, tmp_path):
    g = _bnn(name, tmp_path, shape)
    assert "Threshold" in g.ops()
    if name.startswith("cnv"):
        x = np.random.default_rng(0).uniform(0, 1, (3,) + shape[1:]).astype(np.float32)
    else:
        with np.load(REPO_ROOT / "models" / "lenet-mnist" / "test.npz") as t:
            x = t["x"][:20]
    got = ri.run_vm(ri.build_x86(ri.graph_to_relax(g)), x)[0]
    want = g.run(x)
    assert got.dtype == want.dtype == np.float32
    assert np.array_equal(got, want), np.abs(got - want).max()


def test_float_scales_and_average_head_through_relax(tmp_path):
    """Per-channel float weight scales, float activation scales (input Quant with a float
    scale), batch-norm with negative scales, a global-average float head."""
    from brevitas.nn import QuantConv2d, QuantIdentity
    from brevitas.quant import Int8ActPerTensorFloat, Int8WeightPerChannelFloat
    from torch import nn

    torch.manual_seed(1)
    m = nn.Sequential(
        QuantIdentity(act_quant=Int8ActPerTensorFloat),
        QuantConv2d(3, 6, 3, bias=False, weight_quant=Int8WeightPerChannelFloat,
                    weight_bit_width=4),
        nn.BatchNorm2d(6),
        QuantIdentity(act_quant=Int8ActPerTensorFloat, bit_width=3),
        QuantConv2d(6, 4, 1, bias=False, weight_quant=Int8WeightPerChannelFloat,
                    weight_bit_width=4),
        nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with torch.no_grad():
        m[2].weight.uniform_(-2, 2)
    m.train()
    with torch.no_grad():
        for _ in range(3):
            m(torch.randn(16, 3, 8, 8))
    m.eval()
    g = edgepool.load(export_qonnx(m, tmp_path / "f.onnx", (1, 3, 8, 8)))
    assert {"Threshold", "Affine"} <= set(g.ops())
    x = np.random.default_rng(2).normal(0, 1, (6, 3, 8, 8)).astype(np.float32)
    got = ri.run_vm(ri.build_x86(ri.graph_to_relax(g)), x)[0]
    want = g.run(x)
    # the head's float64 mean may round differently in its last bit: float32 within 1 ulp
    np.testing.assert_allclose(got, want, rtol=2 ** -23, atol=0)


@pytest.mark.aarch64
@pytest.mark.slow    # measured 26–60 s here (the aarch64 TVM build), on the shared 2-core machine
def test_cortex_a53_build_of_tfc_runs_bit_exact(tmp_path):
    """A bnn_pynq MLP builds for cortex-a53 (the dense layers and thresholds offloaded to the
    NEON kernels, the float head and input glue compiled by TVM for aarch64) and runs under
    qemu equal to the interpreter."""
    from edgepool.build import build
    from edgepool.runtime.executors import run_build

    g = _bnn("tfc_1w1a", tmp_path, (1, 1, 28, 28))
    out = tmp_path / "build"
    build(tmp_path / "tfc_1w1a.onnx", "cortex-a53", out)
    with np.load(REPO_ROOT / "models" / "lenet-mnist" / "test.npz") as t:
        x = t["x"][:16]
    got = run_build(out, x, backend="neon")[g.outputs[0]]
    assert got.dtype == np.float32 and np.array_equal(got, g.run(x))


def test_thresholds_are_offloaded_to_neon(tmp_path):
    """BYOC takes every Threshold (ep_threshold_i32) next to the dense / conv layers; only glue
    stays in TVM."""
    from edgepool.tvm import byoc

    g = _bnn("tfc_1w2a", tmp_path, (1, 1, 28, 28))
    st = byoc.offload_stats(byoc.partition(ri.graph_to_relax(g)))
    assert st["composite_kinds"]["edgepool_neon.threshold"] == g.ops().count("Threshold") == 3
    assert "relax.sum" not in st["tvm_ops"] and "relax.expand_dims" not in st["tvm_ops"]
    _, _, src = byoc.offload(ri.graph_to_relax(g))
    assert src.count("ep_threshold_i32(") == 3
