# SPDX-License-Identifier: Apache-2.0
"""Hypothesis strategies that draw NEON kernel cases with their golden results
(:mod:`edgepool.ir.kernels`, converted between HWC and NCHW with ``np.moveaxis``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from edgepool.ir import kernels as K
from edgepool.ir.qtype import QType
from edgepool.neon import bridge as N

INT_POOL_TYPES = [np.int8, np.uint8, np.int16, np.uint16]
CHANNELS = [1, 3, 16, 17, 33]


@dataclass
class Case:
    """A kernel call and the result the golden model gives."""

    op: N.Op
    expected: np.ndarray
    exact: bool = True

    def check(self, got: np.ndarray) -> None:
        """Exact equality for integers (and float max pooling), tight tolerance otherwise."""
        assert got.shape == self.expected.shape, (got.shape, self.expected.shape, self.op.desc)
        if self.exact:
            assert got.dtype == self.expected.dtype
            assert np.array_equal(got, self.expected), (self.op.desc.tolist(),
                                                        np.argwhere(got != self.expected)[:5])
        else:
            np.testing.assert_allclose(got, self.expected, rtol=2e-5, atol=2e-5,
                                       err_msg=str(self.op.desc.tolist()))


def run_batch_aarch64(cases: list[Case]) -> None:
    """Run the cases' ops in one qemu-aarch64 invocation; check every output."""
    outs = N.run_aarch64([c.op for c in cases])
    assert len(outs) == len(cases)
    for case, got in zip(cases, outs, strict=True):
        case.check(got)


def nchw(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, -1, 0)[None]


def hwc(y: np.ndarray) -> np.ndarray:
    return np.moveaxis(y[0], 0, -1)


def rand_array(rng: np.random.Generator, dtype, shape) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(np.float32)
    ii = np.iinfo(dtype)
    return rng.integers(ii.min, int(ii.max) + 1, shape).astype(dtype)


def golden(fn, *args) -> np.ndarray:
    """``hwc(fn(*args))``; cases the golden model leaves undefined (an integer max-pool window
    covering only padding) are rejected with ``assume``."""
    try:
        return hwc(fn(*args))
    except ValueError as e:
        # only this one undefined case is rejected; any other error is a failure
        if "covers only padding" not in str(e):
            raise
        assume(False)
        raise


spatial = st.one_of(st.integers(1, 12), st.integers(13, 24), st.just(56))


