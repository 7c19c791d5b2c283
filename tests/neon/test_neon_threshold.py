# SPDX-License-Identifier: Apache-2.0
"""The NEON multi-threshold kernel (compare-and-count, binary search beyond 16 thresholds),
built natively with SIMDe, against the golden Threshold kernel: exact equality."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgepool.ir import kernels as K
from edgepool.ir.qtype import QType
from edgepool.neon import bridge as N

pytestmark = pytest.mark.simde

OUT_TYPES = {1: QType(2, True, 0, True), 2: QType(2, True, 0, True), 3: QType(2, True),
             7: QType(3, True), 15: QType(4, False), 16: None, 17: None, 255: QType(8, False)}


@st.composite
def cases(draw):
    n = draw(st.sampled_from(sorted(OUT_TYPES)))
    c = draw(st.integers(1, 13))
    p = draw(st.integers(1, 5))
    span = draw(st.sampled_from([3, 40, 2 ** 20, 2 ** 31 - 2]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    t = np.sort(rng.integers(-span, span + 1, (c, n)), axis=1)
    t[:, : n // 3] = t[:, :1]                                    # repeated thresholds
    acc = rng.integers(-span, span + 1, (p, c))
    ties = rng.random((p, c)) < 0.3                              # exactly on a threshold
    acc[ties] = t[np.nonzero(ties)[1], rng.integers(0, n, ties.sum())]
    acc = np.clip(acc, -(2 ** 31 - 1), 2 ** 31 - 1)
    direction = rng.choice([-1, 1], c) if draw(st.booleans()) else None
    bipolar = n == 1
    # 16 / 17 thresholds: counts offset into a wider type (the kernel only counts and offsets)
    out = OUT_TYPES[n] or QType(8, True)
    return acc, t, out, bipolar, direction


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_threshold_matches_golden(case):
    acc, t, out, bipolar, direction = case
    ref = K.threshold(acc, t, out, bipolar, direction)
    got = N.threshold(acc, t, out, bipolar, direction)
    assert np.array_equal(got, ref)


def test_per_tensor_table_and_bipolar():
    acc = np.arange(-8, 8).reshape(2, 8)
    t = np.array([[0]])
    got = N.threshold(acc, t, QType(2, True, 0, True), bipolar=True)
    assert np.array_equal(got, np.where(acc >= 0, 1, -1))


def test_int32_overflow_refused():
    with pytest.raises(N.NeonError, match="int32"):
        N.threshold(np.array([[2 ** 31]]), np.array([[0]]), QType(2, True, 0, True), True)


@pytest.mark.aarch64
@settings(max_examples=2, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(cases(), min_size=20, max_size=30))
def test_threshold_aarch64(batch):
    """The same kernel cross-compiled for aarch64 (real NEON, no SIMDe) under qemu."""
    outs = N.run_aarch64([N.threshold_op(*c) for c in batch])
    for (acc, t, out, bipolar, direction), got in zip(batch, outs, strict=True):
        assert np.array_equal(got.astype(np.int64), K.threshold(acc, t, out, bipolar, direction))
