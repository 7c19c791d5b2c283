# SPDX-License-Identifier: Apache-2.0
"""Yosys synthesis evidence of the RTL overlay IP (``edgepool_overlay``: ``ep_axil_ctrl``, the
AXI4 read / write engines ``ep_ovl_rd`` / ``ep_ovl_wr`` and the layer engine ``ep_ovl_core``)
through ``synth_xilinx -family xcup`` (Ultra96 ZU3EG), against the device and the RTL overlay's
resource model (:func:`edgepool.dse.rtl_overlay_cost.rtl_overlay_resources`: DSP and block RAM
from the structure, LUT / FF fitted to the designs marked ``fit`` here; the others are held out).
The least-squares LUT / FF fit of this run's ``fit`` designs is printed and recorded.

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

import numpy as np
from _report import Recorder
from rich.console import Console
from rich.table import Table

from edgepool.accel.engine import OverlayParams
from edgepool.codegen.synth import (
    OVERLAY_BLOCKS,
    DesignSynth,
    critical_path,
    parse_blocks_log,
    synth_overlay_blocks,
    yosys_resources,
)
from edgepool.dse.cost import DEVICES
from edgepool.dse.rtl_overlay_cost import (
    resource_features,
    rtl_overlay_resources,
    weight_port_resources,
)
from edgepool.errors import ToolchainError
from edgepool.runtime.rtl_overlay_sim import vgg16_overlay_params

console = Console(width=160)

#: the capacities the lenet-digits Ultra96 build chose (``edgepool build models/lenet-digits
#: ultra96 --style overlay``: the exploration's pick, manifest ``config.hls``)
LENET_DIGITS_ULTRA96 = OverlayParams(simd=8, pe=16, act_bits=8, w_bits=8, acc_bits=24,
                                     lb_words=512, wbuf_words=512, max_tile_nf=4,
                                     plb_words=512, splb_words=64, sum_bits=11, out_bits=32)


#: the designs the LUT / FF model is fitted to (the rest are held out)
FIT = ("lenet-digits-overlay-ultra96", "overlay-pe8-simd4-small", "overlay-pe16-simd16-int8")
#: the one design wider than 8 bits: the model's WIDE_SCALE is its ratio Yosys / fit
WIDE_FIT = ("vgg16-overlay-int16",)


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
             "edgepool.runtime.rtl_overlay_sim.vgg16_overlay_params(8): 512 multipliers"),
            ("vgg16-overlay-int16", vgg16_overlay_params(16),
             "edgepool.runtime.rtl_overlay_sim.vgg16_overlay_params(16): 256 16-bit "
             "multipliers")]
    return out


KEYS = ("LUT", "FF", "DSP", "BRAM36")


def run(name: str, p: OverlayParams, workdir: Path | None, reuse: bool
        ) -> tuple[DesignSynth, float | None]:
    """Yosys of the overlay with its modules kept (per-module cells and logic levels, and the
    flattened total), or the log kept in ``workdir`` with ``reuse``."""
    wd = workdir / name if workdir else None
    if reuse and wd is not None and (wd / "blocks.log").exists():
        secs = wd / "yosys_seconds.txt"
        return (parse_blocks_log((wd / "blocks.log").read_text(errors="replace"), name, "xcup",
                                 "edgepool_overlay", OVERLAY_BLOCKS),
                float(secs.read_text()) if secs.exists() else None)
    t0 = time.perf_counter()
    d = synth_overlay_blocks(p, target="xcup", workdir=wd, name=name)
    secs = time.perf_counter() - t0
    if wd is not None:
        (wd / "yosys_seconds.txt").write_text(f"{secs:.1f}\n")
    return d, secs


def model(p: OverlayParams) -> dict[str, float]:
    """The RTL overlay's resource model at these capacities (int8 DSP packing on, as for
    the Ultra96)."""
    return rtl_overlay_resources(p, dsp_pack=True)


def fit(rows: dict[str, tuple[OverlayParams, dict]]) -> dict[str, list[float]]:
    """Least squares of LUT and FF, less the weight ports' structural part, on
    :func:`~edgepool.dse.rtl_overlay_cost.resource_features` over the ``FIT`` designs."""
    names = [n for n in FIT if n in rows]
    if len(names) < 3:
        return {}
    a = np.array([resource_features(rows[n][0]) for n in names])
    out = {}
    for i, k in enumerate(("LUT", "FF")):
        y = np.array([rows[n][1][k] - weight_port_resources(rows[n][0])[i] for n in names])
        out[k] = [round(float(v), 2) for v in np.linalg.lstsq(a, y, rcond=None)[0]]
    return out


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
        "model: edgepool.dse.rtl_overlay_cost.rtl_overlay_resources (ESTIMATED): DSP = the "
        "MAC array (two int8 lanes per DSP48E2) + the control's measured ADDRESS_DSP; BRAM36 "
        "from the buffer shapes (RAMB18 / RAMB36 aspect ratios); LUT / FF = the extra weight "
        "ports' structural part + a linear fit on (1, PE, MACs x operand bits / 16), least "
        f"squares over {', '.join(FIT)} (fit); operands wider than 8 bits scale the fitted part "
        f"by WIDE_SCALE, the ratio of {', '.join(WIDE_FIT)} (one run); the rest held out.",
        "multipliers: PE x SIMD products of the MAC array, (ACT_BITS+1) x W_BITS signed bits; "
        "with 8-bit operands lanes 2k and 2k+1 share one DSP48E2 (x * (w_hi * 2^18 + w_lo)).",
        "history: the RTL of commit a74308a (per-lane 128-bit requantizers with run-time "
        "shifts, per-lane 32-bit dividers, 32 / 64-bit address products, unpacked MACs) gave "
        "80,524 / 135,947 / 145,660 LUT and 213 / 336 / 464 DSP for the small / lenet-digits / "
        "PE 16 x SIMD 16 overlays (193 % of the ZU3EG's LUTs for lenet-digits)."])
    dev = DEVICES["ultra96"]
    cap = {"LUT": dev.lut, "FF": 2 * dev.lut, "DSP": dev.dsp, "BRAM36": dev.bram36}
    t = Table(title="RTL overlay IP: Yosys synth_xilinx -family xcup (SYNTHESIZED) vs the "
                    f"overlay resource model (ESTIMATED) and the Ultra96 {dev.part}")
    for col in ["design", "PE x SIMD", *[f"{k} {s}" for k in KEYS
                                         for s in ("yosys", "model", "err", "% device")],
                "yosys s"]:
        t.add_column(col, justify="left" if col == "design" else "right")
    rows: dict[str, tuple[OverlayParams, dict]] = {}
    tables: list[Table] = []
    for name, p, origin in designs(args.quick):
        if args.only and name not in args.only:
            continue
        console.print(f"synthesizing {name} ({origin}) ...")
        try:
            d, secs = run(name, p, args.workdir, args.reuse)
            rep = d.top
        except ToolchainError as e:        # --reuse of a run that did not finish
            console.print(f"{name}: no result ({str(e).splitlines()[0]})")
            t.add_row(name, f"{p.pe} x {p.simd}", *[""] * (4 * len(KEYS)), "unfinished")
            rec.figures(name, {"origin": origin, "params": asdict(p), "finished": False})
            continue
        y = yosys_resources(rep)
        rows[name] = (p, y)
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
        blocks: dict[str, dict] = {}
        for b in d.blocks:                 # (one module, several parameterizations: #2, #3)
            key = b.block + ("" if b.count == 1 else f" x{b.count}")
            key += "" if key not in blocks else f" #{sum(k.startswith(key) for k in blocks) + 1}"
            blocks[key] = {**yosys_resources(b.report), "levels": b.depth}
        bt = Table(title=f"{name}: per module (one instance each; SYNTHESIZED), logic levels = "
                         "Yosys ltp on the mapped cells between flip-flops / RAMs")
        for col in ("module", *KEYS, "logic levels"):
            bt.add_column(col, justify="left" if col == "module" else "right")
        for mod, v in sorted(blocks.items(), key=lambda kv: -kv[1]["LUT"]):
            bt.add_row(mod, *[f"{v[k]:g}" for k in KEYS], str(v["levels"]))
        bt.add_row("whole IP (flattened)", *[f"{y[k]:g}" for k in KEYS], critical_path(d))
        tables.append(bt)
        dsp_types = {k: v for k, v in rep.cell_types.items() if k.startswith("DSP")}
        console.print(f"{name}: {y} multipliers {p.pe * p.simd}, DSP cells {dsp_types}, "
                      f"yosys {secs if secs is None else round(secs)} s")
        rec.figures(name, {"origin": origin, "params": asdict(p), "target": "xcup",
                           "role": ("fit" if name in FIT else "fit (WIDE_SCALE)"
                                    if name in WIDE_FIT else "held out"),
                           "multipliers": p.pe * p.simd, "yosys": y, "model": m,
                           "error_percent": err,
                           "device_percent": {k: 100 * y[k] / cap[k] for k in KEYS},
                           "fits_device": all(y[k] <= cap[k] for k in KEYS),
                           "cell_types": rep.cell_types, "yosys_seconds": secs,
                           "blocks": blocks, "logic_levels": d.depth,
                           "deepest_path": critical_path(d)})
    t.add_row(f"ultra96 capacity ({dev.part})", "",
              *[x for k in KEYS for x in (str(cap[k]), "", "", "")], "")
    console.print(rec.table(t))
    for bt in tables:
        console.print(rec.table(bt))
    f = fit(rows)
    if f:
        console.print(f"least squares over {', '.join(FIT)}: LUT_COEF = {tuple(f['LUT'])}, "
                      f"FF_COEF = {tuple(f['FF'])}")
        rec.figures("lut_ff_fit", f)
    rec.write(args.json)


if __name__ == "__main__":
    main()
