# SPDX-License-Identifier: Apache-2.0
"""Register-blocked conv (the aarch64 assembly reductions), fused conv + max pool and the packed
GEMV cross-compiled and run under qemu-aarch64 against the golden model: each hypothesis example
is a batch run in one qemu invocation; threads 1-4 are bit-exact there too."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgepool.ir import kernels as K
from edgepool.neon import bridge as N

from .cases import Case, hwc, nchw, run_batch_aarch64
from .rb_cases import (
    dw_conv_case,
    dw_fixed_cases,
    packed_fc_case,
    rb_conv_case,
    rb_conv_maxpool_case,
)

pytestmark = pytest.mark.aarch64
BATCHES = settings(max_examples=3, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                          HealthCheck.data_too_large])


@BATCHES
@given(st.lists(rb_conv_case(small=True), min_size=30, max_size=40))
def test_rb_conv_aarch64(cases):
    run_batch_aarch64(cases)


@BATCHES
@given(st.lists(st.one_of(rb_conv_maxpool_case(), packed_fc_case()), min_size=30, max_size=40))
def test_rb_fused_and_packed_fc_aarch64(cases):
    run_batch_aarch64(cases)


@BATCHES
@given(st.lists(dw_conv_case(small=True), min_size=30, max_size=40))
def test_dw_conv_aarch64(cases):
    """The register-blocked depthwise 3x3 kernel (aarch64: srshl rounding) under qemu."""
    run_batch_aarch64(cases)


def test_dw_threads_and_layers_aarch64():
    """The dwsep-mnist depthwise shapes and larger ones, strides 1 and 2, with 1-4 threads and
    the fast int8 / uint8 epilogues, in one qemu run."""
    shapes = [(16, 16, 16, 1, 0), (16, 16, 32, 2, 0), (9, 9, 64, 1, 0), (14, 14, 16, 1, 1),
              (13, 21, 19, 2, 1), (6, 5, 24, 1, 1)]
    cases = dw_fixed_cases(np.random.default_rng(13), shapes, lambda t: True)
    run_batch_aarch64(cases)


def test_rb_threads_and_wide_layers_aarch64():
    """Layer-sized shapes through every tile (lane, dot, int16) with 1-4 threads, in one run."""
    rng = np.random.default_rng(11)
    cases = []
    for (h, w, ic, oc, k), dtype, narrow in [((14, 13, 64, 40, 3), np.int8, False),
                                             ((14, 13, 64, 40, 3), np.int8, True),
                                             ((9, 10, 48, 19, 1), np.int8, True),
                                             ((7, 10, 256, 40, 1), np.int8, True),
                                             ((5, 6, 32, 70, 1), np.int8, False),
                                             ((8, 9, 24, 12, 3), np.int16, False)]:
        ii = np.iinfo(dtype)
        x = rng.integers(ii.min, int(ii.max) + 1, (h, w, ic)).astype(dtype)
        wt = rng.integers(-int(ii.max), int(ii.max) + 1, (oc, k, k, ic)).astype(dtype)
        b = rng.integers(-(2**16), 2**16, oc)
        ref = hwc(K.conv2d(nchw(x), np.moveaxis(wt, -1, 1), b, (1, 1), (k // 2,) * 4))
        for t in (1, 2, 3, 4):
            op = N.conv_op(x, wt, b, pads=(k // 2,) * 4, algo="rb", threads=t, narrow=narrow,
                           prepack=True)
            cases.append(Case(op, ref.astype(N._acc_dtype(dtype))))
    xs = rng.integers(-128, 128, 800).astype(np.int8)
    ws = rng.integers(-127, 128, (50, 800)).astype(np.int8)
    ref = K.gemm(xs[None], ws, None, trans_b=True)[0].astype(np.int32)
    for t in (1, 2, 3, 4):
        cases.append(Case(N.fc_op(xs, ws, threads=t, narrow=True, prepack=True), ref))
    run_batch_aarch64(cases)


def test_requantize_rounding_edges_aarch64():
    """The register tiles' round-half-to-even right shift (aarch64: cmtst + sqadd + srshl) on
    accumulators at ties, next to ties, around zero and at the bound's extremes, every shift
    1-31: FC (x = 0: the accumulators are the biases) and the depthwise kernel's fast int8 /
    uint8 epilogue (its accumulators start at bias - 1), against the golden requantizer."""
    from edgepool.ir.qtype import QType

    amax = int(np.iinfo(np.int32).max) - 9 * 128 * 128
    cases = []
    for shift in range(1, 32):
        h = 1 << (shift - 1)
        vals = [0, 1, -1, h, -h, 3 * h, -3 * h, h - 1, h + 1, -h - 1, -h + 1, 5 * h, 7 * h,
                amax, -amax, amax - h, -amax + h, (amax >> shift) << shift,
                -((amax >> shift) << shift), ((amax >> shift) << shift) - h]
        b = np.array([v for v in vals if abs(v) <= amax] * 2, np.int64)[:32]
        for out in (QType(8, True, 0, False), QType(8, False, 0, False),
                    QType(16, True, 0, False)):
            rq = N.Requant.to(shift, out, False)
            ref = K.requantize(b, shift, out, False).astype(rq.out)
            cases.append(Case(N.fc_op(np.zeros(1, np.int8), np.ones((len(b), 1), np.int8), b,
                                      rq, prepack=True), ref))
            x = np.zeros((3, 6, len(b)), np.int8)
            w = np.ones((len(b), 3, 3, 1), np.int8)
            cases.append(Case(N.conv_op(x, w, b, groups=len(b), requant=rq, algo="dw",
                                        prepack=True),
                              np.broadcast_to(ref, (1, 4, len(b))).copy()))
    run_batch_aarch64(cases)
