# SPDX-License-Identifier: Apache-2.0
"""The XNOR-popcount fully connected kernel (neon/src/xnor.c, ``EP_OP_FC_XNOR``) for bipolar
weights: bits packed at build time (Python packer = C packer), exact against the golden integer
product for bipolar inputs (the XNOR path), ternary inputs and any int8 input (the exact
fall-backs), with bias and requantization; SIMDe on x86 and real NEON on aarch64 under qemu."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgepool.ir import kernels as K
from edgepool.ir.qtype import QType
from edgepool.neon import bridge as N

pytestmark = pytest.mark.simde
OUT = QType(8, True, 0)


@st.composite
def cases(draw):
    n = draw(st.sampled_from([1, 7, 16, 17, 64, 127, 128, 129, 300, 784, 1024]))
    m = draw(st.integers(1, 11))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    w = rng.choice(np.array([-1, 1], np.int8), (m, n))
    kind = draw(st.sampled_from(["bipolar", "bipolar", "ternary", "int8"]))
    if kind == "bipolar":
        x = rng.choice(np.array([-1, 1], np.int8), n)
    elif kind == "ternary":
        x = rng.integers(-1, 2, n).astype(np.int8)
    else:
        x = rng.integers(-128, 128, n).astype(np.int8)
    bias = rng.integers(-1000, 1000, m).astype(np.int32) if draw(st.booleans()) else None
    rq = None
    if draw(st.booleans()):
        rq = N.Requant.to(int(rng.integers(0, 4)), OUT, bool(rng.integers(0, 2)))
    return x, w, bias, rq


def golden(x, w, bias, rq) -> np.ndarray:
    acc = w.astype(np.int64) @ x.astype(np.int64)
    if bias is not None:
        acc = acc + bias
    return acc if rq is None else K.requantize(acc, rq.shift, OUT, rq.relu)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_fc_xnor_matches_golden(case):
    x, w, bias, rq = case
    got = N.fc_xnor(x, w, bias, rq)
    assert np.array_equal(got.astype(np.int64), golden(x, w, bias, rq))
    # the same as the int8 GEMV on the ±1 weights
    assert np.array_equal(got, N.fc(x, w, bias, rq))


def test_python_packer_equals_c_packer():
    rng = np.random.default_rng(3)
    lib = N.load(False)
    lib.ep_xnor_row_bytes.restype = ctypes.c_size_t
    for n, m in [(1, 1), (9, 3), (128, 2), (300, 5)]:
        w = rng.choice(np.array([-1, 1], np.int8), (m, n))
        rb = lib.ep_xnor_row_bytes(ctypes.c_int(n))
        assert rb == N.xnor_row_bytes(n)
        bits = np.zeros((m, rb), np.uint8)
        rc = lib.ep_xnor_pack(ctypes.c_int(n), ctypes.c_int(m), ctypes.c_void_p(w.ctypes.data),
                              ctypes.c_void_p(bits.ctypes.data))
        assert rc == 0 and np.array_equal(bits, N.pack_xnor(w))


def test_non_bipolar_weights_refused():
    with pytest.raises(N.NeonError, match="±1"):
        N.pack_xnor(np.array([[1, 0, -1]]))


@pytest.mark.aarch64
@settings(max_examples=2, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(cases(), min_size=16, max_size=24))
def test_fc_xnor_aarch64(batch):
    """The same kernel cross-compiled for aarch64 (vcnt / eor / uadalp, no SIMDe) under qemu."""
    outs = N.run_aarch64([N.fc_xnor_op(*c) for c in batch])
    for c, got in zip(batch, outs, strict=True):
        assert np.array_equal(got.astype(np.int64), golden(*c))


@pytest.mark.tvm
def test_glue_uses_xnor_for_1bit_dense_layers(tmp_path):
    """The cortex-a53 glue of TFC 1w1a (bnn_pynq: bipolar weights and activations) calls
    ep_fc_xnor for each of its four dense layers, with bit-packed weight arrays; TFC 2w2a
    (ternary weights) keeps the int8 GEMV. (The aarch64 build of TFC 1w1a running bit-exact
    under qemu is tests/tvm/test_tvm_thresholds.py::test_cortex_a53_build_of_tfc_runs_bit_exact.)"""
    from bnn_pynq import export_bnn

    import edgepool
    from edgepool.tvm import byoc
    from edgepool.tvm import relax_import as ri

    for name, want in (("tfc_1w1a", 4), ("tfc_2w2a", 0)):
        _model, path, _x = export_bnn(name, tmp_path)
        _, _, src = byoc.offload(ri.graph_to_relax(edgepool.load(path)))
        assert src.count("ep_fc_xnor(") == want, name
        assert src.count("ep_fc(") == 4 - want, name
        if want:
            assert "static const uint8_t ep_w" in src
