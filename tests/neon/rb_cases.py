# SPDX-License-Identifier: Apache-2.0
"""Hypothesis strategies for the register-blocked conv (EP_ALGO_RB) and the packed GEMV, with
their golden results (:mod:`edgepool.ir.kernels`)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from edgepool.ir import kernels as K
from edgepool.ir.qtype import QType
from edgepool.neon import bridge as N

from .cases import Case, golden, hwc, nchw

# (dtype, wbits, narrow): the three RB tiles -- int8 by lane (full range), int8 dot product
# (narrow 8-bit, 7-bit, 4-bit weights stored in int8), int16 Q2.14 with int64 accumulators
WEIGHTS = [(np.int8, 0, False), (np.int8, 0, True), (np.int8, 4, False), (np.int8, 7, False),
           (np.int8, 4, True), (np.int16, 0, False)]
OUT_TYPES = [QType(8, True, 0, False), QType(8, False, 0, False), QType(8, True, 0, True),
             QType(16, True, 0, False), QType(16, False, 0, False)]


def weight_range(dtype, wbits: int, narrow: bool) -> tuple[int, int]:
    bits = wbits or np.iinfo(dtype).bits
    hi = (1 << (bits - 1)) - 1
    return (-hi if narrow else -hi - 1), hi


def draw_array(draw, rng: np.random.Generator, lo: int, hi: int, shape, dtype) -> np.ndarray:
    """Uniform values, or the extremes only (the accumulator's worst case), or ties."""
    mode = draw(st.sampled_from(["uniform", "uniform", "extremes", "min"]))
    if mode == "uniform":
        a = rng.integers(lo, hi + 1, shape)
    elif mode == "extremes":
        a = rng.choice([lo, hi], shape)
    else:
        a = np.full(shape, lo)
    return a.astype(dtype)


@st.composite
def rb_conv_case(draw, small: bool = False) -> Case:
    """Dense convolutions through EP_ALGO_RB (or AUTO): kernels 1-3 (and 5), strides 1-3,
    asymmetric pads, odd channel counts (channel tails of every tile width), maps narrower
    than a 4-pixel tile, raw or requantized (every output type, ReLU), 1-4 threads,
    weights packed by the Python packer (EP_F_PREPACKED) or by the C side."""
    dtype, wbits, narrow = draw(st.sampled_from(WEIGHTS))
    ic = draw(st.sampled_from([1, 2, 3, 8, 16, 17, 32, 33]))
    oc = draw(st.sampled_from([1, 3, 4, 5, 8, 9, 16, 17, 24, 33]))
    kh, kw = draw(st.sampled_from([1, 1, 2, 3, 3, 5])), draw(st.sampled_from([1, 2, 3, 3, 5]))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pads = tuple(draw(st.integers(0, k - 1)) for k in (kh, kw, kh, kw))
    h = draw(st.integers(1, 9 if small else 14))
    w = draw(st.integers(1, 9 if small else 14))
    assume(h + pads[0] + pads[2] >= kh and w + pads[1] + pads[3] >= kw)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ii = np.iinfo(dtype)
    x = draw_array(draw, rng, int(ii.min), int(ii.max), (h, w, ic), dtype)
    lo, hi = weight_range(dtype, wbits, narrow)
    wt = draw_array(draw, rng, lo, hi, (oc, kh, kw, ic), dtype)
    b = rng.integers(-(2**20), 2**20, oc) if draw(st.booleans()) else None
    threads = draw(st.integers(1, 4))
    prepack = draw(st.booleans())
    algo = draw(st.sampled_from(["rb", "rb", "auto"]))
    ref = hwc(K.conv2d(nchw(x), np.moveaxis(wt, -1, 1), b, (sh, sw), pads))
    kw_ = dict(algo=algo, threads=threads, wbits=wbits, narrow=narrow)
    if algo == "auto" and N.conv_algo(N.conv_op(x, wt, b, (sh, sw), pads, **kw_)) != "rb":
        prepack = False                      # the Python packer only knows the RB layout
    if draw(st.booleans()):
        op = N.conv_op(x, wt, b, (sh, sw), pads, prepack=prepack, **kw_)
        return Case(op, ref.astype(N._acc_dtype(dtype)))
    out = draw(st.sampled_from(OUT_TYPES))
    shift = draw(st.integers(-2, 34 if dtype == np.int16 else 24))
    relu = draw(st.booleans())
    rq = N.Requant.to(shift, out, relu)
    op = N.conv_op(x, wt, b, (sh, sw), pads, requant=rq, prepack=prepack, **kw_)
    return Case(op, K.requantize(ref, shift, out, relu).astype(rq.out))


@st.composite
def rb_conv_maxpool_case(draw) -> Case:
    """conv -> requantize (+ReLU) -> max pool with the RB tiles feeding the pool's rows."""
    dtype, wbits, narrow = draw(st.sampled_from(WEIGHTS))
    ic, oc = draw(st.sampled_from([1, 3, 16, 17])), draw(st.sampled_from([1, 4, 16, 19]))
    k = draw(st.integers(1, 3))
    p = draw(st.integers(0, k - 1))
    pk, ps = draw(st.integers(2, 3)), draw(st.integers(1, 2))
    # conv output >= 3 rows and columns: the pool window (<= 3) always fits
    h, w = draw(st.integers(5, 14)), draw(st.integers(5, 14))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ii = np.iinfo(dtype)
    x = rng.integers(ii.min, int(ii.max) + 1, (h, w, ic)).astype(dtype)
    lo, hi = weight_range(dtype, wbits, narrow)
    wt = rng.integers(lo, hi + 1, (oc, k, k, ic)).astype(dtype)
    b = rng.integers(-(2**18), 2**18, oc)
    out = QType(8, True, 0, False)
    shift = draw(st.integers(0, 30 if dtype == np.int16 else 20))
    relu = draw(st.booleans())
    rq = N.Requant.to(shift, out, relu)
    acc = K.conv2d(nchw(x), np.moveaxis(wt, -1, 1), b, (1, 1), (p,) * 4)
    y = K.requantize(acc, shift, out, relu).astype(np.int8)
    ref = golden(K.max_pool, y, (pk, pk), (ps, ps), (0, 0, 0, 0), (1, 1), False)
    op = N.conv_maxpool_op(x, wt, b, rq, (pk, pk), (ps, ps), pads=(p,) * 4, algo="rb",
                           wbits=wbits, narrow=narrow)
    return Case(op, ref)


@st.composite
def packed_fc_case(draw) -> Case:
    """The packed GEMV: every accumulation mode (int32 lanes; two products per int16 lane for
    narrow 8-bit weights; int16 chains of 1-15 blocks for 4-7-bit weights), input tails,
    row tails, 1-4 threads, prepacked in Python or packed by the C side."""
    wbits, narrow = draw(st.sampled_from([(0, False), (0, True), (4, False), (5, False),
                                          (6, False), (7, False), (4, True)]))
    n = draw(st.one_of(st.integers(1, 40), st.sampled_from([256, 257, 400, 800])))
    m = draw(st.integers(1, 21))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = draw_array(draw, rng, -128, 127, (n,), np.int8)
    lo, hi = weight_range(np.int8, wbits, narrow)
    wt = draw_array(draw, rng, lo, hi, (m, n), np.int8)
    b = rng.integers(-(2**20), 2**20, m) if draw(st.booleans()) else None
    ref = K.gemm(x[None], wt, b, trans_b=True)[0]
    kw = dict(algo="rb", threads=draw(st.integers(1, 4)), wbits=wbits, narrow=narrow,
              prepack=draw(st.booleans()))
    if draw(st.booleans()):
        return Case(N.fc_op(x, wt, b, **kw), ref.astype(np.int32))
    out = draw(st.sampled_from(OUT_TYPES))
    shift = draw(st.integers(-2, 30))
    relu = draw(st.booleans())
    rq = N.Requant.to(shift, out, relu)
    return Case(N.fc_op(x, wt, b, rq, **kw), K.requantize(ref, shift, out, relu).astype(rq.out))


@st.composite
def wino_conv_case(draw, small: bool = False) -> Case:
    """3x3 stride-1 int8 convolutions through the exact Winograd F(2x2, 3x3) kernel
    (EP_ALGO_WINO, or AUTO where it picks it): every int8 weight width (full range, narrow,
    4/7-bit), asymmetric pads 0-2, odd channel counts (input tails of the 8-channel transform,
    output tails of the 16-channel block), maps of 1-2 output rows / columns (partial 2x2
    tiles), extreme values (the accumulator's worst case), raw or requantized, 1-4 threads,
    prepacked or packed by the C side; optionally fused with a max pool (the tile-row cache)."""
    _, wbits, narrow = draw(st.sampled_from([w for w in WEIGHTS if w[0] == np.int8]))
    ic = draw(st.sampled_from([1, 2, 3, 7, 8, 9, 16, 17, 33]))
    oc = draw(st.sampled_from([1, 3, 5, 16, 17, 33]))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(4))
    h = draw(st.integers(1, 9 if small else 14))
    w = draw(st.integers(1, 9 if small else 14))
    assume(h + pads[0] + pads[2] >= 3 and w + pads[1] + pads[3] >= 3)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = draw_array(draw, rng, -128, 127, (h, w, ic), np.int8)
    lo, hi = weight_range(np.int8, wbits, narrow)
    wt = draw_array(draw, rng, lo, hi, (oc, 3, 3, ic), np.int8)
    b = rng.integers(-(2**20), 2**20, oc) if draw(st.booleans()) else None
    kw_ = dict(algo=draw(st.sampled_from(["wino", "wino", "auto"])), wbits=wbits, narrow=narrow)
    acc = K.conv2d(nchw(x), np.moveaxis(wt, -1, 1), b, (1, 1), pads)
    if draw(st.integers(0, 3)) == 0 and acc.shape[2] >= 3 and acc.shape[3] >= 3:
        out = QType(8, True, 0, False)
        shift, relu = draw(st.integers(0, 20)), draw(st.booleans())
        y = K.requantize(acc, shift, out, relu).astype(np.int8)
        pk, ps = draw(st.integers(2, 3)), draw(st.integers(1, 2))
        ref = golden(K.max_pool, y, (pk, pk), (ps, ps), (0, 0, 0, 0), (1, 1), False)
        op = N.conv_maxpool_op(x, wt, b, N.Requant.to(shift, out, relu), (pk, pk), (ps, ps),
                               pads=pads, **kw_)
        return Case(op, ref)
    kw_.update(threads=draw(st.integers(1, 4)), prepack=draw(st.booleans()))
    ref = hwc(acc)
    if draw(st.booleans()):
        return Case(N.conv_op(x, wt, b, (1, 1), pads, **kw_), ref.astype(np.int32))
    out = draw(st.sampled_from(OUT_TYPES))
    shift, relu = draw(st.integers(-2, 24)), draw(st.booleans())
    rq = N.Requant.to(shift, out, relu)
    return Case(N.conv_op(x, wt, b, (1, 1), pads, requant=rq, **kw_),
                K.requantize(ref, shift, out, relu).astype(rq.out))


