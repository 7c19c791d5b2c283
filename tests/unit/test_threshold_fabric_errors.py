# SPDX-License-Identifier: Apache-2.0
"""Thresholds on the fabric: a conv / fully connected layer followed by a Threshold lowers to one
hardware layer (MAC array + comparator stage, table clamped to the accumulator range) whose
golden model equals the interpreter; what the fabric cannot do is a typed error naming the node
and what to do instead."""

from __future__ import annotations

import numpy as np
import pytest
from bnn_pynq import export_bnn, integer_middle
from hypothesis import given, settings
from hypothesis import strategies as st

import edgepool
from edgepool.accel.descriptor import check_layer
from edgepool.accel.engine import OverlayParams
from edgepool.accel.lower import MAX_THRESHOLD_TABLE_BITS, lower_chain, lower_to_hw
from edgepool.accel.program import (
    HwProgram,
    clamp_thresholds,
    program_from_json,
    program_to_json,
    run_reference,
)
from edgepool.errors import ConfigError, UnsupportedOpError
from edgepool.ir import kernels as K
from edgepool.ir.graph import GraphBuilder, Node, Value
from edgepool.ir.ops import OPS
from edgepool.ir.qtype import QType
from edgepool.passes.pipelines import lower


@pytest.fixture(scope="module")
def tfc(tmp_path_factory):
    _model, path, x = export_bnn("tfc_1w1a", tmp_path_factory.mktemp("tfc"))
    return edgepool.load(path), x.numpy()


def test_tfc_integer_middle_lowers_bit_exact(tfc) -> None:
    g, x = tfc
    program, codes, want = integer_middle(g, x)
    assert [ly.n_thresholds for ly in program.layers] == [1, 1, 1, 0]
    assert all(ly.bipolar for ly in program.layers[:3])
    # bipolar quantizer / thresholds feed every layer, weights ±1: all four are 1-bit layers
    assert all(ly.in_bipolar and ly.xnor() for ly in program.layers)
    for layer in program.layers[:3]:
        t = layer.thresholds
        hi = (1 << (layer.acc_bits - 1)) - 1
        assert t.min() >= -hi - 1 and t.max() <= hi + 1, layer.name
    for img, w in zip(codes, want, strict=True):
        assert np.array_equal(run_reference(program, img), w)
    # the manifest's serialization keeps tables and directions
    back = program_from_json(*program_to_json(program))
    for a, b in zip(program.layers, back.layers, strict=True):
        assert (a.bipolar, a.in_bipolar) == (b.bipolar, b.in_bipolar)
        for k in ("thresholds", "threshold_dir"):
            va, vb = getattr(a, k), getattr(b, k)
            assert (va is None and vb is None) or np.array_equal(va, vb)
    assert np.array_equal(run_reference(back, codes[0]), want[0])


def test_float_input_and_head_are_named(tfc) -> None:
    g, _ = tfc
    with pytest.raises(UnsupportedOpError) as e:
        lower_to_hw(g)
    assert "input quantizer" in str(e.value) and "host" in str(e.value)
    gl = lower(g, "fabric")
    quant = next(n for n in gl.nodes if n.op == "Quant")
    with pytest.raises(UnsupportedOpError) as e:
        lower_chain(gl, quant.outputs[0], gl.outputs[0])
    msg = str(e.value)
    head = gl.producer(gl.outputs[0]).name
    assert head in msg and "computes in float" in msg and "CPU" in msg, msg


def test_threshold_table_wider_than_32_bits(tmp_path) -> None:
    """A 16-bit × 16-bit layer over 4096 inputs: a 44-bit accumulator whose thresholds do not fit
    the comparators."""
    b = GraphBuilder("wide")
    x_t = QType(16, True, 0)
    b.add_value(Value("x", (1, 4096), x_t))
    b.inputs.append("x")
    w = b.add_const("w", np.full((4096, 2), 30000, np.int64), QType(16, True, 0))

    def node(name, op, ins, attrs):
        n = Node(name, op, tuple(ins), (f"{name}_out",), attrs)
        (shape, qt), = OPS[op].infer(n, [b.values[i] for i in ins],
                                     [b.constants.get(i) for i in ins])
        b.add_value(Value(n.outputs[0], shape, qt))
        b.add_node(n)
        return n.outputs[0]
    acc = node("fc", "Gemm", ["x", w], {})
    tt = b.add_const("t", np.array([[-(1 << 40), 0, 1 << 40]] * 2, np.int64),
                     QType(44, True, 0))
    out = node("act", "Threshold", [acc, tt], {"type": QType(2, False, 0)})
    b.outputs.append(out)
    g = lower(b.build(), "fabric")
    with pytest.raises(UnsupportedOpError) as e:
        lower_chain(g, "x", out)
    msg = str(e.value)
    assert "'act'" in msg and f"at most {MAX_THRESHOLD_TABLE_BITS}-bit" in msg, msg


def test_overlay_refuses_threshold_layers(tfc) -> None:
    g, x = tfc
    program, _, _ = integer_middle(g, x)
    with pytest.raises(ConfigError) as e:
        check_layer(program.layers[1], OverlayParams())
    assert program.layers[1].name in str(e.value) and "threshold" in str(e.value)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 9), st.integers(0, 2**32 - 1), st.booleans())
def test_clamped_tables_keep_every_code(acc_bits: int, seed: int, bipolar: bool) -> None:
    """Every accumulator value in range gives the same code with the clamped table (ties,
    thresholds far outside the range, both directions)."""
    rng = np.random.default_rng(seed)
    out = QType(2, True, 0, True) if bipolar else QType(3, False, 0)
    n = 1 if bipolar else out.max - out.min
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    t = np.sort(rng.integers(4 * lo, 4 * hi, (5, n)), axis=1)
    d = rng.choice([-1, 1], 5)
    acc = np.tile(np.arange(lo, hi + 1), (5, 1)).T               # (values, C)
    tc = clamp_thresholds(t, d, lo, hi)
    assert tc.min() >= min(lo, -hi) and tc.max() <= max(hi, -lo) + 1
    assert np.array_equal(K.threshold(acc, t, out, bipolar, d),
                          K.threshold(acc, tc, out, bipolar, d))


def test_program_without_thresholds_unchanged() -> None:
    """A requantizing program serializes without tables (manifests of earlier builds load)."""
    from edgepool.accel.program import random_program
    p = random_program(3)
    desc, blob = program_to_json(p)
    for d in desc["layers"]:
        for k in ("thresholds", "threshold_dir", "bipolar", "in_bipolar"):
            d.pop(k)
    back = program_from_json(desc, blob)
    assert isinstance(back, HwProgram) and all(ly.thresholds is None for ly in back.layers)
    x = np.random.default_rng(0).integers(0, 255, p.in_shape)
    assert np.array_equal(run_reference(back, x), run_reference(p, x))


def test_cnv_integer_middle_lowers_bit_exact(tmp_path) -> None:
    """CNV 1w1a (CIFAR-sized): nine layers, the max pools fused after the comparator stages,
    every layer but the first (8-bit input) a 1-bit XNOR layer; golden model = interpreter."""
    _model, path, x = export_bnn("cnv_1w1a", tmp_path)
    g = edgepool.load(path)
    program, codes, want = integer_middle(g, x.numpy()[:2])
    assert len(program.layers) == 9
    assert [ly.pool is not None for ly in program.layers].count(True) == 2
    assert [ly.xnor() for ly in program.layers] == [False] + [True] * 8
    assert all(ly.thresholds is not None for ly in program.layers[:-1])
    for img, w in zip(codes, want, strict=True):
        assert np.array_equal(run_reference(program, img), w)
