# SPDX-License-Identifier: Apache-2.0
"""VGG16 whole in RTL simulation: edgepool's fixed-point VGG16 at a 32x32 input (all 13 conv,
5 max pool and 3 FC layers, 8-bit) through the RTL overlay IP in the C++ Verilator harness (its
AXI4-Lite and AXI4 ports; DDR model at one Ultra96 HP port), bit-exact with the golden
interpreter; every layer's simulated cycles are reported."""

from __future__ import annotations

import numpy as np
import pytest

from edgepool.accel.descriptor import plan_program
from edgepool.accel.program import run_reference

pytestmark = pytest.mark.rtlsim


def test_vgg16_32x32_rtl_overlay_bit_exact():
    from edgepool.runtime.rtl_overlay_sim import run_harness, vgg16_overlay_params, vgg16_program

    prog = vgg16_program(32, 8)
    assert sum(layer.kind == "conv" and not layer.is_fc for layer in prog.layers) == 13
    assert sum(layer.pool is not None for layer in prog.layers) == 5
    assert sum(layer.is_fc for layer in prog.layers) == 3
    p = vgg16_overlay_params(8)
    plan = plan_program(prog, p)
    x = np.random.default_rng(0).integers(prog.in_type.min, prog.in_type.max,
                                          size=prog.in_shape, endpoint=True)
    run = run_harness(p, plan.image, [x], in_signed=prog.in_type.signed,
                      out_signed=prog.layers[-1].out_type.signed)
    r = run.frames[0]
    assert r.ret == 0
    want = np.asarray(run_reference(prog, x), np.int64).ravel()
    assert np.array_equal(r.output[..., :prog.out_shape[2]].ravel(), want)
    assert len(r.info["layers"]) == len(prog.layers)
    assert sum(r.info["layers"]) <= r.cycles
