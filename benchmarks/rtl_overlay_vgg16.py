# SPDX-License-Identifier: Apache-2.0
"""VGG16 on the RTL overlay IP: SIMULATED cycles of every layer (cycle-accurate Verilator
simulation of sim/rtl/ep_ovl_*.sv in the C++ harness, through its AXI4-Lite and AXI4 ports;
DDR model: the Ultra96's four HP ports, each at most 16 B/cycle = its 128-bit width at the PL
clock, all four together at most the board's measured sustained DDR bandwidth
(hw/boards/ultra96.toml: 4.2 GB/s = 16.8 B/cycle at 250 MHz), 40-cycle first-beat latency;
FC weights stream over all four ports) next to the RTL cycle model's ESTIMATE
(edgepool/dse/rtl_overlay_cost.py), one image per width. Seconds assume the clock below (an
assumption until a vendor tool closes timing).

    python benchmarks/rtl_overlay_vgg16.py [--hw 224] [--bits 8 16] [--quick] [--json PATH]

``--quick`` runs the 32x32 reduced VGG16 (what CI checks bit-exact); the full 224x224 run
takes about an hour per width on one core.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _report import Recorder
from rich.console import Console
from rich.table import Table

from edgepool.accel.descriptor import plan_program
from edgepool.accel.program import run_reference
from edgepool.dse import rtl_overlay_cost as C
from edgepool.runtime import rtl_overlay_sim as S
from edgepool.targets import boards

CLOCK_MHZ = 250.0


def sustained_bytes_per_cycle(board: str = "ultra96") -> float:
    """One HP port's share of the board's measured sustained DDR bandwidth (hw/boards:
    ``ddr_gbps / hp_ports``) in bytes per PL cycle at CLOCK_MHZ."""
    mem = boards()[board].memory
    return float(mem["ddr_gbps"]) * 1e9 / int(mem["hp_ports"]) / (CLOCK_MHZ * 1e6)


def total_bytes_per_cycle(board: str = "ultra96") -> float:
    """The board's measured sustained DDR bandwidth over all HP ports, bytes per PL cycle."""
    return float(boards()[board].memory["ddr_gbps"]) * 1e9 / (CLOCK_MHZ * 1e6)


