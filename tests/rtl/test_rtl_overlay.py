# SPDX-License-Identifier: Apache-2.0
"""The RTL overlay IP (sim/rtl/ep_ovl_*.sv) through its AXI ports only (sim/tb/ep_ovl_tb.py:
AXI4-Lite master, AxiRam DDR with first-beat latency and random stalls), bit-exact against the
golden interpreter on programs that exercise every descriptor feature: padding, stride,
fused max/avg pool, standalone pools (with padding, ceil-mode overhang, count_include_pad),
several output-channel tiles, weight-streamed FC layers, a raw 32-bit accumulator output;
plus reset mid-run, back-to-back runs, interrupts and a malformed descriptor."""

from __future__ import annotations

import numpy as np
import pytest

from edgepool.accel.descriptor import DESC_WORDS, plan_program
from edgepool.accel.engine import OverlayParams
from edgepool.accel.program import HwProgram, PoolSpec, random_program, run_reference
from edgepool.codegen.rtl_overlay import unsupported_reason
from edgepool.ir.qtype import QType

pytestmark = pytest.mark.rtlsim


def _images(prog: HwProgram, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    t = prog.in_type
    return [rng.integers(t.min, t.max, size=prog.in_shape, endpoint=True) for _ in range(n)]


def _check(prog, p, res, xs):
    for x, r in zip(xs, res, strict=True):
        assert r.ret == 0
        want = np.asarray(run_reference(prog, x), np.int64).ravel()
        got = r.output[..., :prog.out_shape[2]].ravel()
        assert np.array_equal(got, want)


def _raw_last(prog: HwProgram) -> HwProgram:
    """The program with its last (FC) layer writing its raw 32-bit accumulator."""
    last = prog.layers[-1]
    raw = last.with_(out_type=QType(32, True, last.acc_frac), relu=False)
    return HwProgram(prog.name, prog.layers[:-1] + (raw,))


def _left_shift(prog: HwProgram) -> HwProgram:
    """The program with its last conv layer (ReLU) requantizing by a left shift: its output has
    one more fraction bit than its accumulator (exact, saturating at the bounds); the FC layer
    after it keeps its rounding right shift, so its outputs depend on every conv output."""
    i = max(k for k, layer in enumerate(prog.layers) if not layer.is_fc)
    conv = prog.layers[i]
    conv2 = conv.with_(out_type=conv.out_type.with_frac(conv.acc_frac + 1), relu=True)
    return HwProgram(prog.name, prog.layers[:i] + (conv2,) + prog.layers[i + 1:])


def _pooled(prog: HwProgram) -> HwProgram:
    """A standalone avg pool with padding, ceil-mode overhang and count_include_pad appended
    before the FC layers of ``prog``."""
    from edgepool.accel.program import HwLayer

    i = next(k for k, layer in enumerate(prog.layers) if layer.is_fc)
    prev = prog.layers[i - 1]
    h, w, c = prev.out_shape
    pool = PoolSpec("avg", (3, 3), (2, 2), pads=(1, 1, 1, 1), ceil_mode=True,
                    count_include_pad=True)
    oh, ow = pool.out_hw(h, w)
    pl = HwLayer("pool_x", "pool", (h, w, c), (oh, ow, c), prev.out_type, prev.out_type,
                 pool=pool)
    fc = prog.layers[i]
    fc2 = fc.with_(in_shape=(1, 1, oh * ow * c),
                   weights=np.resize(fc.weights, (fc.weights.shape[0], 1, 1, oh * ow * c)))
    return HwProgram(prog.name, prog.layers[:i] + (pl, fc2) + prog.layers[i + 1:])


CASES = {
    # name: (spec, input shape, params, transform)
    "simd4_pe8": ("c8k3p1r-m2-c16k3r-a2-f10", (10, 10, 3), OverlayParams(simd=4, pe=8), None),
    "tiles_stride": ("c16k3s2p1r-m3s2-m2-f12-f6", (13, 13, 2),
                     OverlayParams(simd=2, pe=4, wbuf_words=40, max_tile_nf=2), None),
    "simd16_gather_raw": ("c32k3p1r-m2-f16", (6, 6, 16),
                          OverlayParams(simd=16, pe=16, out_bits=32), _raw_last),
    "avgpad_act16": ("c8k3r-f10", (9, 9, 4),
                     OverlayParams(simd=4, pe=8, act_bits=16, w_bits=8, sum_bits=24), _pooled),
    # PE 16: two requantizer / divider passes per output word (rq_lanes 8); a fused and a
    # standalone (padded, count_include_pad) average pool through the shared divider
    "avg_passes": ("c32k3p1r-a2-f10", (8, 8, 8), OverlayParams(simd=8, pe=16), _pooled),
    # requantizing by a left shift (saturating), in a conv with ReLU and in the FC layer
    "left_shift": ("c8k3p1r-m2-f10", (6, 6, 4), OverlayParams(simd=4, pe=8), _left_shift),
    # FC weights over four AXI read ports (ep_ovl_wst), each with its own stalls; two tiles
    "wports4_fc": ("c32k3p1r-m2-f64-f16", (6, 6, 16),
                   OverlayParams(simd=16, pe=16, w_ports=4, max_tile_nf=2), None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_overlay_programs_bit_exact(name):
    from edgepool.runtime.rtl_overlay_sim import run_cocotb

    spec, shape, p, fn = CASES[name]
    prog = random_program(3, in_shape=shape, spec=spec)
    if fn is not None:
        prog = fn(prog)
    assert unsupported_reason(p) is None
    plan = plan_program(prog, p)
    xs = _images(prog, 2, 7)
    res, _ = run_cocotb(p, plan.image, xs, in_signed=prog.in_type.signed,
                        out_signed=prog.layers[-1].out_type.signed, latency=12, stall=0.2,
                        seed=3)
    _check(prog, p, res, xs)
    for r in res:
        assert r.info["irq"] == 1 and r.info["irq_after_ack"] == 0
        assert r.info["busy_reads"] > 0          # CTRL read while the IP ran: not idle


def test_overlay_reset_mid_run_and_bad_descriptor():
    from edgepool.runtime.rtl_overlay_sim import run_cocotb

    p = OverlayParams(simd=4, pe=8)
    prog = random_program(5, in_shape=(8, 8, 4), spec="c8k3r-m2-f10")
    plan = plan_program(prog, p)
    xs = _images(prog, 3, 1)
    kw = dict(in_signed=prog.in_type.signed, out_signed=prog.layers[-1].out_type.signed)
    res, extra = run_cocotb(p, plan.image, xs, scenario="reset", reset_after=300, **kw)
    assert extra[0]["busy_before_reset"] and extra[0]["idle_after_reset"]
    _check(prog, p, res, xs)
    bad = plan.image.desc.copy()
    bad[1 * DESC_WORDS] = 0xDEADBEEF                 # layer 1: bad magic
    res, _ = run_cocotb(p, plan.image, xs[:1], desc=bad, **kw)
    assert res[0].ret == 2 and res[0].output is None
    bad = plan.image.desc.copy()
    bad[0 * DESC_WORDS + 1] = 7                      # layer 0: unsupported kind
    res, _ = run_cocotb(p, plan.image, xs[:1], desc=bad, **kw)
    assert res[0].ret == 1


def test_unsupported_reason():
    assert unsupported_reason(OverlayParams(simd=3, pe=6)) is not None
    assert unsupported_reason(OverlayParams(simd=8, pe=12)) is not None
    assert unsupported_reason(OverlayParams(simd=16, pe=32)) is None
    assert unsupported_reason(OverlayParams(simd=16, pe=32, w_ports=4)) is None
    assert "w_ports 5" in unsupported_reason(OverlayParams(simd=16, pe=32, w_ports=5))
    # 8-byte weight words: a streaming port needs whole beats
    assert "whole 16-byte beats" in unsupported_reason(OverlayParams(simd=2, pe=4, w_ports=2))


def test_weight_ports_reach_the_top_packaging_and_block_design(tmp_path):
    """w_ports = 4: the generated top has m_axi_gmem1..3 (read channels only), the ipx
    script associates them with the clock, and bd.tcl gives each its own HP port."""
    from edgepool.codegen.rtl_overlay import generate_overlay, overlay_package_tcl

    d = generate_overlay(OverlayParams(simd=16, pe=16, w_ports=4), tmp_path, copy_library=True)
    top = (tmp_path / "edgepool_overlay.sv").read_text()
    for k in (1, 2, 3):
        assert f"output logic [63:0] m_axi_gmem{k}_araddr" in top
        assert f"m_axi_gmem{k}_awaddr" not in top
    assert "m_axi_gmem4" not in top and d.params["W_PORTS"] == 4
    tcl = overlay_package_tcl(d, "xczu3eg-sbva484-1-e").read_text()
    assert "-busif m_axi_gmem3 -clock ap_clk" in tcl
    two = generate_overlay(OverlayParams(simd=16, pe=16, w_ports=2), tmp_path / "two")
    text = (tmp_path / "two" / "edgepool_overlay.sv").read_text()
    assert "input  logic m_axi_gmem1_arready" in text
    assert "logic m_axi_gmem2_arready;" in text and two.params["W_PORTS"] == 2


@pytest.mark.parametrize("top,params", [
    ("ep_ovl_top", {}), ("ep_ovl_top", {"SIMD": 16, "PE": 32, "OUT_BITS": 32}),
    ("ep_ovl_rd", {}), ("ep_ovl_wr", {}), ("ep_ovl_wr", {"WB": 64}), ("ep_ovl_unpack", {}),
    ("ep_ovl_unpack", {"WB": 4}), ("ep_ovl_unpack", {"WB": 256}),
    ("ep_ovl_top", {"SIMD": 16, "PE": 16, "W_PORTS": 4}),
    ("ep_ovl_top", {"SIMD": 16, "PE": 16, "W_PORTS": 2}),
    ("ep_ovl_top", {"SIMD": 16, "PE": 32, "RQ_LANES": 8}),
    ("ep_ovl_wst", {}), ("ep_ovl_wst", {"NP": 3, "WB": 16})])
def test_overlay_blocks_lint_clean(top, params):
    from edgepool.codegen.rtl_overlay import OVERLAY_LIBRARY
    from edgepool.runtime.rtlsim import lint
    from edgepool.toolchain import REPO_ROOT

    lint([REPO_ROOT / "sim" / "rtl" / f for f in OVERLAY_LIBRARY], top, params)