@st.composite
def dw_conv_case(draw, small: bool = False, fused: bool | None = None) -> Case:
    """Depthwise 3x3 int8 convolutions through the register-blocked kernel (EP_ALGO_DW, or
    AUTO where it picks it), and 3x3 convolutions of one input channel (its broadcast
    variant, 1-24 output channels): every int8 weight width (full range, narrow, 4/7-bit),
    horizontal stride 1-2 and vertical 1-3, asymmetric pads 0-2, channel counts with and
    without a tail of the 8-channel block, maps narrower than a tile (8, 4 and single-pixel
    tiles, the overlapped last tile), extreme values, raw or requantized (every output type,
    ReLU, left shifts and shifts up to 31), 1-4 threads, prepacked or packed by the C side;
    optionally fused with a max pool."""
    _, wbits, narrow = draw(st.sampled_from([w for w in WEIGHTS if w[0] == np.int8]))
    c = draw(st.sampled_from([1, 1, 2, 3, 5, 8, 9, 15, 16, 17, 24, 33]))
    # one input channel (groups 1): the broadcast variant, any number of output channels
    oc = draw(st.sampled_from([1, 3, 8, 9, 16, 17, 24])) if c == 1 else c
    groups = c if c > 1 else 1
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(4))
    h = draw(st.integers(1, 9 if small else 14))
    w = draw(st.integers(1, 12 if small else 21))
    assume(h + pads[0] + pads[2] >= 3 and w + pads[1] + pads[3] >= 3)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = draw_array(draw, rng, -128, 127, (h, w, c), np.int8)
    lo, hi = weight_range(np.int8, wbits, narrow)
    wt = draw_array(draw, rng, lo, hi, (oc, 3, 3, 1), np.int8)
    b = rng.integers(-(2**20), 2**20, oc) if draw(st.booleans()) else None
    kw_ = dict(groups=groups, algo=draw(st.sampled_from(["dw", "dw", "auto"])), wbits=wbits,
               narrow=narrow)
    acc = K.conv2d(nchw(x), np.moveaxis(wt, -1, 1), b, (sh, sw), pads, groups=groups)
    if fused is None:
        fused = draw(st.integers(0, 3)) == 0
    if fused and acc.shape[2] >= 3 and acc.shape[3] >= 3:
        out = QType(8, True, 0, False)
        shift, relu = draw(st.integers(0, 20)), draw(st.booleans())
        y = K.requantize(acc, shift, out, relu).astype(np.int8)
        pk, ps = draw(st.integers(2, 3)), draw(st.integers(1, 2))
        ref = golden(K.max_pool, y, (pk, pk), (ps, ps), (0, 0, 0, 0), (1, 1), False)
        op = N.conv_maxpool_op(x, wt, b, N.Requant.to(shift, out, relu), (pk, pk), (ps, ps),
                               strides=(sh, sw), pads=pads, **kw_)
        return Case(op, ref)
    kw_.update(threads=draw(st.integers(1, 4)), prepack=draw(st.booleans()))
    if kw_["algo"] == "auto" and N.conv_algo(N.conv_op(x, wt, b, (sh, sw), pads, **{
            k: v for k, v in kw_.items() if k != "prepack"})) not in ("dw", "rb", "wino"):
        kw_["prepack"] = False               # the legacy sliding layout is not prepacked
    ref = hwc(acc)
    if draw(st.booleans()):
        return Case(N.conv_op(x, wt, b, (sh, sw), pads, **kw_), ref.astype(np.int32))
    out = draw(st.sampled_from(OUT_TYPES))
    shift, relu = draw(st.one_of(st.integers(-2, 24), st.sampled_from([30, 31]))), \
        draw(st.booleans())
    rq = N.Requant.to(shift, out, relu)
    return Case(N.conv_op(x, wt, b, (sh, sw), pads, requant=rq, **kw_),
                K.requantize(ref, shift, out, relu).astype(rq.out))


