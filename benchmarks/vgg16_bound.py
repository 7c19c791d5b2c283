# SPDX-License-Identifier: Apache-2.0
"""How fast can VGG16 (224x224, batch 1) run on the Ultra96 at all? An ANALYTIC lower bound
beside the RTL overlay's SIMULATED cycles (benchmarks/results/rtl_overlay_vgg16.json), against
the issue's goals (8-bit <= 0.14 s, 16-bit Q2.14 <= 0.30 s).

Two facts bound any design that runs one image at a time:

* **MACs per cycle.** The ZU3EG has 360 DSP48E2. At most two int8 MACs fit one DSP48E2 (the
  packing the RTL uses) and one 16x16 MAC: 720 / 360 MACs per cycle for the whole device. The
  overlay's PE x SIMD array must tile VGG16's channel counts (64 * 2^k) without padding, so it is
  a power of two: 512 int8 MACs (PE 32 x SIMD 16, 256 DSPs) or 256 int16 MACs (PE 16 x SIMD 16,
  256 DSPs) are the largest that fit.
* **FC weights.** 123.6 M (8-bit) / 247.2 MB (16-bit) of fully connected weights are used once
  per image and cannot stay on chip (the device has 0.95 MB of BRAM): they cross the DDR at the
  board's measured sustained bandwidth (hw/boards/ultra96.toml ``ddr_gbps``: 4.2 GB/s with all
  four HP ports) whatever the clock; the convolution must finish before its FC layers start.

So seconds >= conv cycles / f + FC bytes / DDR bandwidth, and a goal of G seconds needs a PL
clock f >= conv cycles / (G - FC bytes / bandwidth). Conv cycles here are MAC steps only (no
loads, no pipeline fill: a bound, not an estimate). Nothing here is simulated or measured except
the column taken from the committed RTL simulation run.

    .venv/bin/python benchmarks/vgg16_bound.py [--json PATH]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _report import REPO, Recorder
from rich.console import Console
from rich.table import Table

from edgepool.accel.descriptor import plan_program, streams_weights
from edgepool.accel.program import HwProgram
from edgepool.dse.cost import DEVICES
from edgepool.runtime import rtl_overlay_sim as S
from edgepool.targets import boards

GOAL_S = {8: 0.14, 16: 0.30}
CLOCK_MHZ = 250.0            # the clock the simulated figures assume
#: multiply-accumulates one DSP48E2 does per cycle at these widths (two int8 = the RTL's packing)
MACS_PER_DSP = {8: 2, 16: 1}


def _work(program: HwProgram, pe: int, simd: int) -> tuple[int, int, int]:
    """(conv MACs, conv MAC steps on a PE x SIMD array, FC weight bytes) of a padded program
    (pool steps excluded: the bound needs only a lower count)."""
    macs = steps = fc_bytes = 0
    for layer in program.layers:
        if layer.kind != "conv":
            continue
        kh, kw = layer.kernel
        oh, ow = layer.conv_out_hw
        c, oc = layer.in_shape[2], layer.out_shape[2]
        if streams_weights(layer):
            fc_bytes += oc * c * kh * kw * layer.weight_type.bits // 8
            continue
        macs += oh * ow * oc * kh * kw * c
        steps += oh * ow * (-(-oc // pe)) * kh * kw * (-(-c // simd))
    return macs, steps, fc_bytes


def _clock_for(conv_cycles: float, fc_s: float, goal_s: float) -> float | None:
    """The PL clock (MHz) at which conv_cycles + the FC time fit goal_s (None: never)."""
    return conv_cycles / (goal_s - fc_s) / 1e6 if goal_s > fc_s else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    board = boards()["ultra96"]
    gbps = float(board.memory["ddr_gbps"])
    dsps = DEVICES["ultra96"].dsp
    sim_path = REPO / "benchmarks" / "results" / "rtl_overlay_vgg16.json"
    sim = json.loads(sim_path.read_text()).get("figures", {}) if sim_path.exists() else {}
    rec = Recorder("vgg16_bound", notes=[
        "BOUND = analytic lower bound (MAC steps only + FC weights at the board's measured "
        f"sustained DDR bandwidth, {gbps} GB/s over all four HP ports, hw/boards/ultra96.toml); "
        "SIMULATED = the committed Verilator run of the RTL overlay "
        "(benchmarks/results/rtl_overlay_vgg16.json; DDR model: four HP ports of 16 B/cycle "
        "each, 16.8 B/cycle together).",
        f"Device: {board.part}, {dsps} DSP48E2; int8 MACs counted two per DSP (packing), "
        "16-bit one.",
        "'clock for goal': the PL clock at which the row's cycles meet the goal; whether a "
        "design closes timing there is for Vivado to say (not run on this machine)."])
    con = Console(width=160)
    t = Table(title="VGG16 224x224 batch 1 on the Ultra96: lower bounds vs the RTL overlay "
                    "vs the goals")
    for col in ("width", "design", "MACs / cycle", "conv cycles", "FC ms (DDR)",
                f"s @ {CLOCK_MHZ:.0f} MHz", "goal s", f"vs goal @ {CLOCK_MHZ:.0f} MHz",
                "clock for goal (MHz)"):
        t.add_column(col, justify="right")
    for bits in (8, 16):
        p = S.vgg16_overlay_params(bits)
        prog = S.vgg16_program(224, bits)
        padded = plan_program(prog, p).program
        macs = _work(prog, 1, 1)[0]
        _, steps, fc_bytes = _work(padded, p.pe, p.simd)
        fc_s = fc_bytes / (gbps * 1e9)
        dev_rate = dsps * MACS_PER_DSP[bits]
        goal = GOAL_S[bits]
        rows = [("bound: every DSP, any array shape", dev_rate, macs / dev_rate, fc_s),
                (f"bound: PE {p.pe} x SIMD {p.simd} (power-of-two tiling)", p.pe * p.simd,
                 float(steps), fc_s)]
        fig = sim.get(f"vgg16_224_{bits}bit")
        figures = {"conv_macs": macs, "fc_weight_bytes": fc_bytes, "fc_seconds_at_ddr": fc_s,
                   "device_macs_per_cycle": dev_rate, "goal_seconds": goal}
        for name, rate, cyc, fs in rows:
            s = cyc / (CLOCK_MHZ * 1e6) + fs
            need = _clock_for(cyc, fs, goal)
            t.add_row(f"{bits}-bit", name, f"{rate}", f"{cyc:,.0f}", f"{1e3 * fs:.1f}",
                      f"{s:.4f}", f"{goal}", "under" if s <= goal else "over",
                      f"{need:.0f}" if need else "never")
            figures[name] = {"conv_cycles": cyc, "seconds_at_clock": s,
                             "clock_mhz_for_goal": need}
        if fig:
            cyc = int(fig["simulated_cycles"])
            s = cyc / (CLOCK_MHZ * 1e6)
            need = cyc / goal / 1e6
            t.add_row(f"{bits}-bit", f"SIMULATED RTL overlay PE {p.pe} x SIMD {p.simd}",
                      f"{p.pe * p.simd}", f"{cyc:,} (all layers)", "incl.", f"{s:.4f}",
                      f"{goal}", "met" if s <= goal else "missed (simulated)", f"{need:.0f}")
            figures["simulated"] = {"cycles": cyc, "seconds_at_clock": s,
                                    "clock_mhz_for_goal": need}
        rec.figures(f"vgg16_224_{bits}bit", figures)
    con.print(rec.table(t))
    rec.write(args.json)


if __name__ == "__main__":
    main()
