# SPDX-License-Identifier: Apache-2.0
"""NEON kernels cross-compiled for aarch64 (static driver) and run under qemu-aarch64: each
hypothesis example is a whole batch of cases, run in one qemu invocation."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgepool.neon import bridge as N

from .cases import (
    avg2_case,
    conv_case,
    conv_maxpool_case,
    fast_pool_case,
    fc_case,
    global_case,
    pool_case,
    requant_case,
    run_batch_aarch64,
)

pytestmark = pytest.mark.aarch64
BATCHES = settings(max_examples=2, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                          HealthCheck.data_too_large])


@BATCHES
@given(st.lists(st.one_of(pool_case("max", small=True), fast_pool_case()), min_size=40,
                max_size=60))
def test_maxpool_aarch64(cases):
    run_batch_aarch64(cases)


@BATCHES
@given(st.lists(st.one_of(pool_case("avg", small=True), global_case(), avg2_case()), min_size=40,
                max_size=60))
def test_avg_and_global_pool_aarch64(cases):
    run_batch_aarch64(cases)


@BATCHES
@given(st.lists(conv_case(small=True), min_size=30, max_size=40))
def test_conv_aarch64(cases):
    run_batch_aarch64(cases)


@BATCHES
@given(st.lists(st.one_of(conv_maxpool_case(small=True), fc_case(), requant_case()),
                min_size=30, max_size=40))
def test_fused_fc_requant_aarch64(cases):
    run_batch_aarch64(cases)


def test_large_map_aarch64():
    """One VGG-sized-ish map per kernel family through qemu (56x56x64)."""
    import numpy as np

    from edgepool.ir import kernels as K

    from .cases import Case, hwc, nchw

    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, (56, 56, 64)).astype(np.int8)
    cases = []
    for k, s in [(2, 2), (3, 1), (3, 2), (5, 1), (7, 1)]:
        ref = hwc(K.max_pool(nchw(x), (k, k), (s, s), (0, 0, 0, 0), (1, 1), False))
        cases.append(Case(N.maxpool_op(x, (k, k), (s, s)), ref))
    ref = hwc(K.avg_pool(nchw(x), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), False, False))
    cases.append(Case(N.avgpool_op(x, (3, 3), (1, 1), (1, 1, 1, 1)), ref.astype(np.int8)))
    w = rng.integers(-128, 128, (32, 3, 3, 64)).astype(np.int8)
    acc = hwc(K.conv2d(nchw(x), np.moveaxis(w, -1, 1), None, (1, 1), (1, 1, 1, 1)))
    cases.append(Case(N.conv_op(x, w, None, pads=(1, 1, 1, 1)), acc.astype(np.int32)))
    run_batch_aarch64(cases)
