# SPDX-License-Identifier: Apache-2.0
"""Exact Winograd F(2x2, 3x3) conv (EP_ALGO_WINO, neon/src/conv_wino.c) against the golden
model: hypothesis shapes on SIMDe (native, ctypes) and batches under qemu-aarch64 (the asm
GEMM), threads 1-4, the fused max pool, the 4Y-fits-int32 bound at its boundary, AUTO."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgepool.ir import kernels as K
from edgepool.neon import bridge as N

from .cases import Case, hwc, nchw, run_batch_aarch64
from .rb_cases import wino_conv_case

SLOW_OK = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]


@pytest.mark.simde
@settings(max_examples=200, deadline=None, suppress_health_check=SLOW_OK)
@given(wino_conv_case())
def test_wino_conv_simde(case):
    case.check(N.run_native([case.op])[0])


@pytest.mark.aarch64
@settings(max_examples=3, deadline=None, suppress_health_check=SLOW_OK)
@given(st.lists(wino_conv_case(small=True), min_size=30, max_size=40))
def test_wino_conv_aarch64(cases):
    run_batch_aarch64(cases)


def _layer(rng, h, w, ic, oc, lo=-128, hi=127):
    x = rng.integers(-128, 128, (h, w, ic)).astype(np.int8)
    wt = rng.integers(lo, hi + 1, (oc, 3, 3, ic)).astype(np.int8)
    return x, wt


@pytest.mark.aarch64
def test_wino_threads_and_wide_layers_aarch64():
    """Layer-sized shapes (several 4-tile groups and channel blocks) with 1-4 threads, and
    the widest input the 4Y bound allows at the extreme values, in one qemu run."""
    rng = np.random.default_rng(12)
    cases = []
    for h, w, ic, oc in [(14, 13, 64, 40), (16, 16, 32, 16), (7, 30, 24, 33)]:
        x, wt = _layer(rng, h, w, ic, oc)
        b = rng.integers(-(2**16), 2**16, oc)
        ref = hwc(K.conv2d(nchw(x), np.moveaxis(wt, -1, 1), b, (1, 1), (1,) * 4))
        for t in (1, 2, 3, 4):
            op = N.conv_op(x, wt, b, pads=(1,) * 4, algo="auto", threads=t, prepack=True)
            assert N.conv_algo(op) == "wino"
            cases.append(Case(op, ref.astype(np.int32)))
    cases.append(_bound_case(np.int8(-128), np.int8(-128)))
    cases.append(_bound_case(np.int8(-128), np.int8(127)))
    run_batch_aarch64(cases)


IC_MAX = 3640          # 4 * 9 * IC * 128 * 128 <= INT32_MAX (conv_wino.c, wg_fits)


def _bound_case(xv, wv, ic: int = IC_MAX) -> Case:
    x = np.full((4, 4, ic), xv, np.int8)
    wt = np.full((2, 3, 3, ic), wv, np.int8)
    ref = hwc(K.conv2d(nchw(x), np.moveaxis(wt, -1, 1), None, (1, 1), (0,) * 4))
    return Case(N.conv_op(x, wt, algo="wino"), ref.astype(np.int32))


@pytest.mark.simde
def test_wino_accumulator_bound_at_the_boundary():
    """4Y (the transform's scaled result) fits int32 up to IC = 3640 for 8-bit weights: exact
    there at the extremes; one channel more is not a Winograd layer (EP_EINVAL), and AUTO
    takes another kernel. Narrower weights widen the bound."""
    assert 4 * 9 * IC_MAX * 128 * 128 <= 2**31 - 1 < 4 * 9 * (IC_MAX + 1) * 128 * 128
    for xv, wv in [(-128, -128), (-128, 127), (127, -128)]:
        case = _bound_case(np.int8(xv), np.int8(wv))
        case.check(N.run_native([case.op])[0])
    x = np.zeros((4, 4, IC_MAX + 1), np.int8)
    wt = np.zeros((2, 3, 3, IC_MAX + 1), np.int8)
    with pytest.raises(N.NeonError, match="EP_EINVAL|invalid descriptor"):
        N.run_native([N.conv_op(x, wt, algo="wino")])
    assert N.conv_algo(N.conv_op(x, wt, algo="auto")) != "wino"
    assert N.conv_algo(N.conv_op(x, wt, algo="wino", wbits=7)) == "wino"
    N.run_native([N.conv_op(x, wt, algo="wino", wbits=7)])


@pytest.mark.simde
def test_wino_rejects_what_it_does_not_compute():
    rng = np.random.default_rng(3)
    x, wt = _layer(rng, 8, 8, 8, 8)
    for kw in [dict(strides=(2, 2)), dict(dilations=(2, 2))]:
        with pytest.raises(N.NeonError, match="EP_EINVAL|invalid descriptor"):
            N.run_native([N.conv_op(x, wt, algo="wino", **kw)])
        assert N.conv_algo(N.conv_op(x, wt, algo="auto", **kw)) != "wino"
    with pytest.raises(N.NeonError, match="EP_ETYPE|EP_EINVAL|invalid descriptor"):
        N.run_native([N.conv_op(x.astype(np.int16), wt.astype(np.int16), algo="wino")])
    w5 = rng.integers(-127, 128, (8, 5, 5, 8)).astype(np.int8)
    assert N.conv_algo(N.conv_op(x, w5, algo="auto")) != "wino"