@st.composite
def pool_case(draw, kind: str, dtypes=tuple(INT_POOL_TYPES) + (np.float32,),
              small: bool = False) -> Case:
    """Max or avg pooling: kernels 1-7, strides 1..k+1, pads, dilations, ceil_mode, cip."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    kh, kw = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    sh, sw = draw(st.integers(1, kh + 1)), draw(st.integers(1, kw + 1))
    dh, dw = draw(st.sampled_from([1, 1, 1, 2, 3])), draw(st.sampled_from([1, 1, 1, 2, 3]))
    pads = tuple(draw(st.integers(0, max(0, k - 1))) for k in (kh, kw, kh, kw))
    h = draw(st.integers(1, 12) if small else spatial)
    w = draw(st.integers(1, 12) if small else spatial)
    c = draw(st.sampled_from(CHANNELS))
    ceil = draw(st.booleans())
    assume(h + pads[0] + pads[2] >= dh * (kh - 1) + 1)
    assume(w + pads[1] + pads[3] >= dw * (kw - 1) + 1)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rand_array(rng, dtype, (h, w, c))
    if kind == "max":
        algo = draw(st.sampled_from(["auto", "direct", "vanherk"]))
        ref = golden(K.max_pool, nchw(x), (kh, kw), (sh, sw), pads, (dh, dw), ceil)
        return Case(N.maxpool_op(x, (kh, kw), (sh, sw), pads, (dh, dw), ceil, algo), ref)
    cip = draw(st.booleans())
    ref = hwc(K.avg_pool(nchw(x), (kh, kw), (sh, sw), pads, (dh, dw), ceil, cip))
    op = N.avgpool_op(x, (kh, kw), (sh, sw), pads, (dh, dw), ceil, cip)
    if dtype.kind == "f":
        return Case(op, ref.astype(np.float32), exact=False)
    assert np.array_equal(ref, ref.astype(dtype))
    return Case(op, ref.astype(dtype))


FAST_CHANNELS = [1, 3, 4, 5, 8, 15, 16, 17, 31, 32, 33, 64]


@st.composite
def fast_pool_case(draw) -> Case:
    """The in-place max paths: 3x3 s1 (C >= lanes: 4-row register sweep; C < lanes: flat rows),
    5x5 s1 (C >= lanes: 2-row / 2-column sharing sweep, clamped taps),
    3x3 with horizontal stride 2, 2x2 any stride (no padding: lean interior walks with 4-register
    loads); padding up to k - 1 and ceil_mode (clamped
    coordinates), channel tails (overlapping last vector), tiny to 60-pixel maps, plus the
    configurations that fall back to the engine (padding-only windows, forced van Herk)."""
    dtype = np.dtype(draw(st.sampled_from(INT_POOL_TYPES + [np.float32])))
    k = draw(st.sampled_from([2, 3, 3, 5]))
    sh, sw = draw(st.sampled_from([(1, 1), (1, 1), (2, 2), (2, 2), (3, 3), (1, 2), (2, 1)]))
    pads = tuple(draw(st.integers(0, k - 1)) for _ in range(4))
    if draw(st.booleans()):      # no padding: the lean whole-map-interior paths (k2i, k3s2i)
        pads = (0, 0, 0, 0)
    h = draw(st.one_of(st.integers(1, 9), st.integers(10, 60)))
    w = draw(st.one_of(st.integers(1, 9), st.integers(10, 60)))
    assume(h + pads[0] + pads[2] >= k and w + pads[1] + pads[3] >= k)
    c = draw(st.sampled_from(FAST_CHANNELS))
    ceil = draw(st.booleans())
    algo = draw(st.sampled_from(["auto", "auto", "direct", "vanherk"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rand_array(rng, dtype, (h, w, c))
    ref = golden(K.max_pool, nchw(x), (k, k), (sh, sw), pads, (1, 1), ceil)
    return Case(N.maxpool_op(x, (k, k), (sh, sw), pads, ceil_mode=ceil, algo=algo), ref)


@st.composite
def avg2_case(draw) -> Case:
    """The 8-bit average 2x2 stride 2 path (count 1 / 2 / 4: round-half-even shifts): interior
    vaddl pairs (C = 16, 32, other C with the overlapping last vector), border windows with
    padding, ceil-mode overhang and count_include_pad; C < 16 falls back to the general path."""
    dtype = np.dtype(draw(st.sampled_from([np.int8, np.uint8])))
    pads = tuple(draw(st.integers(0, 1)) for _ in range(4))
    h = draw(st.one_of(st.integers(1, 9), st.integers(10, 40)))
    w = draw(st.one_of(st.integers(1, 9), st.integers(10, 40)))
    assume(h + pads[0] + pads[2] >= 2 and w + pads[1] + pads[3] >= 2)
    c = draw(st.sampled_from(FAST_CHANNELS + [48]))
    ceil, cip = draw(st.booleans()), draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ii = np.iinfo(dtype)
    if draw(st.booleans()):
        x = rng.integers(ii.min, int(ii.max) + 1, (h, w, c)).astype(dtype)
    else:                                                   # tie-heavy
        x = (rng.integers(0, 2, (h, w, c)) + ii.min).astype(dtype)
    ref = hwc(K.avg_pool(nchw(x), (2, 2), (2, 2), pads, (1, 1), ceil, cip))
    return Case(N.avgpool_op(x, (2, 2), (2, 2), pads, (1, 1), ceil, cip), ref.astype(dtype))


@st.composite
def global_case(draw) -> Case:
    dtype = np.dtype(draw(st.sampled_from(INT_POOL_TYPES + [np.float32])))
    kind = draw(st.sampled_from(["max", "avg"]))
    h, w, c = draw(spatial), draw(st.integers(1, 20)), draw(st.sampled_from(CHANNELS))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rand_array(rng, dtype, (h, w, c))
    ref = K.global_pool(nchw(x), kind)[0, :, 0, 0]
    exact = kind == "max" or dtype.kind != "f"
    return Case(N.global_pool_op(x, kind), ref.astype(dtype), exact=exact)


def _requant(draw, acc_frac_max: int = 24) -> tuple[N.Requant, QType, int, bool]:
    bits = draw(st.sampled_from([8, 16]))
    out = QType(bits, draw(st.booleans()), 0, draw(st.booleans()))
    shift = draw(st.integers(-3, acc_frac_max))
    relu = draw(st.booleans())
    return N.Requant.to(shift, out, relu), out, shift, relu


@st.composite
def conv_case(draw, dtypes=(np.int8, np.int16, np.float32), small: bool = False) -> Case:
    """Dense, grouped and depthwise convolutions, sliding window or im2col, raw or requantized."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = draw(st.sampled_from(["dense", "dense", "depthwise", "grouped"]))
    groups = 1
    if shape == "depthwise":
        ic = oc = groups = draw(st.sampled_from([2, 3, 8, 17, 33]))
    elif shape == "grouped":
        groups = draw(st.sampled_from([2, 3]))
        ic = groups * draw(st.sampled_from([1, 2, 3, 5]))
        oc = groups * draw(st.sampled_from([1, 3, 8, 9]))
    else:
        ic, oc = draw(st.sampled_from([1, 3, 8, 17, 33])), draw(st.sampled_from([1, 3, 8, 17]))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.sampled_from([1, 1, 2])), draw(st.sampled_from([1, 1, 2]))
    pads = tuple(draw(st.integers(0, k - 1)) for k in (kh, kw, kh, kw))
    h = draw(st.integers(1, 10) if small else st.one_of(st.integers(1, 14), st.just(28)))
    w = draw(st.integers(1, 10) if small else st.integers(1, 14))
    assume(h + pads[0] + pads[2] >= dh * (kh - 1) + 1)
    assume(w + pads[1] + pads[3] >= dw * (kw - 1) + 1)
    algo = draw(st.sampled_from(["sliding", "im2col"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rand_array(rng, dtype, (h, w, ic))
    wt = rand_array(rng, dtype, (oc, kh, kw, ic // groups))
    if dtype.kind == "f":
        b = rng.standard_normal(oc).astype(np.float32)
    else:
        b = rng.integers(-(2**20), 2**20, oc) if draw(st.booleans()) else None
    ref = hwc(K.conv2d(nchw(x), np.moveaxis(wt, -1, 1), b, (sh, sw), pads, (dh, dw), groups))
    if dtype.kind == "f":
        op = N.conv_op(x, wt, b, (sh, sw), pads, (dh, dw), groups, None, algo)
        return Case(op, ref.astype(np.float32), exact=False)
    if draw(st.booleans()):
        op = N.conv_op(x, wt, b, (sh, sw), pads, (dh, dw), groups, None, algo)
        return Case(op, ref.astype(N._acc_dtype(dtype)))
    rq, out, shift, relu = _requant(draw, 34 if dtype == np.int16 else 24)
    op = N.conv_op(x, wt, b, (sh, sw), pads, (dh, dw), groups, rq, algo)
    return Case(op, K.requantize(ref, shift, out, relu).astype(rq.out))


@st.composite
def conv_maxpool_case(draw, small: bool = False) -> Case:
    """conv -> requantize (+ReLU) -> max pool, fused, against run_layer's order of operations."""
    dtype = np.dtype(draw(st.sampled_from([np.int8, np.int16])))
    ic, oc = draw(st.sampled_from([1, 3, 16, 17])), draw(st.sampled_from([1, 4, 16, 19]))
    groups = 1
    if draw(st.integers(0, 3)) == 0:
        ic = oc = groups = draw(st.sampled_from([3, 16, 17]))
    k = draw(st.integers(1, 3))
    p = draw(st.integers(0, k - 1))
    pk, ps = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    pp = tuple(draw(st.integers(0, (pk - 1) // 2)) for _ in range(4))
    ceil = draw(st.booleans())
    h, w = draw(st.integers(4, 14 if small else 30)), draw(st.integers(4, 14 if small else 30))
    assume(h + 2 * p - k + 1 + pp[0] + pp[2] >= pk and w + 2 * p - k + 1 + pp[1] + pp[3] >= pk)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rand_array(rng, dtype, (h, w, ic))
    wt = rand_array(rng, dtype, (oc, k, k, ic // groups))
    b = rng.integers(-(2**18), 2**18, oc)
    rq, out, shift, relu = _requant(draw, 30 if dtype == np.int16 else 20)
    acc = K.conv2d(nchw(x), np.moveaxis(wt, -1, 1), b, (1, 1), (p, p, p, p), (1, 1), groups)
    y = K.requantize(acc, shift, out, relu).astype(rq.out)
    ref = golden(K.max_pool, y, (pk, pk), (ps, ps), pp, (1, 1), ceil)
    algo = draw(st.sampled_from(["auto", "direct", "vanherk"]))
    op = N.conv_maxpool_op(x, wt, b, rq, (pk, pk), (ps, ps), pp, ceil, (1, 1), (p, p, p, p),
                           groups=groups, pool_algo=algo)
    return Case(op, ref)


@st.composite
def fc_case(draw) -> Case:
    dtype = np.dtype(draw(st.sampled_from([np.int8, np.int16, np.float32])))
    n = draw(st.one_of(st.integers(1, 40), st.sampled_from([256, 400, 784, 1000])))
    m = draw(st.integers(1, 21))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x, wt = rand_array(rng, dtype, (n,)), rand_array(rng, dtype, (m, n))
    if dtype.kind == "f":
        b = rng.standard_normal(m).astype(np.float32)
        ref = K.gemm(x[None], wt, b, trans_b=True)[0]
        return Case(N.fc_op(x, wt, b), ref.astype(np.float32), exact=False)
    b = rng.integers(-(2**20), 2**20, m)
    ref = K.gemm(x[None], wt, b, trans_b=True)[0]
    if draw(st.booleans()):
        return Case(N.fc_op(x, wt, b), ref.astype(N._acc_dtype(dtype)))
    rq, out, shift, relu = _requant(draw, 40 if dtype == np.int16 else 30)
    return Case(N.fc_op(x, wt, b, rq), K.requantize(ref, shift, out, relu).astype(rq.out))


@st.composite
def requant_case(draw) -> Case:
    """int32 / int64 accumulators around rounding ties, extremes and every shift."""
    wide = draw(st.booleans())
    n = draw(st.integers(1, 70))
    rq, out, shift, relu = _requant(draw, 66 if wide else 34)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dt = np.int64 if wide else np.int32
    ii = np.iinfo(dt)
    base = rng.integers(ii.min, ii.max, n, dtype=dt, endpoint=True)
    if 0 < shift < (64 if wide else 32):
        ties = (rng.integers(-1000, 1000, n).astype(np.int64) << shift) + (1 << (shift - 1))
        ties = np.clip(ties, ii.min, ii.max).astype(dt)
        base = np.where(rng.random(n) < 0.5, ties, base)
    small = rng.integers(-300, 300, n).astype(dt)
    acc = np.where(rng.random(n) < 0.3, small, base).astype(dt)
    acc[: min(n, 2)] = [ii.min, ii.max][: min(n, 2)]
    if shift < 0 and wide:
        # kernels.shift_round's int64 left shift wraps past 2**63 (our kernel saturates, which is
        # the exact value's clamp); keep the golden model inside its exact range
        acc = (acc >> 4).astype(dt)
    ref = K.requantize(acc.astype(np.int64), shift, out, relu) if shift < 64 else \
        K.saturate(np.maximum(np.zeros(n, np.int64), 0) if relu else np.zeros(n, np.int64), out)
    return Case(N.requant_op(acc, rq), ref.astype(rq.out))
