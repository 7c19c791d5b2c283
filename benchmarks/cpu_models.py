# SPDX-License-Identifier: Apache-2.0
"""Whole-model CPU benchmarks of the ``cortex-a53`` / ``x86`` builds (edgepool.tvm).

For each shipped trained model:

* x86 latency per image (batch 1, one thread): the BYOC build (NEON kernels through SIMDe +
  TVM glue) vs the TVM-LLVM-only build of the same Relax module (no offload) vs PyTorch eager
  float32 on the dequantized weights — the build runners' timing loop over the test images;
* aarch64 dynamic instructions per inference under ``qemu-aarch64 -d nochain,in_asm,exec``
  (Σ block executions × block length, as benchmarks/neon_kernels.py), BYOC vs TVM-only, from the
  difference of runner invocations with 3 and 1 timed passes over one image;
* peak resident memory (VmHWM) of a whole-test-set run of each build's runner (x86 native; the
  aarch64 figure under qemu is the emulator's own peak).

    .venv/bin/python benchmarks/cpu_models.py [--quick] [--json OUT.json]

No assertions: outputs are checked for exactness by tests/tvm.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _qemu import count_instructions

import edgepool
from edgepool import toolchain
from edgepool.toolchain import REPO_ROOT
from edgepool.tvm import build as B
from edgepool.tvm.runner import run_runner, runner_command

MODELS = {"lenet-digits": REPO_ROOT / "models" / "lenet-digits",
          "lenet-mnist": REPO_ROOT / "models" / "lenet-mnist"}
X86, A64 = "x86_64-linux-gnu", "aarch64-linux-gnu"


def compile_variants(name: str, work: Path) -> dict[tuple[str, bool], Path]:
    """(triple, offload) → compiled cpu folder (cached by edgepool.tvm.build)."""
    model = MODELS[name] / f"{name}.onnx"
    g = edgepool.load(model)
    out = {}
    for triple in (X86, A64):
        for offload in (True, False):
            d = work / f"{name}-{triple}-{'byoc' if offload else 'tvm'}"
            B.compile_model(g, triple, d, offload=offload, cache_key=model.read_bytes())
            out[(triple, offload)] = d
    return out


def torch_model(g):
    """PyTorch eager float32 version of the graph (dequantized weights; quantizers dropped)."""
    from edgepool.ir.ops import attrs_of

    def run(x: torch.Tensor) -> torch.Tensor:
        env = {g.inputs[0]: x}
        for n in g.nodes:
            a = env.get(n.inputs[0])
            at = attrs_of(n)
            if n.op in ("Quant", "Dequant"):
                y = a
            elif n.op == "Requant":
                y = torch.relu(a) if at.get("relu") else a
            elif n.op == "Relu":
                y = torch.relu(a)
            elif n.op == "Conv":
                y = torch.nn.functional.conv2d(
                    a, W[n.inputs[1]], W.get(n.inputs[2]) if len(n.inputs) > 2 else None,
                    at["strides"], 0 if not any(at["pads"]) else (at["pads"][0], at["pads"][1]),
                    at["dilations"], at["groups"])
            elif n.op == "Pool":
                y = torch.nn.functional.max_pool2d(a, at["kernel"], at["strides"])
            elif n.op in ("Flatten", "Reshape"):
                y = a.reshape(a.shape[0], -1)
            elif n.op == "Gemm":
                y = torch.nn.functional.linear(a, W[n.inputs[1]], W.get(n.inputs[2]))
            else:
                raise NotImplementedError(n.op)
            env[n.outputs[0]] = y
        return env[g.outputs[0]]

    W = {k: torch.tensor(v * g.values[k].type.scale, dtype=torch.float32)
         for k, v in g.constants.items()}
    return run


def torch_latency_us(name: str, x: np.ndarray, reps: int) -> float:
    g = edgepool.load(MODELS[name] / f"{name}.onnx")
    fn = torch_model(g)
    torch.set_num_threads(1)
    imgs = [torch.tensor(x[i:i + 1]) for i in range(len(x))]
    times = []
    with torch.no_grad():
        for t in imgs:
            fn(t)
        for _ in range(reps):
            t0 = time.perf_counter()
            for t in imgs:
                fn(t)
            times.append((time.perf_counter() - t0) / len(imgs) * 1e6)
    return statistics.median(times)


def runner_latency_us(d: Path, triple: str, x: np.ndarray, reps: int) -> tuple[float, int]:
    """(median µs per image over ``reps`` runner invocations, peak RSS kB of a run)."""
    us, rss = [], 0
    for _ in range(reps):
        _, st = run_runner(d, triple, B.lib_name(triple), x.tobytes(), repeat=5)
        us.append(st["us_per_image"])
        rss = max(rss, st["max_rss_kb"])
    return statistics.median(us), rss


def instructions(d: Path, x1: np.ndarray, repeat: int) -> int:
    """Dynamic aarch64 instructions of one runner process (qemu block trace)."""
    with tempfile.TemporaryDirectory(prefix="ep-trace-") as td:
        fin, fout, log = Path(td) / "in.bin", Path(td) / "out.bin", Path(td) / "trace.log"
        fin.write_bytes(x1.tobytes())
        cmd = runner_command(d, A64, [str(d / B.lib_name(A64)), str(fin), str(fout),
                                      str(repeat)], ["-d", "nochain,in_asm,exec", "-D", str(log)])
        subprocess.run(cmd, check=True, capture_output=True)
        return count_instructions(log)


def per_inference(d: Path, x1: np.ndarray) -> int:
    return (instructions(d, x1, 3) - instructions(d, x1, 1)) // 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer images and repetitions")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    toolchain.require("qemu-aarch64")
    os.environ["TVM_NUM_THREADS"] = "1"            # single-threaded TVM runtime in the runners
    work = Path(tempfile.gettempdir()) / "edgepool-cpu-bench"
    work.mkdir(exist_ok=True)
    reps = 3 if args.quick else 7
    results = {}
    for name in MODELS:
        x = np.load(MODELS[name] / "test.npz")["x"].astype(np.float32)
        xs = x[:50] if args.quick else x[:200]
        v = compile_variants(name, work)
        r: dict[str, object] = {}
        r["x86_us_byoc"], _ = runner_latency_us(v[(X86, True)], X86, xs, reps)
        r["x86_us_tvm"], _ = runner_latency_us(v[(X86, False)], X86, xs, reps)
        r["x86_us_torch"] = torch_latency_us(name, xs, reps)
        r["a64_insn_byoc"] = per_inference(v[(A64, True)], x[:1])
        r["a64_insn_tvm"] = per_inference(v[(A64, False)], x[:1])
        for key, (triple, off) in {"rss_x86_byoc": (X86, True), "rss_x86_tvm": (X86, False),
                                   "rss_qemu_byoc": (A64, True),
                                   "rss_qemu_tvm": (A64, False)}.items():
            _, st = run_runner(v[(triple, off)], triple, B.lib_name(triple), x.tobytes())
            r[key] = st["max_rss_kb"]
        r["images"] = len(x)
        results[name] = r
        print(f"\n{name} ({len(x)} test images)")
        print(f"  x86 µs/image (batch 1, 1 thread): BYOC/SIMDe {r['x86_us_byoc']:.2f}, "
              f"TVM-LLVM only {r['x86_us_tvm']:.2f}, PyTorch f32 eager {r['x86_us_torch']:.2f}")
        print(f"  aarch64 instructions/inference (qemu): BYOC {r['a64_insn_byoc']:,}, "
              f"TVM-only {r['a64_insn_tvm']:,} "
              f"({r['a64_insn_tvm'] / max(r['a64_insn_byoc'], 1):.2f}x)")
        print(f"  peak RSS kB, whole test set: x86 BYOC {r['rss_x86_byoc']:,}, x86 TVM-only "
              f"{r['rss_x86_tvm']:,}; qemu (emulator) BYOC {r['rss_qemu_byoc']:,}, TVM-only "
              f"{r['rss_qemu_tvm']:,}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
