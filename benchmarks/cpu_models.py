# SPDX-License-Identifier: Apache-2.0
"""Whole-model CPU benchmarks of the ``cortex-a53`` / ``x86`` builds (edgepool.tvm).

For each shipped trained model:

* x86 latency per image (batch 1, one thread): the BYOC build (NEON kernels through SIMDe +
  TVM glue) vs the TVM-LLVM-only build of the same Relax module (no offload; for the build's
  x86-64-v2 and for the host CPU's LLVM mcpu; TVM's default schedule, untuned) — the build
  runners' timing loop over the test images — vs PyTorch float32 on the dequantized weights as a
  frozen TorchScript trace and as ``torch.compile`` (when inductor compiles here);
* aarch64 dynamic instructions per inference under ``qemu-aarch64 -d nochain,in_asm,exec``
  (the log streamed through a pipe, never written to disk)
  (Σ block executions × block length, as benchmarks/neon_kernels.py), BYOC vs TVM-only, from the
  difference of runner invocations with 3 and 1 timed passes over one image;
* peak resident memory (VmHWM) of a whole-test-set run of the x86 runners (under qemu it would
  be the emulator's own peak, so it is not reported).

    .venv/bin/python benchmarks/cpu_models.py [--quick] [--json OUT.json]

No assertions: outputs are checked for exactness by tests/tvm.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _qemu import QEMU_TRACE_FLAGS, count_instructions_piped
from _report import Recorder
from rich.console import Console
from rich.table import Table

import edgepool
from edgepool import toolchain
from edgepool.toolchain import REPO_ROOT
from edgepool.tvm import baselines
from edgepool.tvm import build as B
from edgepool.tvm.runner import run_runner, runner_command

MODELS = {name: REPO_ROOT / "models" / name for name in
          ("lenet-digits", "lenet-mnist", "resnet-mnist", "dwsep-mnist", "allconv-mnist")}
X86, A64 = "x86_64-linux-gnu", "aarch64-linux-gnu"
console = Console(width=160)


#: (triple, offload, tvm target or None = the build's own) of every compiled variant; x86 TVM-only
#: twice: for the build's portable ISA (x86-64-v2, what our SIMDe kernels are compiled for) and
#: for this machine's CPU (its best instruction set)
VARIANTS = {"x86 BYOC+NEON": (X86, True, None), "x86 TVM-only": (X86, False, None),
            "x86 TVM-only host-mcpu": (X86, False, "host"),
            "aarch64 BYOC+NEON": (A64, True, None), "aarch64 TVM-only": (A64, False, None)}


def compile_variants(name: str, work: Path) -> dict[str, Path]:
    """variant label → compiled cpu folder (cached by edgepool.tvm.build)."""
    model = MODELS[name] / f"{name}.onnx"
    g = edgepool.load(model)
    out = {}
    for label, (triple, offload, target) in VARIANTS.items():
        d = work / f"{name}-{label.replace(' ', '-')}"
        tgt = {**B.TVM_TARGETS[triple], **baselines.host_target()} if target == "host" else None
        B.compile_model(g, triple, d, offload=offload, cache_key=model.read_bytes(),
                        tvm_target=tgt)
        out[label] = d
    return out


def torch_module(g) -> torch.nn.Module:
    """The graph as a float32 ``torch.nn.Sequential`` (dequantized weights, quantizers dropped:
    Requant becomes its ReLU). Only chains of the ops our models contain are accepted."""
    from edgepool.ir.ops import attrs_of

    def weight(name: str) -> torch.Tensor:
        return torch.tensor(g.constants[name] * g.values[name].type.scale, dtype=torch.float32)

    layers: list[torch.nn.Module] = []
    prev = g.inputs[0]
    for n in g.nodes:
        if n.inputs[0] != prev:
            raise NotImplementedError(f"{n.name}: not a chain")
        prev = n.outputs[0]
        at = attrs_of(n)
        if n.op in ("Quant", "Dequant") or (n.op == "Requant" and not at.get("relu")):
            continue
        if n.op in ("Requant", "Relu"):
            layers.append(torch.nn.ReLU())
        elif n.op == "Conv":
            w = weight(n.inputs[1])
            pads = at["pads"]
            if pads[0] != pads[2] or pads[1] != pads[3]:
                raise NotImplementedError(f"{n.name}: asymmetric padding")
            m = torch.nn.Conv2d(w.shape[1] * at["groups"], w.shape[0], tuple(w.shape[2:]),
                                at["strides"], (pads[0], pads[1]), at["dilations"], at["groups"],
                                bias=len(n.inputs) > 2)
            m.weight.data = w
            if len(n.inputs) > 2:
                m.bias.data = weight(n.inputs[2])
            layers.append(m)
        elif n.op == "Pool" and at["kind"] == "max" and not any(at["pads"]):
            layers.append(torch.nn.MaxPool2d(at["kernel"], at["strides"],
                                             dilation=at["dilations"], ceil_mode=at["ceil_mode"]))
        elif n.op in ("Flatten", "Reshape"):
            layers.append(torch.nn.Flatten())
        elif n.op == "Gemm" and at["trans_b"]:
            w = weight(n.inputs[1])
            m = torch.nn.Linear(w.shape[1], w.shape[0], bias=len(n.inputs) > 2)
            m.weight.data = w
            if len(n.inputs) > 2:
                m.bias.data = weight(n.inputs[2])
            layers.append(m)
        else:
            raise NotImplementedError(f"{n.name}: {n.op} {at}")
    return torch.nn.Sequential(*layers).eval()


def torch_variants(name: str, x1: torch.Tensor) -> dict[str, object]:
    """The fastest ways PyTorch offers to run the float model, batch 1: a frozen TorchScript
    trace (optimized for inference) and, if it compiles here, ``torch.compile`` (inductor)."""
    g = edgepool.load(MODELS[name] / f"{name}.onnx")
    module = torch_module(g)
    out: dict[str, object] = {}
    with torch.no_grad():
        # both: optimize_for_inference converts to oneDNN layouts, which costs more than it
        # saves on LeNet-sized tensors (measured ~4x slower here), so the faster one is quoted
        out["torchscript (trace + freeze)"] = torch.jit.freeze(torch.jit.trace(module, x1))
        out["torchscript (trace + freeze + optimize_for_inference)"] = (
            torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(module, x1))))
        try:
            compiled = torch.compile(module, dynamic=False)
            compiled(x1)
            out["torch.compile (inductor, default mode)"] = compiled
        except Exception as e:  # noqa: BLE001 - a missing compiler backend is reported, not fatal
            out["torch.compile unavailable"] = f"{type(e).__name__}: {str(e)[:200]}"
    return out


def torch_latency_us(name: str, x: np.ndarray, reps: int) -> dict[str, object]:
    """Median µs per image (batch 1, one thread) of every PyTorch variant, and how many of its
    top-1 predictions agree with the golden interpreter's (a float model of the same weights)."""
    torch.set_num_threads(1)
    imgs = [torch.tensor(x[i:i + 1]) for i in range(len(x))]
    gold = np.asarray(edgepool.load(MODELS[name] / f"{name}.onnx").run(x))
    res: dict[str, object] = {}
    try:
        variants = torch_variants(name, imgs[0])
    except NotImplementedError as e:     # a residual Add or a float head: not a Sequential
        return {"torch baseline not built": f"the float Sequential rebuild handles chains "
                                            f"only ({e})"}
    for label, fn in variants.items():
        if isinstance(fn, str):
            res[label] = fn
            continue
        times = []
        with torch.no_grad():
            pred = np.concatenate([fn(t).numpy() for t in imgs]).argmax(1)
            for _ in range(reps):
                t0 = time.perf_counter()
                for t in imgs:
                    fn(t)
                times.append((time.perf_counter() - t0) / len(imgs) * 1e6)
        res[label] = {"us_per_image": statistics.median(times),
                      "top1_agrees_with_golden": float((pred == gold.argmax(1)).mean())}
    return res


