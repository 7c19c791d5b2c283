# SPDX-License-Identifier: Apache-2.0
"""The RTL overlay's cycle model (edgepool/dse/rtl_overlay_cost.py) against the cycle-accurate
simulation of the IP (C++ Verilator harness, DDR model): every layer within 5 %, for the DDR
model it was calibrated with, a slower one (higher latency, half the bandwidth) and one whose
ports share a cap; with conv row prefetch and FC weights over one or four read ports."""

from __future__ import annotations

import numpy as np
import pytest

from edgepool.accel.descriptor import plan_program
from edgepool.accel.engine import OverlayParams
from edgepool.accel.program import random_program
from edgepool.dse import rtl_overlay_cost as C

pytestmark = pytest.mark.rtlsim

CASES = [("c8k3p1r-m2-c16k3r-a2-f10", (10, 10, 3), OverlayParams(simd=4, pe=8)),
         ("c16k3s2p1r-m3s2-m2-f12-f6", (13, 13, 2),
          OverlayParams(simd=2, pe=4, wbuf_words=40, max_tile_nf=2)),
         ("c32k3p1r-m2-f64-f16", (6, 6, 16), OverlayParams(simd=16, pe=16, w_ports=4))]


@pytest.mark.parametrize("ddr", [C.DdrModel(40, 16.0), C.DdrModel(120, 8.0),
                                 C.DdrModel(40, 16.0, 20.0)],
                         ids=["hp_port", "slow_ddr", "shared_cap"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_cost_model_within_5_percent_per_layer(case, ddr):
    from edgepool.runtime.rtl_overlay_sim import run_harness

    spec, shape, p = CASES[case]
    prog = random_program(3, in_shape=shape, spec=spec)
    plan = plan_program(prog, p)
    x = np.zeros(prog.in_shape, np.int64)
    run = run_harness(p, plan.image, [x], in_signed=prog.in_type.signed,
                      out_signed=prog.layers[-1].out_type.signed, latency=ddr.latency,
                      bytes_per_cycle=ddr.bytes_per_cycle,
                      total_bytes_per_cycle=ddr.total_bytes_per_cycle)
    sim = run.frames[0].info["layers"]
    est = C.program_cycles(plan.program, p, ddr)
    assert len(sim) == len(est)
    for layer, s, e in zip(plan.program.layers, sim, est, strict=True):
        assert abs(e - s) <= 0.05 * s, (layer.name, s, e)
