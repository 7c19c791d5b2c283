# SPDX-License-Identifier: Apache-2.0
"""FPGA accelerator figures of the README: what the design-space exploration chooses for each
model on the Ultra96 and what the cost model **estimates** for it. Nothing is synthesized or run
on hardware here: latency, GOP/s, DSP, BRAM36, LUT and the clock are cost-model estimates
(edgepool/dse/cost.py; the clock is the cap the exploration assumes an HLS design closes at).

    .venv/bin/python benchmarks/fpga_estimates.py [--quick] [--json OUT.json]

The shipped lenet models are explored from their QONNX files; VGG16 (8 and 16 bits) is generated
on demand into models/vgg16/ (git-ignored, ~530 MB each, ~25 s) exactly as
``python -m edgepool.quant.vgg16 [--bits 16]`` does, then imported and lowered like
``edgepool build`` does. ``--quick``: lenet only.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

from _report import Recorder
from rich.console import Console
from rich.table import Table

import edgepool
from edgepool.accel.lower import lower_to_hw
from edgepool.dse.explore import chosen_of, explore
from edgepool.dse.space import skeleton
from edgepool.quant import vgg16
from edgepool.toolchain import REPO_ROOT

BOARD = "ultra96"
SEED_PAPER_S = 2.0          # VGG16 Q2.14 on the Ultra96 with PYNQ, hand-written HLS
console = Console(width=160)


def models(quick: bool) -> list[tuple[str, int, Path]]:
    """(label, bits, QONNX file) of every model explored."""
    m = REPO_ROOT / "models"
    out = [("lenet-digits 8-bit", 8, m / "lenet-digits" / "lenet-digits.onnx"),
           ("lenet-digits 16-bit", 16, m / "lenet-digits" / "lenet-digits-w16.onnx"),
           ("lenet-digits 4-bit", 4, m / "lenet-digits" / "lenet-digits-w4.onnx"),
           ("lenet-mnist 8-bit", 8, m / "lenet-mnist" / "lenet-mnist.onnx"),
           ("lenet-mnist 16-bit", 16, m / "lenet-mnist" / "lenet-mnist-w16.onnx")]
    if not quick:
        out += [("VGG16 8-bit", 8, m / "vgg16" / "vgg16.onnx"),
                ("VGG16 16-bit (Q2.14)", 16, m / "vgg16" / "vgg16-w16.onnx")]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="lenet models only")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    rec = Recorder("fpga_estimates", board=BOARD,
                   notes=["Every figure in this report is an ESTIMATE of edgepool's analytic "
                          "cost model; nothing was synthesized, placed or measured on a board.",
                          f"Seed paper: VGG16 Q2.14 on the Ultra96, {SEED_PAPER_S} s per image "
                          "(measured by its authors, 2.63 W)."])
    t = Table(title=f"{BOARD}: design-space exploration choice, cost-model ESTIMATES")
    for col in ["model", "chosen configuration", "est. clock MHz", "est. latency / image",
                "est. GOP/s", "est. DSP", "est. BRAM36", "est. LUT",
                "est. memory-bound share", "candidates", "explore s"]:
        t.add_column(col, justify="right")
    for label, bits, path in models(args.quick):
        if label.startswith("VGG16") and not path.exists():
            vgg16.generate(path, bits, 0)
        program, _ = lower_to_hw(edgepool.load(path))
        # the file's weight width is the bit width claimed in the label
        widths = {ly.weight_type.bits for ly in program.layers if ly.weight_type is not None}
        if widths != {bits}:
            raise SystemExit(f"{path}: weights are {sorted(widths)} bits, not {bits}: "
                             "delete the file to regenerate it")
        sk = skeleton(program)
        del program
        gc.collect()
        t0 = time.perf_counter()
        cands = explore(sk, BOARD, jobs=0)
        secs = time.perf_counter() - t0
        c = chosen_of(cands)
        lat = c.latency_s
        rec.figures(label, {"model_file": str(path.relative_to(REPO_ROOT)), "bits": bits,
                            "configuration": c.label(), "est_clock_mhz": c.config.clock_mhz,
                            "est_latency_s": lat, "est_gops": c.gops, "est_dsp": c.dsp,
                            "est_bram36": c.bram36, "est_lut": c.lut,
                            "est_memory_bound_fraction": c.memory_bound_fraction,
                            "est_speedup_vs_seed_paper":
                                SEED_PAPER_S / lat if label.startswith("VGG16") else None,
                            "candidates": len(cands), "explore_seconds": round(secs, 1)})
        t.add_row(label, c.label(), f"{c.config.clock_mhz:g}",
                  f"{lat:.3f} s" if lat >= 0.01 else f"{lat * 1e6:.1f} µs",
                  f"{c.gops:.1f}", str(c.dsp), str(c.bram36), f"{c.lut:,}",
                  f"{c.memory_bound_fraction:.0%}", str(len(cands)), f"{secs:.0f}")
    console.print(rec.table(t))
    rec.write(args.json)


if __name__ == "__main__":
    main()
