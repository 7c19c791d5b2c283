# SPDX-License-Identifier: Apache-2.0
"""Whole programs on the generated RTL: many frames back to back in ONE simulation, bit-exact
under random back-pressure, reset recovery, and the II = 1 promise measured when never stalled.
"""

from __future__ import annotations

import numpy as np
import pytest
from rtl_cases import random_images

from edgepool.accel.program import random_program, run_reference
from edgepool.codegen.rtl import LayerFolding
from edgepool.runtime.rtlsim import simulate_program

pytestmark = pytest.mark.rtlsim

LENET = dict(in_shape=(8, 8, 1), spec="c4k3r-m2-f10")


def _assert_exact(program, images, res, frames):
    assert res.frames == frames
    assert res.beats_checked == len(frames) * int(np.prod(program.out_shape))
    for f, out in zip(res.frames, res.outputs, strict=True):
        np.testing.assert_array_equal(out, run_reference(program, images[f]))


def test_lenet_like_50_frames_backpressure():
    program = random_program(11, **LENET)
    images = random_images(program, 50, 11)
    res = simulate_program(program, images, backpressure=0.4, input_gaps=0.2, seed=11)
    print(res.table())
    _assert_exact(program, images, res, list(range(50)))


def test_deeper_program_avg_pool_signed_chain():
    program = random_program(5, in_shape=(10, 10, 2), spec="c4k3p1r-a2-c6k3s2-f5")
    images = random_images(program, 12, 5)
    folding = {program.layers[0].name: LayerFolding(2, 2, 2)}
    res = simulate_program(program, images, folding=folding, backpressure=0.5, input_gaps=0.5,
                           seed=5)
    print(res.table())
    _assert_exact(program, images, res, list(range(12)))


def test_reset_mid_frame_recovers():
    program = random_program(3, **LENET)
    images = random_images(program, 6, 3)
    res = simulate_program(program, images, backpressure=0.3, input_gaps=0.3, reset_frame=2,
                           seed=3)
    _assert_exact(program, images, res, [0, 1, 3, 4, 5])


def test_throughput_ii1_when_never_stalled():
    """No gaps, no back-pressure: every conv's sliding window (the MAC array's input) moves one
    beat per cycle for the whole frame wherever reading a row takes longer than writing the
    next rows; the beat counts are asserted, the rate printed."""
    program = random_program(2, **LENET)
    images = random_images(program, 8, 2)
    res = simulate_program(program, images, seed=2)
    print(res.table())
    _assert_exact(program, images, res, list(range(8)))
    for ly in res.layers:
        for b in ly.blocks:
            info = next(x for x in res.design.blocks if x.inst == b.inst)
            p = info.params
            print(f"{b.inst}: {b.window_beats} window beats in {b.window_cycles} cycles "
                  f"= {b.beats_per_cycle:.3f} beats/cycle")
            assert b.window_beats == info.window_beats
            if b.kind == "conv":
                nf = p["oc"] // p["pe"]
                read_row = p["ow"] * nf * p["kh"] * p["kw"] * p["c"] // p["simd"]
                if read_row >= p["sh"] * p["w"] * p["c"] and p["pe"] <= read_row // p["ow"]:
                    assert b.window_cycles == b.window_beats, "II = 1 broken"
    # the first conv is the bottleneck: one frame per its window beats at steady state
    first = res.layers[0].blocks[0]
    assert res.cycles_per_frame == pytest.approx(first.window_beats, rel=0.05)


def test_cycles_vs_cost_model():
    """Measured cycles per layer next to edgepool.dse.cost's RTL model (within 5 %) and its
    HLS dataflow estimate (printed; a different engine)."""
    from edgepool.runtime.rtlsim import compare_with_cost_model, cost_table

    program = random_program(2, **LENET)
    images = random_images(program, 3, 2)
    res = simulate_program(program, images, seed=2)
    cmp = compare_with_cost_model(program, res)
    print(cost_table(cmp))
    assert res.beats_checked == 3 * int(np.prod(program.out_shape))
    assert [r["layer"] for r in cmp["layers"]] == [ly.name for ly in program.layers]
    assert all(r["measured"] >= max(r["window_beats"]) for r in cmp["layers"])
    assert all(abs(r["diff_pct"]) <= 5.0 for r in cmp["layers"]), cmp
    assert abs(cmp["total"]["interval_diff_pct"]) <= 5.0


def test_avg_pool_divider_pipeline_depth_is_modelled():
    """The pipelined average-pool divider (ep_pool DIV_BITS stages): the frame-0 latency of
    every layer equals edgepool.dse.cost's model, which takes the divider depth from
    cost.rtl_pool_depth (the value the generator passes)."""
    from edgepool.dse.cost import RTL_DIV_BITS, rtl_pool_depth
    from edgepool.runtime.rtlsim import compare_with_cost_model, cost_table

    program = random_program(5, in_shape=(10, 10, 2), spec="c4k3p1r-a2-c6k3s2-f5")
    pool = program.layers[0].pool
    assert pool.kind == "avg"
    depth = rtl_pool_depth("avg", program.layers[0].out_type.bits, 4)
    assert depth > 2 and RTL_DIV_BITS > 0          # more than the old single stage
    res = simulate_program(program, random_images(program, 3, 1), seed=1)
    cmp = compare_with_cost_model(program, res)
    print(cost_table(cmp))
    assert [r["measured"] for r in cmp["layers"]] == [r["model"] for r in cmp["layers"]]
    assert cmp["total"]["latency_measured"] == cmp["total"]["latency_model"]


def test_conv_into_fused_pool_several_elements_per_beat():
    """link_lanes: the MAC array's results go 2 (then 4) per beat into the fused pool's line
    buffer; bit-exact under back-pressure and gaps, and the cycles as modelled."""
    from edgepool.runtime.rtlsim import compare_with_cost_model

    program = random_program(2, **LENET)
    conv = program.layers[0]
    for link in (2, 4):
        folding = {conv.name: LayerFolding(4, 1, 4, link)}
        images = random_images(program, 5, link)
        simulate_program(program, images, folding=folding, backpressure=0.4, input_gaps=0.3,
                         seed=link)
        res = simulate_program(program, images[:3], folding=folding, seed=link)
        cmp = compare_with_cost_model(program, res, folding)
        assert [r["measured"] for r in cmp["layers"]] == [r["model"] for r in cmp["layers"]]


def test_link_lanes_must_divide_pe_and_pool_lanes():
    from edgepool.codegen.rtl import check_supported
    from edgepool.errors import UnsupportedOpError

    program = random_program(2, **LENET)
    conv = program.layers[0]
    with pytest.raises(UnsupportedOpError, match="link_lanes 3"):
        check_supported(program, {conv.name: LayerFolding(4, 1, 4, 3)})
    with pytest.raises(UnsupportedOpError, match="link_lanes 2"):
        check_supported(program, {program.layers[1].name: LayerFolding(2, 1, 1, 2)})
