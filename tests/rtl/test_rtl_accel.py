# SPDX-License-Identifier: Apache-2.0
"""The dataflow accelerator IP (``ep_accel``: AXI4-Lite ap_ctrl_hs + DMA-width AXI4-Stream
around the generated datapath) through its AXI ports only (sim/tb/ep_accel_tb.py): register
reads during operation, interrupts, a frame started while the previous one drains, reset
mid-frame, auto-restart streaming under random back-pressure and gaps; lenet-digits bit-exact
against the interpreter on real test images; throughput equal to the bare datapath's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rtl_cases import random_images

import edgepool
from edgepool.accel import regmap as R
from edgepool.accel.lower import lower_to_hw, unstream_output
from edgepool.accel.program import random_program, run_reference
from edgepool.codegen.rtl import LayerFolding, generate_accel
from edgepool.dse import cost
from edgepool.ir import kernels as K
from edgepool.toolchain import REPO_ROOT

LENET8 = REPO_ROOT / "models" / "lenet-digits" / "lenet-digits.onnx"
#: a folding of lenet-digits for throughput: conv0 PE 16 whose results go 4 per beat into its
#: fused pool (link_lanes 4: the 1 024 conv0 outputs of a frame would take 1 024 cycles one by
#: one), conv1 PE 8 x SIMD 16, fc1 PE 8 x SIMD 16, fc2 PE 2 x SIMD 16: 576 window beats per
#: frame in conv0 and conv1
FAST = (LayerFolding(16, 1, 4, 4), LayerFolding(8, 16, 1), LayerFolding(8, 16, 1),
        LayerFolding(2, 16, 1))


def _refs(program, images) -> list[np.ndarray]:
    return [np.asarray(run_reference(program, x), np.int64).ravel() for x in images]


@pytest.mark.rtlsim
def test_accel_benches_small_program_and_shell_adds_no_cycles():
    """Every bench of ep_accel_tb on a LeNet-like program; the IP's steady-state cycles per
    frame through the AXI ports equal the bare datapath's (simulate_program)."""
    from edgepool.runtime.rtlsim import simulate_accel, simulate_program

    prog = random_program(1, in_shape=(8, 8, 1), spec="c4k3r-m2-f10")
    images = random_images(prog, 8, 5)
    res = simulate_accel(prog, images, backpressure=0.4, input_gaps=0.3, seed=5,
                         measure_frames=5)
    assert len(res.outputs) == len(images)
    for got, want in zip(res.outputs, _refs(prog, images), strict=True):
        np.testing.assert_array_equal(got, want)
    assert res.ctrl_reads_during_run > 0
    bare = simulate_program(prog, images[:5], seed=5)
    print(f"\nsmall program: {res.cycles_per_frame:.1f} cycles/frame through AXI, "
          f"{bare.cycles_per_frame:.1f} bare datapath (simulated, Verilator)")
    assert res.cycles_per_frame == bare.cycles_per_frame


@pytest.mark.rtlsim
def test_accel_register_offsets_come_from_the_register_map():
    """Another ap_ctrl_hs layout (GIER / IER / ISR moved) reaches the RTL through the
    generator: the register and interrupt benches pass with the moved offsets."""
    from edgepool.runtime.rtlsim import simulate_accel

    prog = random_program(2, in_shape=(6, 6, 2), spec="c3k3r-f4")
    regs = {"CTRL": {"offset": 0, "bits": 32, "access": "read-write"},
            "GIER": {"offset": 0x10, "bits": 32, "access": "read-write"},
            "IP_IER": {"offset": 0x18, "bits": 32, "access": "read-write"},
            "IP_ISR": {"offset": 0x20, "bits": 32, "access": "toggle"}}
    images = random_images(prog, 3, 2)
    simulate_accel(prog, images, registers=regs, tests=[
        "registers_after_reset_and_no_run_without_start", "single_frames_with_interrupts"])


