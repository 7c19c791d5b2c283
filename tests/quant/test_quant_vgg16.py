# SPDX-License-Identifier: Apache-2.0
"""The VGG16 generator writes exactly Brevitas' QONNX layout, and the full model has VGG16's
shapes (slow)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from quant_helpers import MODELS_DIR, qonnx_integer_reference

from edgepool.ir import kernels as K
from edgepool.ir.qtype import QType, frac_from_scale
from edgepool.quant.models import LENET_DIGITS, VGG16
from edgepool.quant.vgg16 import (
    LayerParams,
    QuantParams,
    generate,
    qonnx_from_params,
    random_params,
)


def _attrs(n: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}


def _quant_params(m: onnx.ModelProto, n: onnx.NodeProto) -> QuantParams:
    c = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    a = _attrs(n)
    return QuantParams(int(c[n.input[3]]), frac_from_scale(float(c[n.input[1]].reshape(-1)[0]),
                                                           "q"),
                       bool(a["signed"]), bool(a["narrow"]))


def _params_from_export(m: onnx.ModelProto) -> tuple[QuantParams, list[LayerParams]]:
    """Integer parameters of a Brevitas QONNX export of a QuantCNN."""
    c = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    producer = {o: n for n in m.graph.node for o in n.output}
    nodes = list(m.graph.node)
    input_q = _quant_params(m, nodes[0])
    layers: list[LayerParams] = []
    for i, n in enumerate(nodes):
        if n.op_type not in ("Conv", "Gemm"):
            continue
        wn, bn = producer[n.input[1]], producer[n.input[2]]
        wq, bq = _quant_params(m, wn), _quant_params(m, bn)
        w = K.quantize(c[wn.input[0]], QType(wq.bits, True, wq.frac, wq.narrow))
        b = K.quantize(c[bn.input[0]], QType(bq.bits, True, bq.frac))
        act = None
        if i + 2 < len(nodes) and nodes[i + 1].op_type == "Relu":
            act = _quant_params(m, nodes[i + 2])
        layers.append(LayerParams(w, wq, b, bq.bits, act))
    return input_q, layers


def test_writer_matches_brevitas_export() -> None:
    ref = onnx.load(MODELS_DIR / "lenet-digits" / "lenet-digits.onnx")
    input_q, layers = _params_from_export(ref)
    gen = qonnx_from_params(LENET_DIGITS, (1, 1, 8, 8), input_q, layers)
    onnx.checker.check_model(gen)
    assert [n.op_type for n in gen.graph.node] == [n.op_type for n in ref.graph.node]
    assert [n.domain for n in gen.graph.node] == [n.domain for n in ref.graph.node]
    for a, b in zip(gen.graph.node, ref.graph.node, strict=True):
        assert _attrs(a) == _attrs(b), a.op_type
        if a.op_type == "Quant":
            assert _quant_params(gen, a) == _quant_params(ref, b)
    assert {(o.domain, o.version) for o in gen.opset_import} == {
        (o.domain, o.version) for o in ref.opset_import}
    x = np.random.default_rng(0).uniform(0, 1, (5, 1, 8, 8)).astype(np.float32)
    out_g, f_g = qonnx_integer_reference(gen, x)
    out_r, f_r = qonnx_integer_reference(ref, x)
    assert f_g == f_r
    np.testing.assert_array_equal(out_g, out_r)


def test_random_params_deterministic() -> None:
    a = random_params(LENET_DIGITS, (1, 1, 8, 8), 8, seed=0)
    b = random_params(LENET_DIGITS, (1, 1, 8, 8), 8, seed=0)
    c = random_params(LENET_DIGITS, (1, 1, 8, 8), 8, seed=1)
    assert a[0] == b[0]
    for la, lb in zip(a[1], b[1], strict=True):
        np.testing.assert_array_equal(la.weight, lb.weight)
        np.testing.assert_array_equal(la.bias, lb.bias)
    assert not np.array_equal(a[1][0].weight, c[1][0].weight)
    for bits in (4, 16):
        _, layers = random_params(LENET_DIGITS, (1, 1, 8, 8), bits, seed=0)
        lim = (1 << (bits - 1)) - 1
        assert all(np.abs(lp.weight).max() <= lim for lp in layers)


@pytest.mark.slow
def test_vgg16_generator(tmp_path) -> None:
    path = generate(tmp_path / "vgg16.onnx", bits=8, seed=0)
    m = onnx.load(path)
    onnx.checker.check_model(str(path))
    g = m.graph
    ops = [n.op_type for n in g.node]
    assert ops.count("Conv") == 13 and ops.count("MaxPool") == 5 and ops.count("Gemm") == 3
    assert [d.dim_value for d in g.input[0].type.tensor_type.shape.dim] == [1, 3, 224, 224]
    assert [d.dim_value for d in g.output[0].type.tensor_type.shape.dim] == [1, 1000]
    inits = {i.name: tuple(i.dims) for i in g.initializer}
    weights = [inits[n.input[0]] for n in g.node
               if n.op_type == "Quant" and n.input[0].endswith(".weight")]
    expected = []
    c = 3
    for kind, arg in VGG16:
        if kind == "conv":
            expected.append((arg[0], c, 3, 3))
            c = arg[0]
    expected += [(4096, 512 * 7 * 7), (4096, 4096), (1000, 4096)]
    assert weights == expected
    n_params = sum(int(np.prod(s)) for s in inits.values() if len(s) >= 1 and s != (1,))
    assert n_params == 138_357_544
    x = np.random.default_rng(1).uniform(0, 1, (1, 3, 224, 224)).astype(np.float32)
    out, frac = qonnx_integer_reference(m, x)
    assert out.shape == (1, 1000) and len(np.unique(out)) > 900   # not saturated / degenerate
