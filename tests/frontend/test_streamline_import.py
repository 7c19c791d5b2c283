# SPDX-License-Identifier: Apache-2.0
"""Import of what issue 13's users bring, beyond bnn_pynq: per-channel float (non power-of-two)
weight scales, float activation scales, batch-norm after quantized layers, ReLU, a 1×1 class
conv with a global-average float head, Gemm with transB/alpha/beta on integers, integer-typed
inputs; the support check lists every offender."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

import edgepool
from edgepool.errors import UnsupportedOpError
from edgepool.quant.export import export_qonnx


class _FloatScaleNet(nn.Module):
    """Float scales everywhere; the All-Conv style head averages a 1×1 class conv."""

    def __init__(self):
        super().__init__()
        from brevitas.nn import QuantConv2d, QuantIdentity, QuantReLU
        from brevitas.quant import (
            Int8ActPerTensorFloat,
            Int8WeightPerChannelFloat,
            Uint8ActPerTensorFloat,
        )

        self.inp = QuantIdentity(act_quant=Int8ActPerTensorFloat)
        self.c1 = QuantConv2d(2, 8, 3, bias=False, weight_quant=Int8WeightPerChannelFloat,
                              weight_bit_width=4)
        self.bn1 = nn.BatchNorm2d(8)
        self.a1 = QuantReLU(act_quant=Uint8ActPerTensorFloat, bit_width=3)
        self.c2 = QuantConv2d(8, 6, 3, stride=2, bias=False,
                              weight_quant=Int8WeightPerChannelFloat, weight_bit_width=3)
        self.bn2 = nn.BatchNorm2d(6)
        self.a2 = QuantIdentity(act_quant=Int8ActPerTensorFloat, bit_width=2)
        self.c3 = QuantConv2d(6, 5, 1, bias=False, weight_quant=Int8WeightPerChannelFloat,
                              weight_bit_width=4)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = self.a1(self.bn1(self.c1(self.inp(x))))
        x = self.a2(self.bn2(self.c2(x)))
        return torch.flatten(self.gap(self.c3(x)), 1)


def test_float_scales_batchnorm_and_average_head(tmp_path):
    torch.manual_seed(3)
    m = _FloatScaleNet()
    with torch.no_grad():
        for bn in (m.bn1, m.bn2):
            bn.weight.uniform_(-2, 2)
            bn.bias.uniform_(-1, 1)
    m.train()
    with torch.no_grad():
        for _ in range(4):
            m(torch.randn(16, 2, 9, 9))
    m.eval()
    g = edgepool.load(export_qonnx(m, tmp_path / "f.onnx", (1, 2, 9, 9)))
    ops = g.ops()
    assert ops.count("Threshold") == 2 and "BatchNorm" not in ops and "Pool" not in ops, g
    head = [n for n in g.nodes if n.op == "Affine"]
    assert len(head) == 1 and head[0].attr("global_avg")
    # the scales are genuinely not powers of two
    s = float(m.a1.act_quant.scale())
    assert np.frexp(s)[0] != 0.5
    x = torch.randn(10, 2, 9, 9)
    codes = {}
    m64 = copy.deepcopy(m).double().eval()
    for name in ("inp", "a1", "a2"):
        def hook(_m, _i, out, name=name):
            codes[name] = (out.value / out.scale).numpy()
        getattr(m64, name).act_quant.register_forward_hook(hook)
    with torch.no_grad():
        m64(x.double())
        ref = m(x).numpy()
    env = g.run(x.numpy(), keep_all=True)
    for name, want in codes.items():
        got = [env[v] for v in env if v.startswith(f"/{name}/act_quant/")]
        assert len(got) == 1 and np.array_equal(got[0], want), name
    y = env[g.outputs[0]]
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
    assert np.array_equal(y.argmax(1), ref.argmax(1))


def _qonnx_model(nodes, inputs, outputs, inits):
    g = helper.make_graph(nodes, "t", inputs, outputs,
                          [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                               helper.make_opsetid("qonnx.custom_op.general", 1)])


def test_gemm_trans_alpha_beta_on_uint8_codes():
    """uint8 input codes · 4-bit weights (transB), then alpha·acc + beta·C in float64."""
    rng = np.random.default_rng(0)
    w = rng.uniform(-1, 1, (3, 6)).astype(np.float32)          # (N, K): transB=1
    c = rng.uniform(-1, 1, (3,)).astype(np.float32)
    inits = {"w": w, "s": np.float32(0.125), "z": np.float32(0), "b": np.float32(4), "c": c}
    nodes = [helper.make_node("Quant", ["w", "s", "z", "b"], ["wq"], domain="qonnx.custom_op."
                              "general", signed=1, narrow=1, name="wq"),
             helper.make_node("Gemm", ["x", "wq", "c"], ["y"], transB=1, alpha=0.5, beta=2.0,
                              name="fc")]
    m = _qonnx_model(nodes, [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 6])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], inits)
    g = edgepool.load(m)
    assert str(g.values["x"].type) == "u8.0"
    x = rng.integers(0, 256, (7, 6)).astype(np.uint8)
    wq = np.clip(np.round(w.astype(np.float64) * 8), -7, 7) / 8
    ref = 0.5 * (x.astype(np.float64) @ wq.T) + 2.0 * c.astype(np.float64)
    y = g.run(x)
    assert y.dtype == np.float32
    assert np.array_equal(y, ref.astype(np.float32))


def test_every_offender_listed():
    inits = {"k": np.float32(2.0), "p": np.float32(0.5), "w": np.ones((4, 4), np.float32)}
    nodes = [helper.make_node("Pow", ["x", "p"], ["a"], name="pow_x"),
             helper.make_node("Sqrt", ["x"], ["b"], name="sqrt_x"),
             helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0], name="tr_x"),
             helper.make_node("Erf", ["x"], ["e"], name="erf_x"),
             helper.make_node("Mul", ["x", "k"], ["y"], name="fine")]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in "abtey"]
    m = _qonnx_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])],
                     outs, inits)
    with pytest.raises(UnsupportedOpError) as e:
        edgepool.load(m)
    text = str(e.value)
    for name in ("pow_x", "sqrt_x", "tr_x", "erf_x"):
        assert name in text
    assert "fine" not in text and len(e.value.problems) == 4


def test_float_host_ops_match_onnxruntime():
    """Constant Mul/Sub/Div, BatchNormalization on a float input and Clip (HardTanh) stay float
    host ops when no quantizer follows: they equal onnxruntime."""
    import onnxruntime as ort

    rng = np.random.default_rng(1)
    c = 4
    inits = {"k": np.float32(2.0), "one": np.array([1.0], np.float32),
             "d": rng.uniform(0.5, 2, (1, c, 1, 1)).astype(np.float32),
             "g": rng.uniform(-2, 2, c).astype(np.float32),
             "bb": rng.uniform(-1, 1, c).astype(np.float32),
             "mu": rng.uniform(-1, 1, c).astype(np.float32),
             "var": rng.uniform(0, 2, c).astype(np.float32),
             "lo": np.float32(-1.0), "hi": np.float32(1.0)}
    nodes = [helper.make_node("Mul", ["k", "x"], ["a"]),
             helper.make_node("Sub", ["a", "one"], ["b"]),
             helper.make_node("Div", ["b", "d"], ["e"]),
             helper.make_node("BatchNormalization", ["e", "g", "bb", "mu", "var"], ["f"],
                              epsilon=1e-3),
             helper.make_node("Clip", ["f", "lo", "hi"], ["y"])]
    m = _qonnx_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                           [1, c, 3, 3])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, 3, 3])],
                     inits)
    m.opset_import.pop()                      # plain ONNX: no QONNX domain needed
    x = rng.uniform(0, 1, (1, c, 3, 3)).astype(np.float32)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {"x": x})[0]
    y = edgepool.load(m).run(x)
    np.testing.assert_allclose(y, ref, rtol=1e-6, atol=1e-6)
    assert np.abs(ref).max() == 1.0           # the clip is active
