# SPDX-License-Identifier: Apache-2.0
"""Each RTL block over randomized parameters, bit-exact against the golden model.

One build per parameter set, many frames per simulation, random input gaps and output
back-pressure. ``EDGEPOOL_RTL_SEED`` changes the drawn parameter sets (printed per case).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from rtl_cases import conv_case, describe, pool_case, random_images

from edgepool.accel.program import run_reference
from edgepool.runtime.rtlsim import simulate_program

BASE = int(os.environ.get("EDGEPOOL_RTL_SEED", "7"))
pytestmark = pytest.mark.rtlsim


def _check(program, folding, simulator, seed, frames=6, bp=0.3, gaps=0.3):
    images = random_images(program, frames, seed)
    res = simulate_program(program, images, folding=folding, simulator=simulator,
                           backpressure=bp, input_gaps=gaps, seed=seed)
    print(describe(program, folding))
    print(res.table())
    assert res.frames == list(range(frames))
    assert res.beats_checked == frames * int(np.prod(program.out_shape))
    for img, out in zip(images, res.outputs, strict=True):
        np.testing.assert_array_equal(out, run_reference(program, img))


@pytest.mark.parametrize("k", range(4))
def test_conv_layer_verilator(k):
    program, folding = conv_case(BASE * 100 + k)
    _check(program, folding, "verilator", BASE + k)


@pytest.mark.parametrize("k", range(4))
def test_pool_layer_verilator(k):
    program, folding = pool_case(BASE * 100 + k)
    _check(program, folding, "verilator", BASE + k)


@pytest.mark.parametrize("kind", ["conv", "pool"])
def test_block_icarus(kind):
    make = conv_case if kind == "conv" else pool_case
    program, folding = make(BASE * 100 + 50)
    _check(program, folding, "icarus", BASE, frames=3)
