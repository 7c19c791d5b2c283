# SPDX-License-Identifier: Apache-2.0
"""Does max-pool earn its place? The All-Convolutional Net (strided convolutions instead of
max-pooling, a 1×1 class convolution and a global-average float head) beside LeNet (max-pool,
fully connected head), both 8-bit power-of-two fixed point, trained by ``edgepool train`` on the
same MNIST subset and split.

Per model:

* test accuracy (``metrics.json``: argmax of the exact integer outputs, 1000 test images);
* MACs and parameters (the imported IR: Conv/Gemm MACs; weights + biases);
* **estimated** fabric latency per image on the Ultra96: the design-space exploration's choice,
  costed by its HLS cost model (edgepool/dse) and by the cycle model of the engine the build
  deploys (RTL wherever it supports the program), for the part the fabric runs — all of LeNet;
  the All-Conv net up to its class-conv accumulator (the float average head runs on the host:
  it is left out, it costs 250 additions);
* aarch64 dynamic instructions per inference of the ``--target cortex-a53`` build (NEON kernels
  + TVM LLVM), counted under ``qemu-aarch64 -d nochain,in_asm,exec`` as benchmarks/cpu_models.py
  does — the log streamed through a pipe, never written to disk — from the difference of runner
  invocations with 3 and 1 timed passes over one image.

    .venv/bin/python benchmarks/allconv_vs_maxpool.py [--json OUT.json]

``benchmarks/run.py --only allconv_vs_maxpool`` writes
benchmarks/results/allconv_vs_maxpool.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from _qemu import QEMU_TRACE_FLAGS, count_instructions_piped
from _report import Recorder
from rich.console import Console
from rich.table import Table

import edgepool
from edgepool import toolchain
from edgepool.accel.lower import lower_to_hw
from edgepool.build import build
from edgepool.build.engine import pick
from edgepool.dse.explore import chosen_of, explore
from edgepool.dse.space import skeleton
from edgepool.ir.graph import Graph
from edgepool.ir.ops import OPS
from edgepool.toolchain import REPO_ROOT
from edgepool.tvm import build as B
from edgepool.tvm.runner import runner_command

BOARD = "ultra96"
A64 = "aarch64-linux-gnu"
MODELS = {"lenet-mnist (max-pool)": "lenet-mnist", "allconv-mnist (strided conv)": "allconv-mnist"}
console = Console(width=160)


def macs_params(g: Graph) -> tuple[int, int]:
    """(MACs, weights + biases) of the graph's Conv / Gemm layers."""
    macs = params = 0
    for n in g.nodes:
        ins = [g.values[x] for x in n.inputs]
        macs += OPS[n.op].macs(n, ins, [g.values[x] for x in n.outputs])
        if n.op in ("Conv", "Gemm"):
            params += sum(g.values[x].size for x in n.inputs[1:] if g.is_const(x))
    return macs, params


def fabric_part(g: Graph) -> Graph:
    """The graph the fabric runs: without a float global-average head (Affine [+ Flatten]),
    whose input accumulator becomes the output."""
    heads = [n for n in g.nodes if n.op == "Affine"]
    if not heads:
        return g
    head = heads[0]
    keep = tuple(n for n in g.nodes if n is not head and head.outputs[0] not in n.inputs)
    return g.replace(nodes=keep, outputs=(head.inputs[0],))


def fabric_latency_s(g: Graph) -> tuple[float, float, str, str]:
    """(HLS cost model's latency, the build's default engine's estimate, configuration, engine)
    of the exploration's choice; the engine is picked as ``edgepool build`` picks it (RTL where
    it supports the program) and costed with its own cycle model."""
    program, _ = lower_to_hw(fabric_part(g))
    c = chosen_of(explore(skeleton(program), BOARD, jobs=0))
    sec = pick(program, c.config, "auto", c.config.style, float(c.config.clock_mhz))
    eng = sec.estimate["latency_s"] if sec.estimate else c.latency_s
    return c.latency_s, eng, c.label(), sec.name


def instructions(cpu_dir: Path, x1: np.ndarray, repeat: int) -> int:
    with tempfile.TemporaryDirectory(prefix="ep-ac-") as td:
        fin, fout = Path(td) / "in.bin", Path(td) / "out.bin"
        fin.write_bytes(np.ascontiguousarray(x1, np.float32).tobytes())
        cmd = runner_command(cpu_dir, A64, [str(cpu_dir / B.lib_name(A64)), str(fin), str(fout),
                                            str(repeat)], QEMU_TRACE_FLAGS)
        return count_instructions_piped(cmd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--quick", action="store_true", help="accepted for run.py (no effect)")
    args = ap.parse_args()
    toolchain.require("qemu-aarch64")
    os.environ["TVM_NUM_THREADS"] = "1"
    rec = Recorder("allconv_vs_maxpool", board=BOARD,
                   notes=["accuracy: measured (argmax of the exact integer outputs on the 1000 "
                          "shipped test images, metrics.json); MACs / parameters: counted on "
                          "the IR",
                          "fabric latency: ESTIMATED for the design the exploration chooses "
                          "(Ultra96), by the exploration's HLS cost model and by the cycle "
                          "model of the engine the build deploys (RTL where it supports the "
                          "program); the All-Conv float head (global average of a 10×5×5 "
                          "accumulator) is left to the host",
                          "aarch64 instructions: dynamic count under qemu-aarch64 of the "
                          "cortex-a53 build (one inference, batch 1), not cycles"])
    t = Table(title="All-Conv vs max-pool LeNet, 8-bit fixed point, MNIST subset")
    for col in ["model", "test accuracy", "MACs", "parameters",
                "est. fabric latency (HLS model)", "est. fabric latency (deployed engine)",
                "fabric configuration", "aarch64 instructions / inference"]:
        t.add_column(col, justify="right")
    work = Path(tempfile.mkdtemp(prefix="ep-allconv-"))
    for label, name in MODELS.items():
        d = REPO_ROOT / "models" / name
        onnx_path = d / f"{name}.onnx"
        g = edgepool.load(onnx_path)
        macs, params = macs_params(g)
        acc = json.loads((d / "metrics.json").read_text())["int_test_acc"]
        lat, eng_lat, cfg, engine = fabric_latency_s(g)
        out = work / name
        build(onnx_path, "cortex-a53", out)
        x1 = np.load(d / "test.npz")["x"][:1]
        insn = (instructions(out / "cpu", x1, 3) - instructions(out / "cpu", x1, 1)) // 2
        rec.figures(label, {"model": name, "test_acc": acc, "macs": macs, "params": params,
                            "est_fabric_latency_s": lat, "fabric_configuration": cfg,
                            "engine": engine, "est_engine_latency_s": eng_lat,
                            "aarch64_insn_per_inference": insn})
        t.add_row(label, f"{acc:.2%}", f"{macs / 1e6:.2f} M", f"{params:,}",
                  f"{lat * 1e6:.1f} µs", f"{eng_lat * 1e6:.1f} µs ({engine.upper()})", cfg,
                  f"{insn / 1e6:.2f} M")
    console.print(rec.table(t))
    rec.write(args.json)


if __name__ == "__main__":
    main()
