# SPDX-License-Identifier: Apache-2.0
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgepool.accel import axis
from edgepool.errors import InputError


@given(bits=st.integers(2, 32), signed=st.booleans(), n=st.integers(0, 40),
       beat=st.sampled_from([None, 4, 8, 16]), seed=st.integers(0, 2**31))
def test_pack_roundtrip(bits, signed, n, beat, seed):
    rng = np.random.default_rng(seed)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    v = rng.integers(lo, hi, size=n, endpoint=True)
    data = axis.pack(v, bits, signed, beat)
    if beat:
        assert len(data) % beat == 0
        assert axis.from_beats(axis.beats(data, beat), beat) == data
    assert np.array_equal(axis.unpack(data, n, bits, signed), v)


def test_pack_rejects_out_of_range():
    with pytest.raises(InputError, match="out of range"):
        axis.pack(np.array([128]), 8, True)


def test_layout_roundtrip():
    x = np.arange(2 * 3 * 4).reshape(1, 2, 3, 4)
    s = axis.nchw_to_stream(x)
    assert s.shape == (3, 4, 2) and s[1, 2, 1] == x[0, 1, 1, 2]
    assert np.array_equal(axis.stream_to_nchw(s.ravel(), x.shape), x)