def runner_latency_us(d: Path, triple: str, x: np.ndarray, reps: int) -> tuple[float, int]:
    """(median µs per image over ``reps`` runner invocations, peak RSS kB of a run)."""
    us, rss = [], 0
    for _ in range(reps):
        _, st = run_runner(d, triple, B.lib_name(triple), x.tobytes(), repeat=5)
        us.append(st["us_per_image"])
        rss = max(rss, st["max_rss_kb"])
    return statistics.median(us), rss


def instructions(d: Path, x1: np.ndarray, repeat: int) -> int:
    """Dynamic aarch64 instructions of one runner process (qemu block trace, streamed through a
    pipe: never written to disk)."""
    with tempfile.TemporaryDirectory(prefix="ep-trace-") as td:
        fin, fout = Path(td) / "in.bin", Path(td) / "out.bin"
        fin.write_bytes(x1.tobytes())
        cmd = runner_command(d, A64, [str(d / B.lib_name(A64)), str(fin), str(fout),
                                      str(repeat)], QEMU_TRACE_FLAGS)
        return count_instructions_piped(cmd)


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
    rec = Recorder("cpu_models", reps=reps, quick=args.quick,
                   variants={k: {"triple": t, "offload": o,
                                 "tvm_target": ({**B.TVM_TARGETS[t], **baselines.host_target()}
                                                if g == "host" else B.TVM_TARGETS[t])}
                             for k, (t, o, g) in VARIANTS.items()},
                   notes=["TVM-only builds: Relax default CPU pipeline (legalize, fuse), TVM's "
                          "default TIR schedule: untuned (no MetaSchedule database).",
                          "PyTorch: float32 model with the dequantized weights as a frozen "
                          "TorchScript trace and torch.compile where it compiles; one thread."])
    lat = Table(title="x86 µs per image (batch 1, one thread, median)")
    for col in ["model", "BYOC+NEON (SIMDe, x86-64-v2)", "TVM-only x86-64-v2 (untuned)",
                "TVM-only host mcpu (untuned)", "PyTorch TorchScript (faster variant)",
                "PyTorch compile"]:
        lat.add_column(col, justify="right")
    ins = Table(title="aarch64 dynamic instructions per inference (qemu; TVM cortex-a53 +neon, "
                      "untuned)")
    for col in ["model", "BYOC+NEON", "TVM-only", "TVM / BYOC"]:
        ins.add_column(col, justify="right")
    rss = Table(title="peak RSS kB of a whole-test-set run of the x86 runner")
    for col in ["model", "x86 BYOC", "x86 TVM-only"]:
        rss.add_column(col, justify="right")
    for name in MODELS:
        x = np.load(MODELS[name] / "test.npz")["x"].astype(np.float32)
        xs = x[:50] if args.quick else x[:200]
        v = compile_variants(name, work)
        r: dict[str, object] = {"images_timed": len(xs), "images": len(x)}
        for label in ("x86 BYOC+NEON", "x86 TVM-only", "x86 TVM-only host-mcpu"):
            r[f"{label} us"], _ = runner_latency_us(v[label], X86, xs, reps)
        r["pytorch"] = torch_latency_us(name, xs, reps)
        r["aarch64 BYOC+NEON insn"] = per_inference(v["aarch64 BYOC+NEON"], x[:1])
        r["aarch64 TVM-only insn"] = per_inference(v["aarch64 TVM-only"], x[:1])
        for label in ("x86 BYOC+NEON", "x86 TVM-only"):
            _, st = run_runner(v[label], X86, B.lib_name(X86), x.tobytes())
            r[f"{label} rss_kb"] = st["max_rss_kb"]
        rec.figures(name, r)

        def us(label: str, r: dict = r) -> str:
            e = r["pytorch"].get(label) if label.startswith("torch") else r.get(label)
            if isinstance(e, dict):
                return f"{e['us_per_image']:.1f}"
            return f"{e:.1f}" if isinstance(e, float) else "-"

        ts = [k for k in r["pytorch"] if k.startswith("torchscript")]
        ts = min(ts, key=lambda k: r["pytorch"][k]["us_per_image"]) if ts else None
        tc = [k for k in r["pytorch"] if k.startswith("torch.compile (")]
        lat.add_row(name, us("x86 BYOC+NEON us"), us("x86 TVM-only us"),
                    us("x86 TVM-only host-mcpu us"), us(ts) if ts else "-",
                    us(tc[0]) if tc else "unavailable")
        a, b = r["aarch64 BYOC+NEON insn"], r["aarch64 TVM-only insn"]
        ins.add_row(name, f"{a:,}", f"{b:,}", f"{b / max(a, 1):.2f}x")
        rss.add_row(name, *[f"{r[f'{k} rss_kb']:,}" for k in ("x86 BYOC+NEON", "x86 TVM-only")])
    for t in (lat, ins, rss):
        console.print(rec.table(t))
    for name in MODELS:
        for label, e in rec.data["figures"][name]["pytorch"].items():
            console.print(f"{name} PyTorch {label}: {e}")
    rec.write(args.json)


if __name__ == "__main__":
    main()
