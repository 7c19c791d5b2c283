# SPDX-License-Identifier: Apache-2.0
"""Heterogeneous placement (fabric + Cortex-A53) of every shipped model on every Zynq board:
the **estimated** latency per image of the chosen placement against fabric-only and CPU-only,
the pipelined throughput (fabric on image i while the CPU runs image i−1), the bytes crossing
the fabric boundary, and the per-segment breakdown (edgepool/tvm/placement.py). Nothing here is
measured: fabric cycles come from the RTL engine's cycle model (dse/cost.py), CPU instructions
from the NEON kernels' C cost model and per-element rules at ~1 instruction per cycle, the
boundary from the board file's HP-port bandwidth plus a fixed cost per fabric call.

Also the synthetic depthwise / residual models of tests/hetero (which the fabric cannot run
whole), to show a split the build makes on its own.

    .venv/bin/python benchmarks/hetero_placement.py [--json OUT.json]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _report import Recorder
from rich.console import Console
from rich.table import Table

import edgepool
from edgepool.build.stages import CPU_RUNTIMES
from edgepool.errors import EdgepoolError
from edgepool.passes.pipelines import run_phase
from edgepool.targets import boards
from edgepool.toolchain import REPO_ROOT
from edgepool.tvm.placement import place, split_applies

BOARDS = ("ultra96", "zcu104", "pynq-z2")
console = Console(width=200)


def models():
    """(label, canonical graph) of every shipped model and the synthetic test models."""
    from edgepool.quant.models import MODELS

    for f in sorted((REPO_ROOT / "models").glob("*/*.onnx")):
        info = MODELS.get(f.parent.name)
        if info is not None and not info.trainable:
            # generated on demand (VGG16: python -m edgepool.quant.vgg16), not shipped: the RTL
            # chain's element-level cycle model of every candidate segment takes hours at 224
            print(f"skipped {f.relative_to(REPO_ROOT)} (generated, not a shipped model)")
            continue
        yield f.stem, edgepool.load(f)
    sys.path.insert(0, str(REPO_ROOT / "tests" / "hetero"))
    from hetero_graphs import depthwise_graph

    yield "synthetic dw (tests/hetero)", run_phase("canonicalize", depthwise_graph(residual=False))
    yield "synthetic dw+residual (tests/hetero)", run_phase("canonicalize", depthwise_graph())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    rec = Recorder("hetero_placement", notes=[
        "Every figure is an ESTIMATE of edgepool's placement cost model (RTL cycle model, NEON "
        "instruction model at 1 IPC, HP-port DMA + fixed call cost); nothing was measured on a "
        "board."])
    t = Table(title="Estimated µs per image: chosen placement vs fabric-only vs CPU-only")
    for col in ["model", "board", "segments (device: est. µs)", "hetero µs", "fabric-only µs",
                "CPU-only µs", "pipelined µs/img", "boundary B/img", "≤ min?", "build"]:
        t.add_column(col, justify="right")
    ok = True
    for label, g in models():
        for name in BOARDS:
            board = boards()[name]
            cpu_ok = board.cpu in CPU_RUNTIMES
            try:
                p = edgepool_place(g, board, cpu_ok)
            except EdgepoolError as e:
                t.add_row(label, name, "-", "-", "-", "-", "-", "-", "-",
                          "refused: " + e.message.split(":")[0][:90])
                rec.figures(f"{label}@{name}", {"refused": e.message})
                continue
            best = min(x for x in (p.fabric_only_us, p.cpu_only_us) if x is not None)
            if not cpu_ok:
                best = p.fabric_only_us
            good = p.hetero_us <= best + 1e-9
            ok &= good
            segs = ", ".join(f"{s.device}: {s.est_us:.1f}" for s in p.segments)
            build = "heterogeneous" if split_applies(p, False) else "fabric-only"
            t.add_row(label, name, segs, f"{p.hetero_us:.1f}",
                      "refused" if p.fabric_only_us is None else f"{p.fabric_only_us:.1f}",
                      f"{p.cpu_only_us:.1f}" if cpu_ok else "no CPU runtime",
                      f"{p.pipelined_us:.1f}", str(p.boundary_bytes), "yes" if good else "NO",
                      build)
            rec.figures(f"{label}@{name}", p.to_dict())
    console.print(rec.table(t))
    console.print("goal (estimated heterogeneous ≤ min(fabric-only, CPU-only)) "
                  + ("met for every row" if ok else "NOT met for some rows"))
    rec.figures("goal_met", ok)
    rec.write(args.json)


def edgepool_place(g, board, cpu_ok):
    return place(g, board, cpu_available=cpu_ok, require_fabric=not cpu_ok)


if __name__ == "__main__":
    main()
