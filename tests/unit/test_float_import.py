# SPDX-License-Identifier: Apache-2.0
"""Float ONNX import equals onnxruntime (≤ 1e-5 relative) on conv, every pooling attribute
combination the ONNX spec defines, and Gemm."""

import itertools

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgepool

OPSET = 19


def _model(node, x_shape, inits=(), out_shape=None):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)
    g = helper.make_graph([node], "t", [x], [y], list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 9
    return m


def _compare(m, x):
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {"x": x})[0]
    out = edgepool.load(m).run(x)
    assert out.shape == ref.shape, (out.shape, ref.shape)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


POOL_CASES = [
    dict(kernel_shape=k, strides=s, pads=p, ceil_mode=cm)
    for k, s, p, cm in itertools.product([[1, 1], [2, 2], [3, 3], [3, 2]], [[1, 1], [2, 2], [3, 1]],
                                         [[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 0, 1]], [0, 1])
    if max(p) <= min(k) // 2 or max(p) == 0
]


# onnxruntime's LpPool has no ceil_mode: LpPool is compared on the floor-mode cases only
CASES = [("MaxPool", a) for a in POOL_CASES] + [("AveragePool", a) for a in POOL_CASES] + [
    ("LpPool", {**{k: v for k, v in a.items() if k != "ceil_mode"}, "p": 2})
    for a in POOL_CASES if not a["ceil_mode"]]


@pytest.mark.parametrize("op,attrs", CASES, ids=str)
def test_pool_explicit(op, attrs):
    x = np.random.default_rng(0).standard_normal((1, 3, 7, 8)).astype(np.float32)
    for extra in ([{}] if op != "AveragePool" else [{"count_include_pad": 0},
                                                     {"count_include_pad": 1}]):
        _compare(_model(helper.make_node(op, ["x"], ["y"], **attrs, **extra), x.shape), x)


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("op", ["MaxPool", "AveragePool", "Conv"])
@pytest.mark.parametrize("k,s", [(3, 1), (3, 2), (2, 2), (4, 3)])
def test_auto_pad(op, auto_pad, k, s):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 9, 6)).astype(np.float32)
    inits = []
    inputs = ["x"]
    if op == "Conv":
        inits = [numpy_helper.from_array(rng.standard_normal((3, 2, k, k)).astype(np.float32), "w")]
        inputs.append("w")
    node = helper.make_node(op, inputs, ["y"], kernel_shape=[k, k], strides=[s, s],
                            auto_pad=auto_pad)
    _compare(_model(node, x.shape, inits), x)


@pytest.mark.parametrize("dil", [[1, 1], [2, 2], [2, 1]])
@pytest.mark.parametrize("cm", [0, 1])
def test_maxpool_dilation(dil, cm):
    x = np.random.default_rng(2).standard_normal((1, 2, 9, 10)).astype(np.float32)
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 1],
                            pads=[1, 1, 1, 0], dilations=dil, ceil_mode=cm)
    _compare(_model(node, x.shape), x)


@pytest.mark.parametrize("op", ["GlobalMaxPool", "GlobalAveragePool", "GlobalLpPool"])
def test_global_pool(op):
    x = np.random.default_rng(3).standard_normal((1, 4, 5, 3)).astype(np.float32)
    _compare(_model(helper.make_node(op, ["x"], ["y"]), x.shape), x)


@pytest.mark.parametrize("group,dil,stride,pads", [
    (1, 1, 1, [0, 0, 0, 0]), (1, 2, 1, [2, 2, 2, 2]), (2, 1, 2, [1, 0, 1, 2]),
    (4, 1, 1, [1, 1, 1, 1]),  # depthwise
    (1, 1, 3, [0, 0, 0, 0]),  # kernel == stride
])
def test_conv(group, dil, stride, pads):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 4, 11, 9)).astype(np.float32)
    w = rng.standard_normal((8, 4 // group, 3, 3)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], group=group, dilations=[dil, dil],
                            strides=[stride, stride], pads=pads)
    _compare(_model(node, x.shape, [numpy_helper.from_array(w, "w"),
                                    numpy_helper.from_array(b, "b")]), x)


@pytest.mark.parametrize("trans_b,alpha,beta", [(0, 1.0, 1.0), (1, 0.5, 2.0)])
def test_gemm(trans_b, alpha, beta):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 20)).astype(np.float32)
    w = rng.standard_normal((7, 20) if trans_b else (20, 7)).astype(np.float32)
    c = rng.standard_normal(7).astype(np.float32)
    node = helper.make_node("Gemm", ["x", "w", "c"], ["y"], transB=trans_b, alpha=alpha,
                            beta=beta)
    _compare(_model(node, x.shape, [numpy_helper.from_array(w, "w"),
                                    numpy_helper.from_array(c, "c")]), x)


def test_conv_batchnorm_folded():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((1, 3, 6, 6)).astype(np.float32)
    inits = [numpy_helper.from_array(rng.standard_normal((5, 3, 3, 3)).astype(np.float32), "w")]
    for n, v in (("g", rng.random(5) + 0.5), ("be", rng.standard_normal(5)),
                 ("mu", rng.standard_normal(5)), ("var", rng.random(5) + 0.1)):
        inits.append(numpy_helper.from_array(v.astype(np.float32), n))
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["y"]),
             ]
    xi = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))
    yi = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    m = helper.make_model(helper.make_graph(nodes, "bn", [xi], [yi], inits),
                          opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 9
    g = edgepool.load(m)
    assert "BatchNormalization" not in g.ops() and g.ops() == ["Conv"]
    _compare(m, x)
