# SPDX-License-Identifier: Apache-2.0
"""Property tests: the golden model's pooling and convolution against PyTorch on random shapes
and attributes (kernel < stride, kernel > input with padding, odd sizes, 1×1)."""

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from edgepool.ir import kernels as K

SETTINGS = settings(max_examples=150, deadline=None)


@st.composite
def window(draw, max_k=5, dilation=True):
    k = draw(st.integers(1, max_k))
    s = draw(st.integers(1, k + 2))                  # includes kernel < stride
    p = draw(st.integers(0, k // 2))                 # torch: pad <= k/2
    d = draw(st.integers(1, 3)) if dilation else 1
    cm = draw(st.booleans())
    eff = (k - 1) * d + 1
    h = draw(st.integers(max(1, eff - 2 * p), 13))   # kernel may exceed the input when padded
    w = draw(st.integers(max(1, eff - 2 * p), 13))
    c = draw(st.integers(1, 5))
    return k, s, p, d, cm, h, w, c


def _x(seed, shape, integer):
    rng = np.random.default_rng(seed)
    if integer:
        return rng.integers(-128, 128, size=shape).astype(np.int64)
    return rng.standard_normal(shape).astype(np.float32)


@SETTINGS
@given(window(), st.integers(0, 2**31), st.booleans())
def test_max_pool_matches_torch(win, seed, integer):
    k, s, p, d, cm, h, w, c = win
    if integer:
        assume(not K.empty_windows((h, w), (k, k), (s, s), (p, p, p, p), (d, d), cm))
    x = _x(seed, (2, c, h, w), integer)
    ref = F.max_pool2d(torch.tensor(x, dtype=torch.float64), k, s, p, d, ceil_mode=cm).numpy()
    out = K.max_pool(x, (k, k), (s, s), (p, p, p, p), (d, d), cm)
    assert out.shape == ref.shape
    assert np.array_equal(out.astype(np.float64), ref)


@SETTINGS
@given(window(dilation=False), st.integers(0, 2**31), st.booleans())
def test_avg_pool_matches_torch(win, seed, cip):
    k, s, p, _, cm, h, w, c = win
    x = _x(seed, (2, c, h, w), False)
    ref = F.avg_pool2d(torch.tensor(x, dtype=torch.float64), k, s, p, ceil_mode=cm,
                       count_include_pad=cip).numpy()
    out = K.avg_pool(x.astype(np.float64), (k, k), (s, s), (p, p, p, p), (1, 1), cm, cip)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(window(dilation=False), st.integers(0, 2**31), st.booleans())
def test_integer_avg_pool_is_rounded_exact_average(win, seed, cip):
    """Integer average = round-half-even of the exact rational average (torch in float64)."""
    k, s, p, _, cm, h, w, c = win
    x = _x(seed, (1, c, h, w), True)
    ref = F.avg_pool2d(torch.tensor(x, dtype=torch.float64), k, s, p, ceil_mode=cm,
                       count_include_pad=cip)
    out = K.avg_pool(x, (k, k), (s, s), (p, p, p, p), (1, 1), cm, cip)
    # torch.round is round-half-even; float64 holds these small rationals closely enough
    assert np.array_equal(out, torch.round(ref).numpy().astype(np.int64))


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 3), st.integers(1, 3),
       st.integers(1, 3), st.integers(1, 12), st.integers(1, 12), st.integers(1, 4),
       st.integers(0, 2**31))
def test_conv2d_matches_torch(k, s, p, d, groups, h, w, cpg, seed):
    eff = (k - 1) * d + 1
    assume(h + 2 * p >= eff and w + 2 * p >= eff)
    c, m = cpg * groups, groups * 2
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, size=(2, c, h, w))
    wt = rng.integers(-127, 128, size=(m, cpg, k, k))
    b = rng.integers(-1000, 1000, size=m)
    out = K.conv2d(x, wt, b, (s, s), (p, p, p, p), (d, d), groups)
    ref = F.conv2d(torch.tensor(x, dtype=torch.float64), torch.tensor(wt, dtype=torch.float64),
                   torch.tensor(b, dtype=torch.float64), s, p, d, groups).numpy()
    assert out.shape == ref.shape
    assert np.array_equal(out, ref.astype(np.int64))     # exact: all values < 2^53


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 2), st.integers(1, 6), st.booleans(),
       st.integers(0, 2**31))
def test_conv2d_exact_beyond_float64(k, s, groups, depthwise, seed):
    """Codes so wide that float64 would round (|acc| > 2^53) take the int64 product; both
    paths (and grouped / depthwise convs) equal a plain Python-integer convolution."""
    rng = np.random.default_rng(seed)
    cpg = 1 if depthwise else 2
    c, m, h = cpg * groups, groups * (1 if depthwise else 2), 5
    for lim in (2 ** 7, 2 ** 28):       # float64 path, then int64 (|acc| up to 2^60)
        x = rng.integers(-lim, lim, size=(2, c, h, h))
        wt = rng.integers(-lim, lim, size=(m, cpg, k, k))
        b = rng.integers(-lim, lim, size=m)
        out = K.conv2d(x, wt, b, (s, s), (1, 1, 1, 1), (1, 1), groups)
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))).astype(object)
        oh = (h + 2 - k) // s + 1
        ref = np.empty((2, m, oh, oh), dtype=object)
        for o in range(m):
            g = o // (m // groups)
            for i in range(oh):
                for j in range(oh):
                    win = xp[:, g * cpg:(g + 1) * cpg, i * s:i * s + k, j * s:j * s + k]
                    ref[:, o, i, j] = (win * wt[o].astype(object)).sum(axis=(1, 2, 3)) + int(b[o])
        assert out.dtype == np.int64 and np.array_equal(out.astype(object), ref)


def test_global_pool_and_asymmetric_pads():
    x = _x(3, (1, 3, 5, 7), True)
    assert np.array_equal(K.global_pool(x, "max")[..., 0, 0], x.max(axis=(2, 3)))
    avg = K.global_pool(x, "avg")[..., 0, 0]
    assert np.array_equal(avg, np.round(x.sum(axis=(2, 3)) / 35).astype(np.int64))
    # asymmetric padding equals explicit padding with -inf then no padding
    xf = x.astype(np.float64)
    padded = np.pad(xf, ((0, 0), (0, 0), (1, 0), (2, 1)), constant_values=-np.inf)
    assert np.array_equal(K.max_pool(xf, (3, 3), (2, 2), (1, 2, 0, 1)),
                          K.max_pool(padded, (3, 3), (2, 2)))


def test_rounding_rules():
    v = np.array([-6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6])
    # x / 4 rounded half to even
    assert K.shift_round(v, 2).tolist() == np.round(v / 4).astype(int).tolist()
    assert K.div_round(v, 3).tolist() == np.round(v / 3).astype(int).tolist()
    assert K.shift_round(v, -3).tolist() == (v * 8).tolist()
    from edgepool.ir.qtype import QType

    t = QType(8, True, 0, narrow=True)
    assert K.requantize(np.array([1000, -1000, 6]), 1, t, relu=False).tolist() == [127, -127, 3]
    assert K.requantize(np.array([1000, -1000, 7]), 1, t, relu=True).tolist() == [127, 0, 4]
