# SPDX-License-Identifier: Apache-2.0
"""NEON kernels built natively with SIMDe, called through ctypes, against the golden model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgepool.ir import kernels as K
from edgepool.neon import bridge as N

from .cases import (
    Case,
    avg2_case,
    conv_case,
    conv_maxpool_case,
    fast_pool_case,
    fc_case,
    global_case,
    hwc,
    nchw,
    pool_case,
    requant_case,
)

pytestmark = pytest.mark.simde
FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def run(case) -> None:
    case.check(N.run_native([case.op])[0])


@FAST
@given(pool_case("max"))
def test_maxpool(case):
    run(case)


@FAST
@given(pool_case("avg"))
def test_avgpool(case):
    run(case)


@FAST
@given(avg2_case())
def test_avgpool_2x2_s2(case):
    run(case)


@FAST
@given(fast_pool_case())
def test_maxpool_fast_paths(case):
    run(case)


@FAST
@given(global_case())
def test_global_pool(case):
    run(case)


@FAST
@given(conv_case())
def test_conv(case):
    run(case)


@FAST
@given(conv_maxpool_case())
def test_conv_relu_maxpool_fused(case):
    run(case)


@FAST
@given(fc_case())
def test_fc(case):
    run(case)


@FAST
@given(requant_case())
def test_requantize(case):
    run(case)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["direct", "vanherk", "auto"]), st.integers(0, 2**32 - 1))
def test_maxpool_algorithms_agree_on_large_maps(algo, seed):
    """56x56x64 int8 and 3x3..7x7 stride 1: every algorithm gives the same (golden) answer."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (56, 56, 64)).astype(np.int8)
    k = int(rng.integers(3, 8))
    ref = hwc(K.max_pool(nchw(x), (k, k), (1, 1), (1, 1, 1, 1), (1, 1), False))
    op = N.maxpool_op(x, (k, k), (1, 1), (1, 1, 1, 1), algo=algo)
    Case(op, ref).check(N.run_native([op])[0])


def test_bad_descriptor_is_an_error():
    """A window larger than the padded input is rejected by the C side, not run."""
    x = np.zeros((2, 2, 3), np.int8)
    op = N.maxpool_op(x, (1, 1), (1, 1))
    op.desc[N.D_KH] = 5
    with pytest.raises(N.NeonError):
        N.run_native([op])


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.integers(1, 4), st.integers(0, 5),
       st.integers(1, 3), st.booleans(), st.sampled_from([np.int8, np.uint16, np.float32]))
def test_maxpool_padding_only_windows(size, k, s, pad, d, ceil, dtype):
    """Integer max pooling rejects exactly the configurations the golden model rejects."""
    if size + 2 * pad < d * (k - 1) + 1:
        return
    x = np.ones((size, size, 3), dtype)
    op = N.maxpool_op(x, (k, k), (s, s), (pad,) * 4, (d, d), ceil)
    empty = K.empty_windows((size, size), (k, k), (s, s), (pad,) * 4, (d, d), ceil)
    if empty and dtype != np.float32:
        with pytest.raises(N.NeonError):
            N.run_native([op])
    else:
        got = N.run_native([op])[0]
        Case(op, hwc(K.max_pool(nchw(x), (k, k), (s, s), (pad,) * 4, (d, d), ceil))).check(got)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([np.int8, np.uint8, np.int16, np.uint16]), st.integers(0, 2**32 - 1),
       st.sampled_from([(17, 16), (16, 17), (3, 3), (2, 2), (1, 2)]), st.booleans())
def test_avgpool_division_paths(dtype, seed, kernel, cip):
    """Both exact integer divisions: 16-bit lanes (8-bit inputs, windows of <= 256) and 32-bit
    lanes (16-bit inputs, or windows of > 256), with extreme and tie-heavy inputs."""
    rng = np.random.default_rng(seed)
    ii = np.iinfo(dtype)
    h, w, c = int(rng.integers(17, 30)), int(rng.integers(17, 30)), int(rng.choice([1, 5, 16, 33]))
    mode = int(rng.integers(0, 3))
    if mode == 0:
        x = rng.integers(ii.min, int(ii.max) + 1, (h, w, c))
    elif mode == 1:
        x = rng.choice([ii.min, ii.max], (h, w, c))
    else:
        x = rng.integers(0, 2, (h, w, c)) + (ii.min if ii.min < 0 else 0)
    x = x.astype(dtype)
    pads = tuple(int(rng.integers(0, k // 2 + 1)) for k in (kernel[0], kernel[1]) * 2)
    ref = hwc(K.avg_pool(nchw(x), kernel, (1, 1), pads, (1, 1), False, cip))
    op = N.avgpool_op(x, kernel, (1, 1), pads, count_include_pad=cip)
    Case(op, ref.astype(dtype)).check(N.run_native([op])[0])