def run(hw: int, bits: int, rec: Recorder, con: Console, check: bool) -> None:
    t0 = time.perf_counter()
    prog = S.vgg16_program(hw, bits)
    p = S.vgg16_overlay_params(bits)
    plan = plan_program(prog, p)
    x = np.random.default_rng(0).integers(prog.in_type.min, prog.in_type.max,
                                          size=prog.in_shape, endpoint=True)
    t1 = time.perf_counter()
    total = total_bytes_per_cycle()
    res = S.run_harness(p, plan.image, [x], in_signed=prog.in_type.signed,
                        out_signed=prog.layers[-1].out_type.signed,
                        total_bytes_per_cycle=total)
    t2 = time.perf_counter()
    fr = res.frames[0]
    exact = None
    if check:
        want = np.asarray(run_reference(prog, x), np.int64).ravel()
        exact = bool(np.array_equal(fr.output[..., :prog.out_shape[2]].ravel(), want))
    ddr = C.DdrModel(res.latency, res.bytes_per_cycle, total)
    est = C.program_cycles(plan.program, p, ddr)
    sim = [int(c) for c in fr.info["layers"]]
    bpc = sustained_bytes_per_cycle()
    # every port at its share of the measured bandwidth: four streaming ports vs one
    est_sus = C.program_cycles(plan.program, p, C.DdrModel(res.latency, bpc, total))
    one = replace(p, w_ports=1)            # the same plan: the port count is not in it
    est_one = C.program_cycles(plan.program, one, C.DdrModel(res.latency, bpc, total))
    t = Table(title=f"VGG16 {hw}x{hw}, {bits}-bit, PE {p.pe} x SIMD {p.simd}, FC weights "
                    f"over {p.w_ports} HP ports (simulated vs estimated cycles)")
    for col in ("layer", "simulated cycles", "estimated cycles", "error %",
                f"simulated ms @{CLOCK_MHZ:.0f} MHz"):
        t.add_column(col, justify="right")
    for layer, s, e in zip(plan.program.layers, sim, est, strict=True):
        t.add_row(layer.name, f"{s:,}", f"{e:,}", f"{100 * (e - s) / s:+.2f}",
                  f"{s / CLOCK_MHZ / 1e3:.2f}")
    t.add_row("total (start to done)", f"{fr.cycles:,}", f"{sum(est):,}",
              f"{100 * (sum(est) - fr.cycles) / fr.cycles:+.2f}",
              f"{fr.cycles / CLOCK_MHZ / 1e3:.2f}")
    con.print(rec.table(t))
    rec.figures(f"vgg16_{hw}_{bits}bit", {
        "simulated_cycles": fr.cycles, "estimated_cycles": sum(est),
        "simulated_seconds_at_clock": fr.cycles / (CLOCK_MHZ * 1e6), "clock_mhz": CLOCK_MHZ,
        "layers_simulated": sim, "layers_estimated": est, "bit_exact_vs_golden": exact,
        "ap_return": fr.ret, "pe": p.pe, "simd": p.simd,
        "w_ports": p.w_ports, "ddr_latency_cycles": res.latency,
        "ddr_bytes_per_cycle_per_port": res.bytes_per_cycle,
        "ddr_bytes_per_cycle_all_ports": round(total, 3),
        "estimated_cycles_at_sustained_ddr": sum(est_sus),
        "sustained_ddr_bytes_per_cycle_per_port": round(bpc, 3),
        "estimated_seconds_at_sustained_ddr": sum(est_sus) / (CLOCK_MHZ * 1e6),
        "estimated_seconds_at_sustained_ddr_one_port": sum(est_one) / (CLOCK_MHZ * 1e6),
        "wall_s_prepare": round(t1 - t0, 1), "wall_s_simulation": round(t2 - t1, 1)})
    con.print(f"{hw}x{hw} {bits}-bit: {fr.cycles:,} cycles simulated = "
              f"{fr.cycles / (CLOCK_MHZ * 1e6):.4f} s @ {CLOCK_MHZ:.0f} MHz; bit-exact vs "
              f"golden: {exact}; simulation wall time {t2 - t1:.0f} s")
    con.print(f"ESTIMATED with every HP port at its share of the board's measured sustained "
              f"bandwidth ({bpc:.2f} B/cycle, hw/boards/ultra96.toml): {sum(est_sus):,} cycles "
              f"= {sum(est_sus) / (CLOCK_MHZ * 1e6):.4f} s with FC weights over "
              f"{p.w_ports} ports; {sum(est_one) / (CLOCK_MHZ * 1e6):.4f} s over one port")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hw", type=int, default=224)
    ap.add_argument("--bits", type=int, nargs="*", default=[8, 16])
    ap.add_argument("--quick", action="store_true", help="32x32 input")
    ap.add_argument("--no-check", action="store_true", help="skip the golden comparison")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    hw = 32 if args.quick else args.hw
    rec = Recorder("rtl_overlay_vgg16", notes=[
        "Cycles are SIMULATED (cycle-accurate Verilator RTL simulation of the overlay IP; DDR "
        "model: four HP ports, each at most 16 B/cycle = its 128-bit width at the PL clock, "
        "all together at most the board's measured sustained 4.2 GB/s = 16.8 B/cycle at "
        "250 MHz, hw/boards/ultra96.toml; 40-cycle first-beat latency; conv rows prefetched, "
        "FC weights streamed over the four ports); 'estimated' is the RTL cycle model "
        "dse/rtl_overlay_cost.py. The figures '..._at_sustained_ddr' are ESTIMATES with every "
        "port limited to its share of the measured bandwidth (4.2 B/cycle), for the four-port "
        "design and for a one-port one.",
        f"Seconds assume a {CLOCK_MHZ:.0f} MHz PL clock: an assumption until Vivado closes "
        "timing on the design.", f"Input {hw}x{hw}, one image per width."])
    con = Console(width=160)
    for bits in args.bits:
        run(hw, bits, rec, con, check=not args.no_check)
        rec.write(args.json)


if __name__ == "__main__":
    main()
