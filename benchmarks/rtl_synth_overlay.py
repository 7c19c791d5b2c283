# SPDX-License-Identifier: Apache-2.0
"""Yosys synthesis evidence of the RTL overlay IP (``edgepool_overlay``: ``ep_axil_ctrl``, the
AXI4 read / write engines ``ep_ovl_rd`` / ``ep_ovl_wr`` and the layer engine ``ep_ovl_core``)
through ``synth_xilinx -family xcup`` (Ultra96 ZU3EG), against the device and the overlay
resource model the exploration uses (:func:`edgepool.dse.cost.overlay_resources`).

    .venv/bin/python benchmarks/rtl_synth_overlay.py [--quick] [--json OUT.json]
        [--workdir DIR [--reuse]] [--only NAME ...]

The dataflow designs are in ``rtl_synth.py``; this script runs the overlay only. Figures: LUT /
FF / DSP / BRAM36 are Yosys 0.23 counts (**synthesized**, not placed: Vivado's counts differ);
the model columns are **estimated**. ``--quick``: the lenet-digits overlay only. ``--reuse``:
parse the ``synth.log`` kept in ``--workdir`` by an earlier run instead of running Yosys.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path

from _report import Recorder
from rich.console import Console
from rich.table import Table

from edgepool.accel.engine import HlsConfig, OverlayParams
from edgepool.codegen.synth import SynthReport, parse_stat, synth_overlay, yosys_resources
from edgepool.dse.cost import DEVICES, overlay_resources
from edgepool.errors import ToolchainError
from edgepool.runtime.rtl_overlay_sim import vgg16_overlay_params

console = Console(width=160)

#: the capacities the lenet-digits Ultra96 build chose (``edgepool build models/lenet-digits
#: ultra96 --style overlay``: the exploration's pick, manifest ``config.hls``)
LENET_DIGITS_ULTRA96 = OverlayParams(simd=8, pe=16, act_bits=8, w_bits=8, acc_bits=24,
                                     lb_words=512, wbuf_words=512, max_tile_nf=4,
                                     plb_words=512, splb_words=64, sum_bits=11, out_bits=32)


def designs(quick: bool) -> list[tuple[str, OverlayParams, str]]:
    """(name, capacities, where they come from) of every synthesized overlay."""
    out = [("lenet-digits-overlay-ultra96", LENET_DIGITS_ULTRA96,
            "the lenet-digits Ultra96 overlay build's choice")]
    if quick:
        return out
    out += [("overlay-pe8-simd4-small",
             OverlayParams(simd=4, pe=8, lb_words=512, wbuf_words=256, plb_words=256,
                           splb_words=256),
             "the small overlay of tests/rtl/test_rtl_overlay_synth.py"),
            ("overlay-pe16-simd16-int8",
             OverlayParams(simd=16, pe=16, act_bits=8, w_bits=8, acc_bits=32, lb_words=2048,
                           wbuf_words=1024, max_tile_nf=8, plb_words=1024, splb_words=1024,
                           sum_bits=16, out_bits=32),
             "PE 16 x SIMD 16, 8-bit: 256 multipliers"),
            ("vgg16-overlay-int8", vgg16_overlay_params(8),
             "edgepool.runtime.rtl_overlay_sim.vgg16_overlay_params(8): 512 multipliers")]
    return out


KEYS = ("LUT", "FF", "DSP", "BRAM36")


def run(name: str, p: OverlayParams, workdir: Path | None, reuse: bool
        ) -> tuple[SynthReport, float | None]:
    wd = workdir / name if workdir else None
    if reuse and wd is not None and (wd / "synth.log").exists():
        cells, types, wires = parse_stat((wd / "synth.log").read_text(errors="replace"))
        secs = wd / "yosys_seconds.txt"
        return (SynthReport(name, "xcup", cells, types, wires),
                float(secs.read_text()) if secs.exists() else None)
    t0 = time.perf_counter()
    rep = synth_overlay(p, target="xcup", workdir=wd, name=name)
    secs = time.perf_counter() - t0
    if wd is not None:
        (wd / "yosys_seconds.txt").write_text(f"{secs:.1f}\n")
    return rep, secs


def model(p: OverlayParams) -> dict[str, float]:
    """The exploration's overlay resource model at these capacities (8-bit DSP packing on,
    as the Ultra96 configurations assume)."""
    dsp, bram, lut = overlay_resources(HlsConfig(style="overlay", **asdict(p)))
    return {"LUT": lut, "DSP": dsp, "BRAM36": bram}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="the lenet-digits overlay only")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--workdir", type=Path, help="keep the generated designs and Yosys logs")
    ap.add_argument("--reuse", action="store_true", help="parse the logs kept in --workdir")
    ap.add_argument("--only", nargs="*", help="these designs only (names)")
    args = ap.parse_args()
    rec = Recorder("rtl_synth_overlay", notes=[
        "LUT / FF / DSP / BRAM36: Yosys 0.23 synth_xilinx -family xcup counts of the whole "
        "overlay IP, flattened (SYNTHESIZED, not placed or routed; LUTRAM counted as LUTs; "
        "BRAM36 = RAMB36 + RAMB18 / 2).",
        "model: edgepool.dse.cost.overlay_resources (ESTIMATED; the HLS overlay's model, the "
        "one the exploration ranks overlay configurations with; it has no FF term).",
        "multipliers: PE x SIMD products of the MAC array, each (ACT_BITS+1) x W_BITS signed "
        "bits -> one DSP48E2; nothing packs two int8 products into one DSP. Before commit "
        "a74308a the core wrote them as 64-bit longint products: 3 DSP48E2 each (small PE8 x "
        "SIMD4 overlay: 277 DSP, 81,981 LUT instead of 213 / 80,524).",
        "the DSPs beyond PE x SIMD are the control's run-time 32 / 64-bit address and size "
        "products (181 in the small overlay). The LUTs were not broken down by source; the "
        "elaborated core of the small overlay holds per PE lane a 128-bit requantizer with "
        "run-time shifts (24 $sshl + 24 $sshr cells at PE 8) and a 32-bit divider (average "
        "pool), 28 $div + 10 $mod and 177 $mul cells in all: written for simulation, not "
        "area."])
    dev = DEVICES["ultra96"]
    cap = {"LUT": dev.lut, "FF": 2 * dev.lut, "DSP": dev.dsp, "BRAM36": dev.bram36}
    t = Table(title="RTL overlay IP: Yosys synth_xilinx -family xcup (SYNTHESIZED) vs the "
                    f"overlay resource model (ESTIMATED) and the Ultra96 {dev.part}")
    for col in ["design", "PE x SIMD", *[f"{k} {s}" for k in KEYS
                                         for s in ("yosys", "model", "err", "% device")],
                "yosys s"]:
        t.add_column(col, justify="left" if col == "design" else "right")
    for name, p, origin in designs(args.quick):
        if args.only and name not in args.only:
            continue
        console.print(f"synthesizing {name} ({origin}) ...")
        try:
            rep, secs = run(name, p, args.workdir, args.reuse)
        except ToolchainError as e:        # --reuse of a run that did not finish
            console.print(f"{name}: no result ({str(e).splitlines()[0]})")
            t.add_row(name, f"{p.pe} x {p.simd}", *[""] * (4 * len(KEYS)), "unfinished")
            rec.figures(name, {"origin": origin, "params": asdict(p), "finished": False})
            continue
        y = yosys_resources(rep)
        m = model(p)
        cells = []
        err: dict[str, float | None] = {}
        for k in KEYS:
            mk = m.get(k)
            err[k] = None if mk is None or not y[k] else 100.0 * (mk - y[k]) / y[k]
            cells += [f"{y[k]:g}", "" if mk is None else f"{mk:g}",
                      "" if err[k] is None else f"{err[k]:+.0f}%",
                      f"{100 * y[k] / cap[k]:.1f}%"]
        t.add_row(name, f"{p.pe} x {p.simd}", *cells, "" if secs is None else f"{secs:.0f}")
        dsp_types = {k: v for k, v in rep.cell_types.items() if k.startswith("DSP")}
        console.print(f"{name}: {y} multipliers {p.pe * p.simd}, DSP cells {dsp_types}, "
                      f"yosys {secs if secs is None else round(secs)} s")
        rec.figures(name, {"origin": origin, "params": asdict(p), "target": "xcup",
                           "multipliers": p.pe * p.simd, "yosys": y, "model": m,
                           "error_percent": err,
                           "device_percent": {k: 100 * y[k] / cap[k] for k in KEYS},
                           "fits_device": all(y[k] <= cap[k] for k in KEYS),
                           "cell_types": rep.cell_types, "yosys_seconds": secs})
    t.add_row(f"ultra96 capacity ({dev.part})", "",
              *[x for k in KEYS for x in (str(cap[k]), "", "", "")], "")
    console.print(rec.table(t))
    rec.write(args.json)


if __name__ == "__main__":
    main()
