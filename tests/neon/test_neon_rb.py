# SPDX-License-Identifier: Apache-2.0
"""Register-blocked conv (EP_ALGO_RB) and the packed GEMV on SIMDe (native, ctypes) against the
golden model: hypothesis shapes, packers (Python == C), threads, accumulator bounds at their
boundary values, AUTO's choices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgepool.ir import kernels as K
from edgepool.ir.qtype import QType
from edgepool.neon import bridge as N

from .cases import Case, hwc, nchw
from .rb_cases import (
    WEIGHTS,
    dw_conv_case,
    dw_fixed_cases,
    packed_fc_case,
    rb_conv_case,
    rb_conv_maxpool_case,
    weight_range,
)

pytestmark = pytest.mark.simde
FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def run(case: Case) -> None:
    case.check(N.run_native([case.op])[0])


@FAST
@given(rb_conv_case())
def test_rb_conv(case):
    run(case)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rb_conv_maxpool_case())
def test_rb_conv_maxpool_fused(case):
    run(case)


@FAST
@given(packed_fc_case())
def test_packed_fc(case):
    run(case)


@FAST
@given(dw_conv_case())
def test_dw_conv(case):
    """The register-blocked depthwise 3x3 kernel (EP_ALGO_DW) and its fused max pool."""
    run(case)


def test_dw_threads_and_tiles_bit_exact():
    """Depthwise 3x3 with 1-4 threads, strides 1 and 2, maps whose width takes 8-pixel tiles
    (with an overlapped last tile), 4-pixel tiles and single pixels, channel tails: all equal
    the golden model."""
    shapes = [(14, 14, 16, 1, 1), (16, 16, 32, 2, 0), (9, 9, 64, 1, 0), (7, 13, 19, 2, 1),
              (5, 6, 8, 1, 1), (4, 3, 9, 1, 0), (11, 23, 33, 1, 2)]
    for case in dw_fixed_cases(np.random.default_rng(12), shapes, lambda t: t % 2 == 0):
        case.check(N.run_native([case.op])[0])


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(WEIGHTS), st.integers(1, 40), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 37), st.integers(0, 2**32 - 1))
def test_python_packer_equals_c(weights, oc, kh, kw, ic, seed):
    """pack_conv_rb (build time, Python) is byte-identical to ep_conv_pack (C)."""
    dtype, wbits, narrow = weights
    rng = np.random.default_rng(seed)
    lo, hi = weight_range(dtype, wbits, narrow)
    w = rng.integers(lo, hi + 1, (oc, kh, kw, ic)).astype(dtype)
    x = np.zeros((kh + 2, kw + 2, ic), dtype)
    op = N.conv_op(x, w, algo="rb", wbits=wbits, narrow=narrow)
    assert np.array_equal(N.pack_native(op), N.pack_conv_rb(w, wbits, narrow).view(np.uint8))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([(0, False), (0, True), (4, False), (6, False)]), st.integers(1, 70),
       st.integers(1, 23), st.integers(0, 2**32 - 1))
def test_python_fc_packer_equals_c(weights, n, m, seed):
    wbits, narrow = weights
    rng = np.random.default_rng(seed)
    lo, hi = weight_range(np.int8, wbits, narrow)
    w = rng.integers(lo, hi + 1, (m, n)).astype(np.int8)
    op = N.fc_op(np.zeros(n, np.int8), w, algo="rb", wbits=wbits, narrow=narrow)
    assert np.array_equal(N.pack_native(op), N.pack_fc(w, wbits, narrow).view(np.uint8))


def test_threads_bit_exact():
    """1, 2, 3 and 4 threads give the same (golden) output, on shapes whose rows do and do not
    divide evenly among the threads."""
    rng = np.random.default_rng(5)
    # the 1x1 layers with W % 4 != 0 and enough channel blocks run as one long row (rb_flat)
    for (h, w, ic, oc, k), narrow in [((13, 11, 17, 33, 3), False), ((7, 9, 32, 20, 1), True),
                                      ((5, 16, 8, 16, 3), True), ((7, 10, 256, 40, 1), True),
                                      ((5, 6, 32, 70, 1), False)]:
        x = rng.integers(-128, 128, (h, w, ic)).astype(np.int8)
        wt = rng.integers(-127, 128, (oc, k, k, ic)).astype(np.int8)
        ref = hwc(K.conv2d(nchw(x), np.moveaxis(wt, -1, 1), None, (1, 1), (k // 2,) * 4))
        for t in (1, 2, 3, 4):
            op = N.conv_op(x, wt, pads=(k // 2,) * 4, algo="rb", threads=t, narrow=narrow)
            Case(op, ref.astype(np.int32)).check(N.run_native([op])[0])
        xs = rng.integers(-128, 128, 300).astype(np.int8)
        ws = rng.integers(-127, 128, (37, 300)).astype(np.int8)
        ref = K.gemm(xs[None], ws, None, trans_b=True)[0].astype(np.int32)
        for t in (1, 2, 3, 4):
            op = N.fc_op(xs, ws, algo="rb", threads=t, narrow=narrow)
            Case(op, ref).check(N.run_native([op])[0])


# --------------------------------------------------------------------------- accumulator bounds
def _extreme_conv(dtype, wbits: int, ic: int, bias_value: int):
    """All inputs at the type minimum, all weights at the declared minimum: every product is
    the largest positive one, so the sum + bias is the bound exactly."""
    lo = weight_range(dtype, wbits, False)[0]
    x = np.full((4, 5, ic), np.iinfo(dtype).min, dtype)
    w = np.full((3, 3, 3, ic), lo, dtype)
    b = np.full(3, bias_value, np.int64)
    prod = 9 * ic * int(np.iinfo(dtype).min) * lo
    return x, w, b, prod


@pytest.mark.parametrize("dtype,wbits,ic", [(np.int8, 0, 8), (np.int8, 4, 16),
                                            (np.int8, 7, 5), (np.int16, 0, 8)])
def test_conv_accumulator_bound_boundary(dtype, wbits, ic):
    """K * max|x| * max|w| + max|bias| == the accumulator's maximum runs exactly; one more is
    refused (EP_ERANGE), for AUTO as for RB: no kernel is chosen that could overflow."""
    acc = N._acc_dtype(dtype)
    amax = int(np.iinfo(acc).max)
    for algo in ("rb", "auto"):
        x, w, b, prod = _extreme_conv(dtype, wbits, ic, 0)
        b = np.full(3, amax - prod, np.int64)
        op = N.conv_op(x, w, b, algo=algo, wbits=wbits)
        assert algo == "auto" or N.conv_algo(op) == "rb"
        got = N.run_native([op])[0]
        assert np.all(got == amax)                       # the golden value, exactly
        ref = hwc(K.conv2d(nchw(x), np.moveaxis(w, -1, 1), b))
        assert np.array_equal(got, ref.astype(acc))
        op = N.conv_op(x, w, b + 1, algo=algo, wbits=wbits)
        with pytest.raises(N.NeonError, match="EP_ERANGE"):
            N.run_native([op])
        b2 = np.full(3, -(amax - prod), np.int64)      # |bias| counts for negative biases too
        b2[1] -= 1
        with pytest.raises(N.NeonError, match="EP_ERANGE"):
            N.run_native([N.conv_op(x, w, b2, algo=algo, wbits=wbits)])


@pytest.mark.parametrize("wbits", [0, 4])
def test_dw_accumulator_bound_boundary(wbits):
    """Depthwise (K = 9 per channel): the bound's extreme value runs exactly through DW and
    AUTO, with a requantized output too (the fast int8 epilogue at INT32_MAX); one more is
    refused."""
    lo = weight_range(np.int8, wbits, False)[0]
    x = np.full((5, 11, 8), -128, np.int8)
    w = np.full((8, 3, 3, 1), lo, np.int8)
    prod = 9 * 128 * -lo
    amax = int(np.iinfo(np.int32).max)

    def requantized(acc: int, wt, bias, algo: str) -> None:
        """Every output of the layer is the accumulator ``acc`` requantized (int8 epilogue)."""
        for shift in (1, 8, 31):
            rq = N.Requant(shift, np.dtype(np.int8), -128, 127, False)
            ref = K.requantize(np.full(1, acc, np.int64), shift, QType(8, True, 0, False),
                               False)[0]
            got = N.run_native([N.conv_op(x, wt, bias, groups=8, requant=rq, algo=algo,
                                          wbits=wbits)])[0]
            assert np.all(got == ref)

    for algo in ("dw", "auto"):
        b = np.full(8, amax - prod, np.int64)
        op = N.conv_op(x, w, b, groups=8, algo=algo, wbits=wbits)
        assert N.conv_algo(op) == "dw"
        got = N.run_native([op])[0]
        assert np.all(got == amax)
        requantized(amax, w, b, algo)
        with pytest.raises(N.NeonError, match="EP_ERANGE"):
            N.run_native([N.conv_op(x, w, b + 1, groups=8, algo=algo, wbits=wbits)])
        # the most negative accumulator the bound admits: -128 inputs, the largest positive
        # weights, the most negative bias
        wp = np.full((8, 3, 3, 1), -lo - 1, np.int8)
        bn = np.full(8, -(amax - prod), np.int64)
        requantized(-(amax - prod) - 9 * 128 * (-lo - 1), wp, bn, algo)


@pytest.mark.parametrize("wbits", [0, 4])
def test_fc_accumulator_bound_boundary(wbits):
    n = 64
    lo = weight_range(np.int8, wbits, False)[0]
    x, w = np.full(n, -128, np.int8), np.full((5, n), lo, np.int8)
    prod = n * 128 * -lo
    b = np.full(5, 2**31 - 1 - prod, np.int64)
    got = N.run_native([N.fc_op(x, w, b, algo="rb", wbits=wbits)])[0]
    assert np.all(got == 2**31 - 1)
    with pytest.raises(N.NeonError, match="EP_ERANGE"):
        N.run_native([N.fc_op(x, w, b + 1, algo="rb", wbits=wbits)])


def test_int16_partial_sums_need_int64():
    """Q2.14 extremes: 9 * 8 products of 2^30 overflow int32 many times over; the int64 tile
    gives the exact sum."""
    x = np.full((3, 3, 8), -32768, np.int16)
    w = np.full((2, 3, 3, 8), -32768, np.int16)
    got = N.run_native([N.conv_op(x, w, algo="rb")])[0]
    assert got.dtype == np.int64 and np.all(got == 72 * 2**30)


def test_weights_outside_declared_bits_are_refused():
    x = np.zeros((4, 4, 8), np.int8)
    w = np.zeros((4, 3, 3, 8), np.int8)
    w[1, 1, 1, 3] = 8                                   # not a 4-bit value
    with pytest.raises(N.NeonError, match="EP_ERANGE"):
        N.run_native([N.conv_op(x, w, algo="rb", wbits=4)])
    with pytest.raises(N.NeonError, match="4-bit"):
        N.pack_conv_rb(w, 4)
    w[1, 1, 1, 3] = -128                                # not narrow
    with pytest.raises(N.NeonError, match="EP_ERANGE"):
        N.run_native([N.conv_op(x, w, algo="rb", narrow=True)])
    with pytest.raises(N.NeonError, match="EP_ERANGE"):
        N.run_native([N.fc_op(np.zeros(8, np.int8), w[1, 1], algo="rb", narrow=True)])


# --------------------------------------------------------------------------- AUTO
def test_auto_picks_rb_for_dense_layers_and_sliding_elsewhere():
    rng = np.random.default_rng(0)
    x8 = rng.integers(-128, 128, (16, 16, 32)).astype(np.int8)
    # int8 3x3 stride 1: the exact Winograd kernel (tests/neon/test_neon_wino.py)
    for oc, k, s, algo in [(16, 3, 1, "wino"), (32, 1, 1, "rb"), (64, 3, 1, "wino"),
                           (64, 3, 2, "rb")]:
        w = rng.integers(-127, 128, (oc, k, k, 32)).astype(np.int8)
        assert N.conv_algo(N.conv_op(x8, w, strides=(s, s), pads=(k // 2,) * 4,
                                     algo="auto")) == algo
    dw = rng.integers(-127, 128, (32, 3, 3, 1)).astype(np.int8)
    # depthwise 3x3 int8, stride 1 or 2: the register-blocked DW kernel; others: sliding
    assert N.conv_algo(N.conv_op(x8, dw, groups=32, algo="auto")) == "dw"
    assert N.conv_algo(N.conv_op(x8, dw, None, (2, 2), (1,) * 4, groups=32, algo="auto")) == "dw"
    assert N.conv_algo(N.conv_op(x8, dw, None, (3, 3), groups=32, algo="auto")) == "sliding"
    assert N.conv_algo(N.conv_op(x8, dw, dilations=(2, 2), groups=32, algo="auto")) == "sliding"
    dw5 = rng.integers(-127, 128, (32, 5, 5, 1)).astype(np.int8)
    assert N.conv_algo(N.conv_op(x8, dw5, groups=32, algo="auto")) == "sliding"
    x16 = x8.astype(np.int16)
    assert N.conv_algo(N.conv_op(x16, dw.astype(np.int16), groups=32, algo="auto")) == "sliding"
    # 3x3 of one input channel (a first layer): the DW kernel's broadcast variant
    x1 = rng.integers(-128, 128, (28, 28, 1)).astype(np.int8)
    w1 = rng.integers(-127, 128, (16, 3, 3, 1)).astype(np.int8)
    assert N.conv_algo(N.conv_op(x1, w1, pads=(1,) * 4, algo="auto")) == "dw"
    wd = rng.integers(-127, 128, (8, 3, 3, 32)).astype(np.int8)
    assert N.conv_algo(N.conv_op(x8, wd, dilations=(2, 2), algo="auto")) == "sliding"
    xf = x8.astype(np.float32)
    assert N.conv_algo(N.conv_op(xf, wd.astype(np.float32), algo="auto")) == "sliding"


# --------------------------------------------------------------------------- sanitizers
ASAN_SCRIPT = r"""
import sys
sys.path.insert(0, sys.argv[1])
from hypothesis import given, settings, HealthCheck
from hypothesis import strategies as st
from edgepool.neon import bridge as N
import neon.rb_cases as R
count = [0]
@settings(max_examples=30, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(st.one_of(R.rb_conv_case(small=True), R.rb_conv_maxpool_case(), R.packed_fc_case(),
                R.dw_conv_case(small=True)))
def check(case):
    case.check(N.run_native([case.op], sanitize=True)[0])
    count[0] += 1
check()
print("CHECKED", count[0])
"""


def test_rb_asan_ubsan_clean():
    """The RB tiles read up to 15 bytes past a window row (into zeroed slack) and split work
    over threads: ASan + UBSan over a derandomized example set, in a subprocess (the ASan
    runtime must be preloaded)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from edgepool import toolchain

    gcc = toolchain.require("gcc")
    N.build_native(sanitize=True)
    libs = [subprocess.run([gcc, f"-print-file-name={lib}"], capture_output=True, text=True,
                           check=True).stdout.strip() for lib in ("libasan.so", "libubsan.so")]
    env = dict(os.environ, LD_PRELOAD=":".join(libs),
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    res = subprocess.run([sys.executable, "-c", ASAN_SCRIPT, str(Path(__file__).parents[1])],
                         capture_output=True, text=True, env=env, cwd=toolchain.REPO_ROOT,
                         timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    assert "runtime error" not in res.stderr and "AddressSanitizer" not in res.stderr
    assert int(res.stdout.split("CHECKED")[-1]) >= 15


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.float32])
@pytest.mark.parametrize("c", [64, 96, 128])
def test_maxpool_3x3_s2_wide_channels(dtype, c):
    """3x3 stride 2 without padding at C a multiple of 2 vectors (the column-sharing walk per
    channel group), odd and even maps, vertical strides 1-2."""
    from .cases import rand_array

    rng = np.random.default_rng(c)
    for h, w, sh in [(9, 11, 2), (10, 7, 1), (3, 3, 2)]:
        x = rand_array(rng, dtype, (h, w, c))
        ref = hwc(K.max_pool(nchw(x), (3, 3), (sh, 2), (0, 0, 0, 0), (1, 1), False))
        op = N.maxpool_op(x, (3, 3), (sh, 2))
        Case(op, ref).check(N.run_native([op])[0])


def test_glue_threads_follow_the_work():
    """The C glue splits a conv layer over threads only when the cost model gives every thread
    at least MIN_WORK_PER_THREAD instructions: dwsep-mnist-sized layers stay on one thread, a
    VGG-sized one takes all four."""
    from edgepool.neon.glue import MIN_WORK_PER_THREAD, ConvParams, layer_threads

    def conv(h, w, ic, oc, k, groups=1):
        wt = np.zeros((oc, k, k, ic // groups), np.int8)
        return ConvParams(arith="int8", offset=False, w=wt, bias=None, h=h, w_=w, ic=ic, oc=oc,
                          kh=k, kw=k, sh=1, sw=1, pt=0, pl=0, pb=0, pr=0, dh=1, dw=1,
                          groups=groups)

    assert layer_threads(conv(16, 16, 16, 16, 3, 16), 16, 16, (0,) * 4, 8, True, 4) == 1
    assert layer_threads(conv(7, 7, 64, 64, 1), 7, 7, (0,) * 4, 8, True, 4) == 1
    assert layer_threads(conv(56, 56, 64, 64, 3), 56, 56, (0,) * 4, 8, True, 4) == 4
    assert layer_threads(conv(56, 56, 64, 64, 3), 56, 56, (0,) * 4, 8, True, 1) == 1
    c = conv(28, 28, 32, 64, 3)
    op = N.conv_op(np.zeros((28, 28, 32), np.int8), c.w, algo="auto", wbits=8, narrow=True)
    n = layer_threads(c, 28, 28, (0,) * 4, 8, True, 8)
    assert n == max(1, min(8, int(N.conv_cost(op, N.conv_algo(op)) // MIN_WORK_PER_THREAD)))