def test_accel_localparams_are_the_python_register_map(tmp_path):
    prog = random_program(1, in_shape=(8, 8, 1), spec="c4k3r-m2-f10")
    acc = generate_accel(prog, tmp_path)
    text = (tmp_path / "ep_accel.sv").read_text()
    params = R.ap_ctrl_hs_params(R.default_regmap("dataflow", control="ap_ctrl_hs")
                                 ["accel"]["registers"])
    assert params["AUTO_RESTART_BIT"] == 7 and params["OFF_ISR"] == 0x0C
    for k, v in params.items():
        assert f"localparam int {k} = {v};" in text
    assert acc.in_beats == 8 and acc.out_beats == 2       # 64 x i8, 10 x i8 in 8-byte beats


@pytest.mark.rtlsim
def test_accel_lenet_digits_real_images_bit_exact_and_throughput():
    """lenet-digits (8-bit, the FAST folding), 48 test images in one DMA transfer under 30 %
    back-pressure and 20 % input gaps, bit-exact with the interpreter through host quantize /
    dequantize; then frames per cycle without stalls against the RTL cost model's interval and
    the goal of one frame per 600 cycles."""
    from edgepool.runtime.rtlsim import simulate_accel

    graph = edgepool.load(LENET8)
    program, host = lower_to_hw(graph)
    folding = {ly.name: f for ly, f in zip(program.layers, FAST, strict=True)}
    with np.load(LENET8.parent / "test.npz") as d:
        x = np.asarray(d["x"][:48], np.float32)
    codes = K.quantize(x, host.input_type)
    images = [np.moveaxis(c, 0, -1) for c in codes]
    res = simulate_accel(program, images, folding=folding, backpressure=0.3, input_gaps=0.2,
                         seed=11, measure_frames=5)
    y = np.stack([unstream_output(o.reshape(program.out_shape), host) for o in res.outputs])
    y = K.dequantize(y, host.output_type) if host.dequantize else y
    np.testing.assert_array_equal(y, graph.run(x))
    model = cost.estimate_rtl(program, folding).interval_cycles
    print(f"\nlenet-digits through ep_accel (simulated, Verilator, no stalls): "
          f"{res.cycles_per_frame:.1f} cycles/frame = {res.frames_per_cycle:.2e} frames/cycle "
          f"(cost model interval {model}); datapath input {res.input_ii:.2f} cycles/element; "
          f"{res.in_beats_per_frame} DMA beats per input frame")
    assert abs(res.cycles_per_frame - model) <= 0.05 * model
    assert res.cycles_per_frame <= 600           # the goal: >= 1 frame per 600 cycles


def test_build_rtl_writes_the_ip_and_its_packaging_script(tmp_path):
    """The build's rtl/ holds ep_accel, accel.json and package_ip.tcl whose files all exist
    beside it and whose register offsets are the register map's."""
    import json

    from edgepool.codegen.rtl import build_rtl, ip_vlnv
    from edgepool.targets import get_target

    program, _ = lower_to_hw(edgepool.load(LENET8))
    board = get_target("ultra96")
    section, _notes = build_rtl(program, tmp_path, None, board.clocks["default_mhz"],
                                board.part)
    acc = section.accel
    assert acc.top == "ep_accel" and acc.vlnv == ip_vlnv() and acc.beat_bytes == 8
    tcl = (tmp_path / acc.package_tcl).read_text()
    for f in acc.sources:
        assert (tmp_path / f).is_file() and f"[file join $ip_dir {Path(f).name}]" in tcl
    regs = R.default_regmap("dataflow", control="ap_ctrl_hs")["accel"]["registers"]
    assert acc.registers == regs
    for name, r in regs.items():
        assert f"ipx::add_register {name} $blk]\nset_property address_offset " \
               f"0x{r['offset']:02X}" in tcl
    assert f"-part {board.part}" in tcl and "ipx::save_core" in tcl
    assert json.loads((tmp_path / "rtl" / "accel.json").read_text())["in_beats"] == 8