def dw_fixed_cases(rng: np.random.Generator, shapes, prepack) -> list[Case]:
    """Depthwise 3x3 on fixed (H, W, C, stride, pad) ``shapes``: random int8 maps and weights,
    a raw int32 output and the fast uint8 / int8 epilogues, 1-4 threads (``prepack(threads)``
    says whether the weights are packed ahead), each with its golden result."""
    cases = []
    for h, w, c, s, p in shapes:
        x = rng.integers(-128, 128, (h, w, c)).astype(np.int8)
        wt = rng.integers(-128, 128, (c, 3, 3, 1)).astype(np.int8)
        b = rng.integers(-(2**16), 2**16, c)
        acc = K.conv2d(nchw(x), np.moveaxis(wt, -1, 1), b, (s, s), (p,) * 4, groups=c)
        for rq in (None, N.Requant(9, np.dtype(np.uint8), 0, 255, True),
                   N.Requant(7, np.dtype(np.int8), -128, 127, False)):
            ref = (hwc(acc).astype(np.int32) if rq is None else
                   hwc(K.requantize(acc, rq.shift, QType(8, rq.out == np.int8, 0, False),
                                    rq.relu)).astype(rq.out))
            for t in (1, 2, 3, 4):
                op = N.conv_op(x, wt, b, (s, s), (p,) * 4, groups=c, requant=rq, algo="dw",
                               threads=t, prepack=prepack(t))
                cases.append(Case(op, ref))
    return cases
