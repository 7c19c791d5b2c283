# SPDX-License-Identifier: Apache-2.0
"""Yosys synthesis evidence of the RTL engine: ``synth_xilinx`` (``-family xcup`` for the
Ultra96 / ZCU104, ``xc7`` for the PYNQ-Z2) of generated designs, block by block, against the
RTL resource model (:func:`edgepool.dse.cost.rtl_block_resources`, fitted to these counts) and
the device, with the logic levels of every block (Yosys ``ltp`` on the mapped netlist).

    .venv/bin/python benchmarks/rtl_synth.py [--quick] [--json OUT.json] [--workdir DIR [--reuse]]

Figures: LUT / FF / DSP / BRAM are Yosys 0.23 counts (**synthesized**, not placed: Vivado's
counts differ, it optimizes across blocks and packs LUTs differently); the model columns are
**estimated**; logic levels are Yosys ``ltp`` path lengths on the mapped cells (every CARRY4
of a carry chain counts one level), not a timing report: Fmax stays an assumption until a
vendor tool runs. ``--quick``: the lenet-digits IP only. ``--reuse``: parse the logs kept in
``--workdir`` by an earlier run instead of running Yosys again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _report import Recorder
from rich.console import Console
from rich.table import Table

import edgepool
from edgepool.accel.engine import HlsConfig
from edgepool.accel.folding import rtl_default_folding
from edgepool.accel.lower import lower_to_hw
from edgepool.accel.program import random_program
from edgepool.codegen.synth import (
    FAMILY,
    DesignSynth,
    compare_blocks,
    critical_path,
    parse_blocks_log,
    synth_blocks,
    yosys_resources,
)
from edgepool.dse.cost import DEVICES, RTL_COEF, estimate, rtl_features
from edgepool.toolchain import REPO_ROOT

console = Console(width=160)


def designs(quick: bool) -> list[tuple[str, object, str, bool, str]]:
    """(name, program, board, whole IP?, role) of every synthesized design; role ``fit``: its
    blocks fitted the model (the 7-series design gives the unpacked MAC arrays); ``held-out``:
    not used by it."""
    m = REPO_ROOT / "models"

    def load(p):
        return lower_to_hw(edgepool.load(p))[0]

    out = [("lenet-digits-ip-ultra96", load(m / "lenet-digits" / "lenet-digits.onnx"),
            "ultra96", True, "fit")]
    if quick:
        return out
    out += [
        ("random-c4c8f10", random_program(1, in_shape=(12, 12, 1)), "ultra96", False, "fit"),
        ("random-avg-4bit", random_program(2, in_shape=(8, 8, 4), w_bits=4, a_bits=4,
                                           spec="c8k3r-a2-c16k3r-f10"), "ultra96", False,
         "fit"),
        ("lenet-digits-w4", load(m / "lenet-digits" / "lenet-digits-w4.onnx"), "ultra96", False,
         "fit"),
        ("random-avg3", random_program(3, in_shape=(10, 10, 2), spec="c6k5r-a3s2-f8"),
         "ultra96", False, "held-out"),
        ("lenet-digits-pynq-z2", load(m / "lenet-digits" / "lenet-digits.onnx"), "pynq-z2",
         False, "fit"),
    ]
    return out


KEYS = ("LUT", "FF", "DSP", "BRAM36")


def run(name: str, program, board: str, accel: bool, workdir: Path | None,
        reuse: bool) -> DesignSynth:
    target = FAMILY[board]
    top = "ep_accel" if accel else "ep_top"
    wd = workdir / name if workdir else None
    if reuse and wd is not None and (wd / "blocks.log").exists():
        return parse_blocks_log((wd / "blocks.log").read_text(errors="replace"), name, target,
                                top)
    return synth_blocks(program, target=target, workdir=wd, accel=accel)


def hls_estimate(program, packing: bool) -> dict[str, float]:
    """The HLS engine's cost model (edgepool.dse.cost.estimate) at the RTL's folding: what the
    exploration assumed before the RTL model existed."""
    f = [rtl_default_folding(ly) for ly in program.layers]
    bits = max([program.in_type.bits] + [ly.out_type.bits for ly in program.layers])
    c = estimate(program, HlsConfig(style="dataflow", pe=tuple(x.pe for x in f),
                                    simd=tuple(x.simd for x in f), act_bits=min(bits, 16),
                                    clock_mhz=200.0, int8_dsp_packing=packing))
    return {"LUT": c.lut, "DSP": c.dsp, "BRAM36": c.bram36}


def summary(results) -> Table:
    t = Table(title="whole designs: Yosys (SYNTHESIZED) vs RTL resource model and HLS cost "
                    "model (ESTIMATED)")
    for col in ["design", "role", "target", "LUT yosys", "LUT rtl model", "LUT HLS model",
                "FF yosys", "FF rtl model", "DSP yosys", "DSP rtl model", "DSP HLS model",
                "BRAM36 yosys", "BRAM36 rtl model", "BRAM36 HLS model", "deepest path"]:
        t.add_column(col, justify="left" if col in ("design", "role", "target") else "right")
    for name, role, d, program in results:
        r = compare_blocks(d)[-1]
        h = hls_estimate(program, packing=d.target == "xcup")
        y, m = r["yosys"], r["model"]
        t.add_row(name, role, d.target, f"{y['LUT']:g}",
                  f"{m['LUT']:g} ({r['error']['LUT']:+.0f}%)",
                  f"{h['LUT']:g}", f"{y['FF']:g}", f"{m['FF']:g} ({r['error']['FF']:+.0f}%)",
                  f"{y['DSP']:g}", f"{m['DSP']:g}", f"{h['DSP']:g}", f"{y['BRAM36']:g}",
                  f"{m['BRAM36']:g}", f"{h['BRAM36']:g}", f"{d.depth} levels")
    return t


def fit(results: list[tuple[str, str, DesignSynth, object]]) -> None:
    """Non-negative least squares of the LUT and FF coefficients per block over the blocks of
    the ``fit`` designs (one sample per distinct block module); prints RTL_COEF."""
    import numpy as np
    from scipy.optimize import nnls

    samples: dict[str, list] = {}
    for _, role, d, _ in results:
        if role != "fit":
            continue
        for b in d.blocks:
            p = {k: v for k, v in b.params.items() if isinstance(v, int)}
            lx, fx = rtl_features(b.block, p)
            y = yosys_resources(b.report)
            samples.setdefault(b.block, []).append((lx, fx, y["LUT"], y["FF"]))
    print("RTL_COEF = {")
    for block, s in sorted(samples.items()):
        coef = []
        for i, key in ((0, 2), (1, 3)):
            a = np.array([x[i] for x in s], dtype=float)
            y = np.array([x[key] for x in s], dtype=float)
            c, _ = nnls(a, y)
            coef.append(tuple(round(float(v), 3) for v in c))
        print(f"    {block!r}: ({coef[0]}, {coef[1]}),   # {len(s)} samples")
    print("}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="the lenet-digits IP only")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--workdir", type=Path, help="keep the generated designs and Yosys logs")
    ap.add_argument("--reuse", action="store_true", help="parse the logs kept in --workdir")
    ap.add_argument("--fit", action="store_true", help="print the fitted RTL_COEF")
    args = ap.parse_args()
    rec = Recorder("rtl_synth", notes=[
        "LUT / FF / DSP / BRAM36: Yosys 0.23 synth_xilinx counts (SYNTHESIZED, not placed or "
        "routed; LUTRAM counted as LUTs; BRAM36 = RAMB36 + RAMB18 / 2).",
        "model: edgepool.dse.cost.rtl_block_resources (ESTIMATED; LUT / FF fitted to the "
        "blocks of the designs marked fit, the held-out design was not used).",
        "logic levels: Yosys ltp on the mapped cells between flip-flops, SRL shift registers "
        "and block / LUT RAMs (every CARRY4 of a carry chain counts one level): a depth "
        "measure, not a timing report; Fmax stays an assumption until a vendor tool runs."])
    results = []
    for name, program, board, accel, role in designs(args.quick):
        d = run(name, program, board, accel, args.workdir, args.reuse)
        results.append((name, role, d, program))
        rows = compare_blocks(d)
        t = Table(title=f"{name} ({role}): Yosys synth_xilinx -family {d.target} "
                        f"(SYNTHESIZED) vs RTL resource model (ESTIMATED)")
        for col in ["block", "parameters", "n", *[f"{k} {s}" for k in KEYS
                                                  for s in ("yosys", "model", "err")],
                    "logic levels"]:
            t.add_column(col, justify="right" if col not in ("block", "parameters") else "left")
        for r in rows:
            cells = []
            for k in KEYS:
                e = r["error"][k]
                cells += [f"{r['yosys'][k]:g}", f"{r['model'][k]:g}",
                          "" if e is None else f"{e:+.0f}%"]
            t.add_row(r["block"], r["params"], str(r["count"]), *cells,
                      "" if r["levels"] is None else str(r["levels"]))
        dev = DEVICES[board]
        y = yosys_resources(d.top)
        cap = {"LUT": dev.lut, "FF": 2 * dev.lut, "DSP": dev.dsp, "BRAM36": dev.bram36}
        t.add_row(f"{board} capacity", dev.part, "",
                  *[x for k in KEYS for x in (str(cap[k]), "", f"{100 * y[k] / cap[k]:.1f}% used")],
                  "")
        console.print(rec.table(t))
        console.print(f"deepest path of {name}: {critical_path(d)}")
        rec.figures(name, {"role": role, "board": board, "target": d.target,
                           "whole_ip": accel, "deepest_path_levels": d.depth,
                           "deepest_path_ends": [d.path[0], d.path[-1]] if d.path else [],
                           "fits_device": all(y[k] <= cap[k] for k in KEYS),
                           "blocks": rows})
    console.print(rec.table(summary(results)))
    held = [r for _, role, d, _ in results if role == "held-out" for r in compare_blocks(d)]
    if held:
        rec.figures("held_out_errors_percent", {
            f"{r['block']} {r['params']}": {k: r["error"][k] for k in ("LUT", "FF")}
            for r in held})
    rec.figures("rtl_coef", {k: list(map(list, v)) for k, v in RTL_COEF.items()})
    if args.fit:
        fit(results)
    rec.write(args.json)


if __name__ == "__main__":
    main()
