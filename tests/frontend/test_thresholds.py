# SPDX-License-Identifier: Apache-2.0
"""The Threshold op and the streamline pass: every accumulator value in range, enumerated, gives
exactly the code of the float chain evaluated in float64 (written out independently here)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgepool.errors import UnsupportedOpError, VerifyError
from edgepool.ir import kernels as K
from edgepool.ir import serialize
from edgepool.ir.graph import GraphBuilder, Node, Value
from edgepool.ir.ops import OPS, attrs_of
from edgepool.ir.qtype import FLOAT, QType
from edgepool.ir.verify import verify
from edgepool.passes.pipelines import run_phase


# --------------------------------------------------------------------------- helpers
class Chain:
    """Builds ``x (codes) → Affine(mul) → steps → Quant`` as an IR graph and, independently, its
    float64 reference."""

    def __init__(self, acc: QType, channels: int, mul):
        self.acc, self.c = acc, channels
        self.b = GraphBuilder("chain")
        self.b.add_value(Value("x", (1, channels), acc))
        self.b.inputs.append("x")
        self.mul = np.broadcast_to(np.asarray(mul, np.float64), (channels,)).copy()
        self.refs = [lambda v: v * 2.0 ** -acc.frac * self.mul]
        m = self.b.add_const("mul", self.mul)
        self.k = 0
        self.cur = self._node("Affine", ["x", m], {})

    def _node(self, op, inputs, attrs):
        self.k += 1
        out = f"v{self.k}"
        node = Node(f"n{self.k}_{op}", op, tuple(inputs), (out,), attrs)
        (shape, qt), = OPS[op].infer(node, [self.b.values[i] for i in inputs],
                                     [self.b.constants.get(i) for i in inputs])
        self.b.add_value(Value(out, shape, qt))
        self.b.add_node(node)
        return out

    def const(self, arr) -> str:
        return self.b.add_const(f"c{len(self.b.constants)}", np.asarray(arr, np.float32))

    def binary(self, op: str, c, const_first: bool = False) -> Chain:
        c32 = np.asarray(c, np.float32)
        name = self.const(c32)
        ins = [name, self.cur] if const_first else [self.cur, name]
        self.cur = self._node(op, ins, {})
        cc = c32.astype(np.float64)
        f = {"Mul": np.multiply, "Add": np.add, "Sub": np.subtract, "Div": np.divide}[op]
        self.refs.append((lambda v: f(cc, v)) if const_first else (lambda v: f(v, cc)))
        return self

    def bn(self, gamma, beta, mean, var, eps) -> Chain:
        ps = [np.broadcast_to(np.asarray(p, np.float32), (self.c,)).copy()
              for p in (gamma, beta, mean, var)]
        names = [self.const(p) for p in ps]
        self.cur = self._node("BatchNorm", [self.cur] + names, {"epsilon": float(eps)})
        g, b, m, v = (p.astype(np.float64) for p in ps)
        self.refs.append(lambda x: (x - m) / np.sqrt(v + np.float64(eps)) * g + b)
        return self

    def clip(self, lo, hi) -> Chain:
        self.cur = self._node("Clip", [self.cur], {"min": float(lo), "max": float(hi)})
        self.refs.append(lambda v: np.clip(v, lo, hi))
        return self

    def relu(self) -> Chain:
        self.cur = self._node("Relu", [self.cur], {})
        self.refs.append(lambda v: np.maximum(v, 0))
        return self

    def quant(self, out: QType, scale=None, bipolar: bool = False):
        ins = [self.cur]
        attrs = {"type": out}
        if bipolar:
            attrs["bipolar"] = True
        s64 = None
        if scale is not None:
            s32 = np.broadcast_to(np.asarray(scale, np.float32), (self.c,)).copy()
            ins.append(self.const(s32))
            s64 = s32.astype(np.float64)
        self.out_t = out
        self.y = self._node("Quant", ins, attrs)
        self.b.outputs.append(self.y)
        if bipolar:
            self.refs.append(lambda v: np.where(v >= 0, 1, -1))
        elif s64 is None:
            self.refs.append(lambda v: np.clip(np.round(v * 2.0 ** out.frac), out.min, out.max))
        else:
            self.refs.append(lambda v: np.clip(np.round(v / s64 * 2.0 ** out.frac),
                                               out.min, out.max))
        return verify(self.b.build())

    def every_acc(self) -> np.ndarray:
        """Every accumulator value of the type, in every channel: shape (range, C)."""
        r = np.arange(self.acc.min, self.acc.max + 1, dtype=np.int64)
        return np.repeat(r[:, None], self.c, axis=1)

    def reference(self, x: np.ndarray) -> np.ndarray:
        v = x.astype(np.float64)
        for f in self.refs:
            v = f(v)
        return np.asarray(v).astype(np.int64)


def _check(ch: Chain, g) -> None:
    s = run_phase("streamline", g)
    assert [n.op for n in s.nodes] == ["Threshold"], s
    x = ch.every_acc()
    got = s.run(x)
    ref = ch.reference(x)
    assert np.array_equal(got, ref), (np.argwhere(got != ref)[:5], s)
    assert got.min() >= ch.out_t.min and got.max() <= ch.out_t.max


# --------------------------------------------------------------------------- enumerations
def test_bn_mixed_sign_gamma_two_bit():
    ch = Chain(QType(8, True), 4, 1.0)
    g = ch.bn([1.5, -0.7, 0.0, -3.0], [0.1, -0.2, 0.4, 0.0], [3.3, -10.2, 0.0, 40.0],
              [20.0, 5.0, 1.0, 100.0], 1e-4).quant(QType(2, True, 0, True))
    _check(ch, g)
    th = run_phase("streamline", g)
    node = th.nodes[0]
    assert list(th.const(node.inputs[2])) == [1, -1, 1, -1]       # negative gammas flip


def test_per_channel_float_scales_relu_unsigned_four_bit():
    ch = Chain(QType(10, True, 3), 3, [0.013, 0.5, 0.0071])
    g = ch.bn([2.0, 0.5, -1.0], [0.3, 0.0, 1.0], [0.1, -2.0, 0.5], [0.4, 2.0, 0.01],
              1e-5).relu().quant(QType(4, False), scale=[0.37, 0.11, 1.3])
    _check(ch, g)


def test_hardtanh_negative_mul_signed_two_bit():
    ch = Chain(QType(7, True), 2, 1 / 3)
    g = (ch.binary("Mul", [-0.25, 0.75]).binary("Add", 0.125).clip(-1.0, 1.0)
         .quant(QType(2, True), scale=0.5))
    _check(ch, g)


def test_const_minus_x_and_division_bipolar():
    ch = Chain(QType(6, True), 3, 1.0)
    g = (ch.binary("Sub", [1.5, -2.0, 0.0], const_first=True).binary("Div", [2.0, -4.0, 0.5])
         .quant(QType(2, True, 0, True), bipolar=True))
    _check(ch, g)


def test_eight_bit_output_255_thresholds():
    ch = Chain(QType(12, True, 2), 2, [0.25, 0.1])
    g = ch.bn([1.0, -2.0], [0.0, 5.0], [1.0, -3.0], [9.0, 4.0], 1e-5).quant(
        QType(8, False), scale=0.05)
    _check(ch, g)
    assert run_phase("streamline", g).nodes[0].inputs[1]
    t = run_phase("streamline", g)
    assert t.values[t.nodes[0].inputs[1]].shape == (2, 255)


def test_exact_ties_round_half_even():
    """var + eps = 1 exactly and mean = 0.5: every other accumulator lands exactly on a
    rounding tie (x.5), which must go to the even code as round-half-even does."""
    ch = Chain(QType(6, True), 1, 1.0)
    g = ch.bn(1.0, 0.0, 0.5, 0.75, 0.25).quant(QType(4, True))
    _check(ch, g)
    t = run_phase("streamline", g)
    codes = t.run(np.array([[0], [1], [2], [3], [4]]))
    assert codes.ravel().tolist() == [0, 0, 2, 2, 4]       # -0.5→0, 0.5→0, 1.5→2, 2.5→2, 3.5→4


def test_zero_variance_channel_and_zero_gamma():
    ch = Chain(QType(5, True), 3, 1.0)
    g = ch.bn([1.0, 0.0, -1.0], [0.0, 0.7, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0],
              1e-5).quant(QType(3, True), scale=0.25)
    _check(ch, g)


def test_saturating_range():
    ch = Chain(QType(4, True), 2, 1.0)
    g = ch.bn([1.0, 1.0], [0.0, 0.0], [1000.0, -1000.0], [1.0, 1.0], 1e-5).quant(
        QType(2, True))
    _check(ch, g)
    y = run_phase("streamline", g).run(ch.every_acc())
    assert set(y[:, 0]) == {-2} and set(y[:, 1]) == {1}


def test_power_of_two_requantization_stays_a_shift():
    ch = Chain(QType(12, True, 6), 1, 1.0)
    g = ch.quant(QType(4, True, 2))
    s = run_phase("streamline", g)
    assert [n.op for n in s.nodes] == ["Requant"]
    x = ch.every_acc()
    assert np.array_equal(s.run(x), ch.reference(x))


# --------------------------------------------------------------------------- hypothesis
finite = dict(allow_nan=False, allow_infinity=False, width=32)


@st.composite
def chains(draw):
    c = draw(st.integers(1, 3))
    bits = draw(st.integers(2, 9))
    acc = QType(bits, True, draw(st.integers(-2, 4)))
    mul = draw(st.lists(st.floats(2.0 ** -10, 4.0, **finite), min_size=c, max_size=c))
    ch = Chain(acc, c, mul)
    vec = lambda lo, hi: draw(st.lists(st.floats(lo, hi, **finite), min_size=c,  # noqa: E731
                                       max_size=c))
    gamma = draw(st.lists(st.one_of(st.just(0.0), st.floats(-4, 4, **finite)), min_size=c,
                          max_size=c))
    var = draw(st.lists(st.one_of(st.just(0.0), st.floats(0, 50, **finite)), min_size=c,
                        max_size=c))
    ch.bn(gamma, vec(-3, 3), vec(-40, 40), var, draw(st.sampled_from([1e-5, 1e-3, 0.25])))
    if draw(st.booleans()):
        ch.binary("Mul", vec(-2, 2))
    op = draw(st.sampled_from(["none", "Add", "Sub", "Sub1", "Div"]))
    if op == "Div":
        ch.binary("Div", [v if v != 0 else 1.0 for v in vec(-3, 3)])
    elif op != "none":
        ch.binary(op[:3], vec(-2, 2), const_first=op == "Sub1")
    kind = draw(st.sampled_from(["none", "relu", "clip"]))
    if kind == "relu":
        ch.relu()
    elif kind == "clip":
        ch.clip(-1.0, 1.0)
    if draw(st.booleans()):
        return ch, ch.quant(QType(2, True, 0, True), bipolar=True)
    obits = draw(st.sampled_from([1, 2, 3, 8]))
    signed = draw(st.booleans()) and obits > 1
    narrow = signed and draw(st.booleans())
    out = QType(obits, signed, 0, narrow)
    scale = draw(st.lists(st.floats(2.0 ** -10, 2.0, **finite), min_size=c, max_size=c))
    return ch, ch.quant(out, scale=scale)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains())
def test_random_chains_enumerated(case):
    ch, g = case
    _check(ch, g)


# --------------------------------------------------------------------------- bad chains
def test_division_by_zero_is_refused():
    ch = Chain(QType(4, True), 2, 1.0)
    g = ch.binary("Div", [1.0, 0.0]).quant(QType(2, True))
    with pytest.raises(UnsupportedOpError, match="n2_Div.*division by zero"):
        run_phase("streamline", g)


def test_constant_divided_by_activation_is_refused():
    ch = Chain(QType(4, True), 1, 1.0)
    g = ch.binary("Div", 1.0, const_first=True).quant(QType(2, True))
    with pytest.raises(UnsupportedOpError, match="n2_Div.*not monotonic"):
        run_phase("streamline", g)


def test_zero_variance_without_epsilon_is_refused():
    ch = Chain(QType(4, True), 2, 1.0)
    g = ch.bn([1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [1.0, 0.0], 0.0).quant(QType(2, True))
    with pytest.raises(UnsupportedOpError, match="n2_BatchNorm") as e:
        run_phase("streamline", g)
    assert "epsilon" in e.value.hint


def test_constant_not_per_channel_is_refused():
    b = GraphBuilder("g")
    b.add_value(Value("x", (1, 2, 2, 2), QType(6, True)))
    b.inputs.append("x")
    b.add_const("m", np.ones(1))
    b.add_const("c", np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2))
    for node, (shape, t) in ((Node("aff", "Affine", ("x", "m"), ("f",)), ((1, 2, 2, 2), FLOAT)),
                             (Node("mul", "Mul", ("f", "c"), ("g",)), ((1, 2, 2, 2), FLOAT)),
                             (Node("q", "Quant", ("g",), ("y",), {"type": QType(2, True)}),
                              ((1, 2, 2, 2), QType(2, True)))):
        b.add_node(node)
        b.add_value(Value(node.outputs[0], shape, t))
    b.outputs.append("y")
    with pytest.raises(UnsupportedOpError, match="'mul'.*not only per channel"):
        run_phase("streamline", verify(b.build()))


def test_sixteen_bit_table_does_not_fit():
    ch = Chain(QType(20, True), 1, 1.0)
    g = ch.bn(1.0, 0.0, 0.3, 2.0, 1e-5).quant(QType(16, True))
    with pytest.raises(UnsupportedOpError, match="n3_Quant.*thresholds per channel"):
        run_phase("streamline", g)


# --------------------------------------------------------------------------- the op itself
def test_threshold_kernel_against_brute_force():
    rng = np.random.default_rng(3)
    t = np.sort(rng.integers(-20, 20, (4, 3)), axis=1)
    d = np.array([1, -1, 1, -1])
    x = rng.integers(-30, 30, (5, 4, 2, 2))
    y = K.threshold(x, t, QType(2, True), direction=d)
    for n, c, i, j in np.ndindex(x.shape):
        v = d[c] * x[n, c, i, j]
        assert y[n, c, i, j] == -2 + sum(v >= tk for tk in t[c])


def test_threshold_rule_rejects_bad_tables():
    b = GraphBuilder("g")
    b.add_value(Value("x", (1, 2), QType(8, True)))
    b.inputs.append("x")
    b.add_const("t", np.array([[3, 1, 5], [0, 0, 0]]), QType(8, True))
    b.add_node(Node("th", "Threshold", ("x", "t"), ("y",), {"type": QType(2, True)}))
    b.add_value(Value("y", (1, 2), QType(2, True)))
    b.outputs.append("y")
    with pytest.raises(VerifyError, match="non-decreasing"):
        verify(b.build())


def test_checkpoint_round_trip_printer_and_cost(tmp_path):
    ch = Chain(QType(8, True), 4, 0.3)
    g = run_phase("streamline", ch.bn([1.0, -1.0, 2.0, 0.5], 0.0, [1.0, 2.0, 3.0, 4.0],
                                      [1.0, 2.0, 3.0, 4.0], 1e-5).quant(QType(2, True)))
    text = str(g)
    assert "Threshold(%x, @" in text and "@n3_Quant_direction" in text
    back = serialize.load(serialize.save(g, tmp_path / "t.onnx"))
    assert str(back) == text
    x = ch.every_acc()
    assert np.array_equal(back.run(x), g.run(x))
    n = g.nodes[0]
    op = OPS["Threshold"]
    ins = [g.values[i] for i in n.inputs]
    outs = [g.values[o] for o in n.outputs]
    assert op.macs(n, ins, outs) == 0
    assert op.compares(n, ins, outs) == 4 * 3
    assert attrs_of(n)["bipolar"] is False


def test_float_head_composed_in_float64():
    """TensorNorm-style head: (acc·s − mean) / sqrt(var + eps) · w + b → one Affine."""
    b = GraphBuilder("head")
    b.add_value(Value("x", (1, 3), QType(10, True, 2)))
    b.inputs.append("x")
    b.add_const("s", np.array([0.37]))
    consts = {"mean": np.float32(0.21), "den": np.sqrt(np.float32(4.7) + np.float32(1e-4)),
              "w": np.float32(-1.3), "bias": np.float32(0.05)}
    for k, v in consts.items():
        b.add_const(k, np.array([v], np.float32))
    chain = [("Affine", ("x", "s")), ("Sub", ("mean",)), ("Div", ("den",)), ("Mul", ("w",)),
             ("Add", ("bias",))]
    cur = None
    for i, (op, extra) in enumerate(chain):
        ins = extra if op == "Affine" else (cur,) + extra
        cur = f"h{i}"
        b.add_node(Node(f"n{i}", op, tuple(ins), (cur,)))
        b.add_value(Value(cur, (1, 3), FLOAT))
    b.outputs.append(cur)
    g = verify(b.build())
    s = run_phase("streamline", g)
    assert [n.op for n in s.nodes] == ["Affine"]
    x = np.arange(-512, 512).reshape(-1, 1).repeat(3, 1)
    c = {k: np.float64(v) for k, v in consts.items()}
    ref = ((x * 0.25 * 0.37 - c["mean"]) / c["den"] * c["w"] + c["bias"])
    got = s.run(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=2 ** -23, atol=2 ** -30)


def test_global_average_head_is_exact_in_float64():
    """Affine → global average pool → one Affine(global_avg): the exact integer sum of the
    accumulator, averaged and scaled once in float64, rounded once to float32."""
    b = GraphBuilder("gap")
    b.add_value(Value("x", (1, 3, 5, 7), QType(20, True, 3)))
    b.inputs.append("x")
    scale = np.array([0.37, 1e-3, 2.5])
    b.add_const("s", scale)
    b.add_node(Node("aff", "Affine", ("x", "s"), ("f",)))
    b.add_value(Value("f", (1, 3, 5, 7), FLOAT))
    b.add_node(Node("gap", "Pool", ("f",), ("y",), {"kind": "avg", "global_": True}))
    b.add_value(Value("y", (1, 3, 1, 1), FLOAT))
    b.outputs.append("y")
    s = run_phase("streamline", verify(b.build()))
    assert [n.op for n in s.nodes] == ["Affine"] and s.nodes[0].attr("global_avg")
    x = np.random.default_rng(5).integers(-2 ** 19, 2 ** 19, (4, 3, 5, 7))
    ref = (x.sum(axis=(2, 3), keepdims=True) / 35 * 2.0 ** -3 * scale[None, :, None, None])
    assert np.array_equal(s.run(x), ref.astype(np.float32))
