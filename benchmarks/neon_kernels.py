# SPDX-License-Identifier: Apache-2.0
# ruff: noqa: B023  (timing lambdas are called inside the loop iteration that defines them)
"""NEON kernel benchmarks: x86 wall time (SIMDe build vs PyTorch vs TVM-LLVM), aarch64 dynamic
instruction counts under qemu (ours vs TVM's aarch64 code vs a naive C loop), scratch bytes.

    .venv/bin/python benchmarks/neon_kernels.py [--quick] [--reps N] [--json OUT.json]

Everything is measured in the same run; medians of ``--reps`` repetitions. No assertions.
TVM baselines (edgepool.tvm.baselines) are built for the same instruction set as ours: the host
CPU's LLVM ``mcpu`` on x86 (ours: ``-march=native``), ``-mcpu=cortex-a53 -mattr=+neon`` on
aarch64; they use TVM's default schedule (untuned, see ``baselines.SCHEDULE``).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from _qemu import count_instructions
from _report import Recorder
from rich.console import Console
from rich.table import Table

from edgepool import toolchain
from edgepool.neon import bridge as N
from edgepool.tvm import baselines as tvm_ops

console = Console(width=160)
warnings.filterwarnings("ignore", category=UserWarning)


# --------------------------------------------------------------------------- timing helpers
def median_time(fn: Callable[[], object], reps: int) -> float:
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def native_runner(op: N.Op) -> Callable[[], np.ndarray]:
    """Repeated native calls of one op with preallocated output and scratch."""
    import ctypes

    lib = N.load()
    dp = op.desc.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
    out = np.empty(op.out_shape, op.out_dtype)
    scratch = np.empty(max(int(lib.ep_desc_scratch_bytes(dp)), 1), np.uint8)
    ptrs = (ctypes.c_void_p * 4)(*[None if a is None else a.ctypes.data
                                   for a in (list(op.inputs) + [None] * 4)[:4]])

    def call() -> np.ndarray:
        if lib.ep_desc_run(dp, ptrs, out.ctypes.data, scratch.ctypes.data) != 0:
            raise RuntimeError("kernel failed")
        return out

    return call


def torch_best(fn: Callable[[], object], reps: int) -> float:
    """min over 1 thread and all threads of the median time (torch's fastest configuration)."""
    n = torch.get_num_threads()
    best = []
    for threads in sorted({1, n}):
        torch.set_num_threads(threads)
        best.append(median_time(fn, reps))
    torch.set_num_threads(n)
    return min(best)


# --------------------------------------------------------------------------- x86 table
POOLS = [("max 2x2 s2", "max", 2, 2, 0), ("max 3x3 s1", "max", 3, 1, 1),
         ("max 3x3 s2", "max", 3, 2, 0), ("max 5x5 s1", "max", 5, 1, 2),
         ("max 7x7 s1", "max", 7, 1, 3), ("avg 3x3 s1", "avg", 3, 1, 1),
         ("avg 2x2 s2", "avg", 2, 2, 0)]


def x86_pools(shape, reps: int) -> Table:
    h, w, c = shape
    rng = np.random.default_rng(0)
    x8 = rng.integers(-128, 128, shape).astype(np.int8)
    xf = rng.standard_normal(shape).astype(np.float32)
    tx = torch.from_numpy(np.moveaxis(xf, -1, 0)[None].copy()).contiguous(
        memory_format=torch.channels_last)
    tq = torch.quantize_per_tensor(tx, 0.05, 128, torch.quint8)
    t = Table(title=f"x86 wall time, pooling {h}x{w}x{c} (median ms; TVM untuned, host mcpu)")
    for col in ["op", "ours i8", "ours f32", "torch f32 NHWC", "torch quint8", "TVM i8",
                "TVM f32", "torch / ours i8", "TVM / ours i8"]:
        t.add_column(col, justify="right")
    for name, kind, k, s, p in POOLS:
        pads = (p, p, p, p)
        mk = N.maxpool_op if kind == "max" else N.avgpool_op
        ours8 = median_time(native_runner(mk(x8, (k, k), (s, s), pads)), reps)
        oursf = median_time(native_runner(mk(xf, (k, k), (s, s), pads)), reps)
        if kind == "max":
            tf = torch_best(lambda: torch.nn.functional.max_pool2d(tx, k, s, p), reps)
            tqq = torch_best(lambda: torch.nn.functional.max_pool2d(tq, k, s, p), reps)
        else:
            tf = torch_best(lambda: torch.nn.functional.avg_pool2d(tx, k, s, p, False, False),
                            reps)
            tqq = torch_best(lambda: torch.nn.functional.avg_pool2d(tq, k, s, p, False, False),
                             reps)
        tv = {}
        for dt, arr in (("int8", x8), ("float32", xf)):
            mod = tvm_ops.build(tvm_ops.pool(shape, dt, kind, (k, k), (s, s), pads))
            oh = N.pool_out_size(h, k, s, p, p, 1, False)
            ow = N.pool_out_size(w, k, s, p, p, 1, False)
            odt = np.int32 if kind == "avg" and dt == "int8" else arr.dtype   # topi int avg
            run = tvm_ops.runner(mod, arr[None], np.zeros((1, oh, ow, c), odt))
            tv[dt] = median_time(run, reps)
        best_torch = min(tf, tqq)
        t.add_row(name, *[f"{v * 1e3:.3f}" for v in (ours8, oursf, tf, tqq, tv["int8"],
                                                      tv["float32"])],
                  f"{best_torch / ours8:.1f}x", f"{tv['int8'] / ours8:.1f}x")
    return t


def x86_conv_fc(reps: int) -> Table:
    rng = np.random.default_rng(1)
    t = Table(title="x86 wall time, conv 3x3 / FC (median ms; TVM untuned, host mcpu)")
    for col in ["op", "ours i8 sliding", "ours i8 im2col", "ours f32", "torch f32",
                "torch qint8", "TVM i8", "TVM f32"]:
        t.add_column(col, justify="right")
    convs = [("conv3x3 28x28x128->128 p1", (28, 28, 128), 128, 3, 1),
             ("LeNet conv1 28x28x1->6 k5", (28, 28, 1), 6, 5, 0),
             ("LeNet conv2 12x12x6->16 k5", (12, 12, 6), 16, 5, 0)]
    for name, shape, oc, k, p in convs:
        x8 = rng.integers(-128, 128, shape).astype(np.int8)
        w8 = rng.integers(-127, 128, (oc, k, k, shape[2])).astype(np.int8)
        xf, wf = x8.astype(np.float32), w8.astype(np.float32)
        pads = (p, p, p, p)
        s8 = median_time(native_runner(N.conv_op(x8, w8, None, pads=pads)), reps)
        i8 = median_time(native_runner(N.conv_op(x8, w8, None, pads=pads, algo="im2col")), reps)
        sf = median_time(native_runner(N.conv_op(xf, wf, None, pads=pads)), reps)
        tx = torch.from_numpy(np.moveaxis(xf, -1, 0)[None].copy()).contiguous(
            memory_format=torch.channels_last)
        tw = torch.from_numpy(np.moveaxis(wf, -1, 1).copy()).contiguous(
            memory_format=torch.channels_last)
        tf = torch_best(lambda: torch.nn.functional.conv2d(tx, tw, None, 1, p), reps)
        from torch.ao.nn.quantized import functional as qF

        qx = torch.quantize_per_tensor(tx, 1.0, 128, torch.quint8)
        qw = torch.quantize_per_tensor(tw, 1.0, 0, torch.qint8)
        tq = torch_best(lambda: qF.conv2d(qx, qw, None, 1, p, scale=256.0, zero_point=0), reps)
        oh, ow = shape[0] + 2 * p - k + 1, shape[1] + 2 * p - k + 1
        tv = {}
        for dt, xa, wa in (("int8", x8, w8), ("float32", xf, wf)):
            mod = tvm_ops.build(tvm_ops.conv(shape, oc, (k, k), dt, pads=pads))
            outdt = np.float32 if dt == "float32" else np.int32
            run = tvm_ops.runner(mod, xa[None], np.ascontiguousarray(np.moveaxis(wa, 0, -1)),
                                 np.zeros((1, oh, ow, oc), outdt))
            tv[dt] = median_time(run, reps)
        t.add_row(name, *[f"{v * 1e3:.3f}" for v in (s8, i8, sf, tf, tq, tv["int8"],
                                                      tv["float32"])])
    for name, n, m in [("FC LeNet 400->120", 400, 120), ("FC 4096->1000", 4096, 1000)]:
        x8 = rng.integers(-128, 128, n).astype(np.int8)
        w8 = rng.integers(-127, 128, (m, n)).astype(np.int8)
        xf, wf = x8.astype(np.float32), w8.astype(np.float32)
        s8 = median_time(native_runner(N.fc_op(x8, w8)), reps)
        sf = median_time(native_runner(N.fc_op(xf, wf)), reps)
        txf, twf = torch.from_numpy(xf[None]), torch.from_numpy(wf)
        tf = torch_best(lambda: torch.nn.functional.linear(txf, twf), reps)

        qx = torch.quantize_per_tensor(txf, 1.0, 128, torch.quint8)
        qw = torch.quantize_per_tensor(twf, 1.0, 0, torch.qint8)
        tq = torch_best(lambda: qF.linear(qx, qw, None, scale=1024.0, zero_point=0), reps)
        tv = {}
        for dt, xa, wa in (("int8", x8, w8), ("float32", xf, wf)):
            mod = tvm_ops.build(tvm_ops.dense(n, m, dt))
            outdt = np.float32 if dt == "float32" else np.int32
            tv[dt] = median_time(tvm_ops.runner(mod, xa[None], wa, np.zeros((1, m), outdt)), reps)
        t.add_row(name, f"{s8 * 1e3:.3f}", "-", f"{sf * 1e3:.3f}", f"{tf * 1e3:.3f}",
                  f"{tq * 1e3:.3f}", f"{tv['int8'] * 1e3:.3f}", f"{tv['float32'] * 1e3:.3f}")
    return t


# --------------------------------------------------------------------------- aarch64 counts


def dynamic_instructions(binary: Path, ops: list[N.Op], repeat: int) -> int:
    """Σ executions × block length from ``qemu-aarch64 -d nochain,in_asm,exec``."""
    qemu = toolchain.require("qemu-aarch64")
    with tempfile.TemporaryDirectory(prefix="ep-trace-") as td:
        fin, fout, log = Path(td) / "in.bin", Path(td) / "out.bin", Path(td) / "trace.log"
        N.write_batch(ops, fin)
        subprocess.run([qemu, "-d", "nochain,in_asm,exec", "-D", str(log), str(binary), str(fin),
                        str(fout), str(repeat)], check=True, capture_output=True)
        return count_instructions(log)


def per_call(binary: Path, op: N.Op) -> int:
    """Instructions of one kernel call: run(repeat=2) - run(repeat=1)."""
    return dynamic_instructions(binary, [op], 2) - dynamic_instructions(binary, [op], 1)


def bench_driver(kind: str, work: Path, tvm_obj: Path | None = None) -> Path:
    cc = toolchain.require("aarch64-linux-gnu-gcc")
    srcs = [str(s) for s in N.SOURCES] + [str(N.DRIVER)]
    flags = ["-O2", "-std=c11", "-static", "-march=armv8-a", "-mtune=cortex-a53",
             f"-I{N.NEON_DIR / 'include'}", f"-I{N.NEON_DIR / 'src'}"]
    if kind == "naive":
        flags.append("-DEP_BENCH_NAIVE")
        srcs.append(str(N.NEON_DIR / "bench" / "naive.c"))
    elif kind == "tvm":
        import tvm_ffi

        inc = Path(tvm_ffi.__file__).parent / "include"
        flags += ["-DEP_BENCH_TVM", f"-I{inc}"]
        srcs += [str(N.NEON_DIR / "bench" / "tvm_shim.c"), str(tvm_obj)]
    out = work / f"drv-{kind}-{abs(hash(str(tvm_obj)))}"
    subprocess.run([cc, *flags, "-o", str(out), *srcs, "-lm"], check=True, capture_output=True)
    return out


def aarch64_counts(shape, quick: bool) -> Table:
    h, w, c = shape
    rng = np.random.default_rng(2)
    x8 = rng.integers(-128, 128, shape).astype(np.int8)
    t = Table(title=f"aarch64 dynamic instructions per call (qemu), int8 {h}x{w}x{c} "
                    "(TVM untuned, cortex-a53 +neon)")
    for col in ["op", "ours", "TVM aarch64", "naive C", "TVM / ours", "naive / ours"]:
        t.add_column(col, justify="right")
    with tempfile.TemporaryDirectory(prefix="ep-bench-") as td:
        work = Path(td)
        naive = bench_driver("naive", work)
        ours_drv = N.build_aarch64_driver()
        cases = []
        for name, kind, k, s, p in POOLS:
            mk = N.maxpool_op if kind == "max" else N.avgpool_op
            cases.append((name, mk(x8, (k, k), (s, s), (p, p, p, p)), kind, k, s, p))
        oc = 16 if quick else 32
        wc = rng.integers(-127, 128, (oc, 3, 3, c)).astype(np.int8)
        cases.append((f"conv 3x3 ->{oc} p1", N.conv_op(x8, wc, None, pads=(1, 1, 1, 1)), "conv",
                      3, 1, 1))
        for name, op, kind, k, s, p in cases:
            ours = per_call(ours_drv, op)
            if kind == "conv":
                func = tvm_ops.conv(shape, oc, (3, 3), "int8", pads=(1, 1, 1, 1))
            else:
                func = tvm_ops.pool(shape, "int8", kind, (k, k), (s, s), (p, p, p, p))
            obj = tvm_ops.write_object(func, work / f"tvm_{len(name)}_{k}_{s}.o")
            tdrv = bench_driver("tvm", work, obj)
            top = N.Op(op.desc.copy(), op.inputs, op.out_dtype, op.out_shape)
            top.desc[N.D_ALGO] = 98
            tv = per_call(tdrv, top)
            nv = None
            if kind == "max" or (kind == "conv" and h * w <= 256):   # naive conv traces are huge
                nop = N.Op(op.desc.copy(), op.inputs, op.out_dtype, op.out_shape)
                nop.desc[N.D_ALGO] = 99
                nv = per_call(naive, nop)
            t.add_row(name, f"{ours:,}", f"{tv:,}", f"{nv:,}" if nv else "-",
                      f"{tv / ours:.1f}x", f"{nv / ours:.1f}x" if nv else "-")
    return t


XNOR_SHAPES = [(784, 64), (256, 256), (1024, 1024)]


def xnor_table() -> Table:
    """1-bit fully connected layers (bipolar weights and activations): XNOR-popcount
    (``ep_fc_xnor``, weights bit-packed at build time) vs the int8 GEMVs on the same ±1
    values, aarch64 dynamic instructions per call under qemu."""
    rng = np.random.default_rng(5)
    t = Table(title="aarch64 dynamic instructions per call (qemu), 1-bit FC: XNOR-popcount vs "
                    "int8 GEMV on the same ±1 weights and activations")
    for col in ["N -> M", "XNOR (ep_fc_xnor)", "int8 ep_fc", "int8 packed GEMV (2-bit)",
                "ep_fc / XNOR", "packed / XNOR"]:
        t.add_column(col, justify="right")
    drv = N.build_aarch64_driver()
    for n, m in XNOR_SHAPES:
        x = rng.choice(np.array([-1, 1], np.int8), n)
        w = rng.choice(np.array([-1, 1], np.int8), (m, n))
        b = rng.integers(-50, 50, m).astype(np.int32)
        xn = per_call(drv, N.fc_xnor_op(x, w, b))
        fc = per_call(drv, N.fc_op(x, w, b))
        pk = per_call(drv, N.fc_op(x, w, b, wbits=2, narrow=True, prepack=True))
        t.add_row(f"{n} -> {m}", f"{xn:,}", f"{fc:,}", f"{pk:,}", f"{fc / xn:.2f}x",
                  f"{pk / xn:.2f}x")
    return t


# --------------------------------------------------------------------------- scratch / im2col
def scratch_table() -> Table:
    import ctypes

    lib = N.load()
    t = Table(title="scratch bytes beyond input/output (conv: + packed weights, same for both)")
    for col in ["op", "sliding / separable", "im2col", "ratio"]:
        t.add_column(col, justify="right")
    for shape, oc in [((112, 112, 64), 128), ((56, 56, 128), 256), ((28, 28, 1), 6)]:
        x = np.zeros(shape, np.int8)
        w = np.zeros((oc, 3, 3, shape[2]), np.int8)
        sz = []
        for algo in ("sliding", "im2col"):
            op = N.conv_op(x, w, None, pads=(1, 1, 1, 1), algo=algo)
            sz.append(lib.ep_desc_scratch_bytes(op.desc.ctypes.data_as(
                ctypes.POINTER(ctypes.c_int32))))
        t.add_row(f"conv3x3 {shape}->{oc}", f"{sz[0]:,}", f"{sz[1]:,}", f"{sz[1] / sz[0]:.0f}x")
    for k in (3, 7):
        x = np.zeros((56, 56, 256), np.int8)
        op = N.maxpool_op(x, (k, k), (1, 1), (k // 2,) * 4)
        s = lib.ep_desc_scratch_bytes(op.desc.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)))
        t.add_row(f"maxpool {k}x{k} s1 56x56x256", f"{s:,}", f"{k * k * 56 * 56 * 256:,}",
                  f"{k * k * 56 * 56 * 256 / s:.0f}x" if s else "in place")
    return t


# --------------------------------------------------------------------------- llvm-mca (Cortex-A53)
MCA = ["-mtriple=aarch64", "-mcpu=cortex-a53", "-iterations=100"]
# our marked inner loops (-DEP_MCA, int8): output vectors (16 int8 results) per iteration
OUR_REGIONS = {"k3s1": ("max 3x3 s1", 8, "4-row x 2-pixel register sweep"),
               "k2i": ("max 2x2 s2", 4, "C = 32: ld1 x4 walk, 2 pixels"),
               "k3s2i": ("max 3x3 s2", 2, "C = 32: ld1 x4 column-sharing walk"),
               "k5s1": ("max 5x5 s1", 4, "2-row x 2-pixel register sweep"),
               "avg8-div": ("avg 3x3 s1", 1, "exact division + narrow (odd count)"),
               "avg2": ("avg 2x2 s2", 2, "C = 32: vaddl pairs + rounding shift")}
_LABEL = re.compile(r"^(\.LBB\d+_\d+):")
_BRANCH = re.compile(r"^\s+(?:b(?:\.\w+)?|cbn?z|tbn?z)\s+.*?(\.LBB\d+_\d+)\s*$")


def _mca(asm_text: str) -> list[tuple[str, float]]:
    """(region name, cycles per iteration) of every code region of an assembly text."""
    llvm_mca = toolchain.require("llvm-mca")
    # define the branch targets of extracted loop bodies (after the regions)
    labels = sorted(set(re.findall(r"\.LBB\d+_\d+", asm_text)) -
                    set(re.findall(r"^(\.LBB\d+_\d+):", asm_text, re.M)))
    asm_text += "\n" + "\n".join(f"{lb}:" for lb in labels) + "\n"
    # LLVM 14's llvm-mca only sees region markers in '#' comments; clang writes '//'
    asm_text = re.sub(r"^\s*//\s*(LLVM-MCA-(?:BEGIN|END).*)$", r"# \1", asm_text, flags=re.M)
    res = subprocess.run([llvm_mca, *MCA], input=asm_text, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"llvm-mca failed: {res.stderr[-2000:]}")
    out, name, iters = [], "", 100
    for line in res.stdout.splitlines():
        m = re.match(r"\[\d+\] Code Region(?: - (\S+))?", line)
        if m:
            name = m.group(1) or ""
        elif line.startswith("Iterations:"):
            iters = int(line.split()[1])
        elif line.startswith("Total Cycles:"):
            out.append((name, int(line.split()[2]) / iters))
    return out


def _loops(asm: str) -> list[list[str]]:
    """Innermost loops (label ... backward branch to it, no other label inside) of an asm text:
    instruction lines only."""
    lines = asm.splitlines()
    seen: dict[str, int] = {}
    loops = []
    for i, line in enumerate(lines):
        m = _LABEL.match(line)
        if m:
            seen[m.group(1)] = i
            continue
        b = _BRANCH.match(line)
        if b and b.group(1) in seen:
            body = lines[seen[b.group(1)] + 1:i + 1]
            if any(_LABEL.match(x) for x in body):
                continue
            loops.append([x for x in body if x.startswith("\t") and not x.strip().startswith(
                (".", "//", "@")) and not x.strip().startswith("#")])
    return loops


def _qstores(body: list[str]) -> int:
    n = 0
    for x in body:
        ins = x.split()
        if ins and ins[0] == "str" and ins[1].startswith("q"):
            n += 1
        elif ins and ins[0] == "stp" and ins[1].startswith("q"):
            n += 2
        elif ins and ins[0] == "st1":
            n += x.count(".16b") + x.count(".8h") + x.count(".4s")
    return n


def mca_table() -> Table:
    """Cortex-A53 cycles per output vector (16 int8 results) of the inner loops: ours (marked
    LLVM-MCA regions, clang -O2 -mcpu=cortex-a53), TVM's generated aarch64 code (its hottest
    innermost loop: the one with most 16-byte stores) and the naive C loop (scalar tap loop x
    k^2 taps x 16 elements)."""
    clang = toolchain.require("clang")
    t = Table(title="llvm-mca -mcpu=cortex-a53: cycles per output vector (16 int8), inner loops")
    for col in ["op", "ours", "ours loop", "TVM", "TVM loop", "naive C", "TVM / ours"]:
        t.add_column(col, justify="right")
    flags = ["--target=aarch64-linux-gnu", "-mcpu=cortex-a53", "-O2", "-std=c11", "-S", "-o", "-",
             f"-I{N.NEON_DIR / 'include'}", f"-I{N.NEON_DIR / 'src'}"]
    ours_asm = subprocess.run([clang, *flags, "-DEP_MCA", str(N.NEON_DIR / "src" / "pool.c")],
                              capture_output=True, text=True, check=True).stdout
    ours = {name: cyc for name, cyc in _mca(ours_asm)}
    naive_asm = subprocess.run([clang, *flags, str(N.NEON_DIR / "bench" / "naive.c")],
                               capture_output=True, text=True, check=True).stdout
    # the naive max-pool tap loop: the innermost loop with a byte load and no multiply
    taps = [b for b in _loops(naive_asm)
            if any("ldrsb" in x or "ldrb" in x for x in b) and not any("mul" in x for x in b)]
    naive_cyc = _mca("\n".join(["# LLVM-MCA-BEGIN naive", *taps[0], "# LLVM-MCA-END naive"])
                     )[0][1] if taps else None
    shape = (28, 28, 32)
    for region, (name, per_iter, what) in OUR_REGIONS.items():
        kind = "avg" if name.startswith("avg") else "max"
        k, s = int(name.split()[1][0]), int(name.split()[2][1])
        p = k // 2 if s == 1 else 0
        mod = tvm_ops.build(tvm_ops.pool(shape, "int8", kind, (k, k), (s, s), (p,) * 4),
                            tvm_ops.AARCH64)
        asm = mod.inspect_source("asm")
        op_ins = ("smax",) if kind == "max" else ("add\tv", "saddw", "saddl", "sxtl")
        loops = [b for b in _loops(asm) if _qstores(b)
                 and any(x.strip().startswith(op_ins) for x in b)]
        tv, tv_what = None, "-"
        if loops:      # the compute loop: most vector max / add instructions
            body = max(loops, key=lambda b: sum(x.strip().startswith(op_ins) for x in b))
            vec = _qstores(body) / (4 if kind == "avg" else 1)   # topi int avg stores int32
            cyc = _mca("\n".join(["# LLVM-MCA-BEGIN tvm", *body, "# LLVM-MCA-END tvm"]))[0][1]
            tv, tv_what = cyc / vec, f"{len(body)} insns, {vec:g} vec"
        o = ours[region] / per_iter
        nv = naive_cyc * k * k * 16 if (naive_cyc and kind == "max") else None
        t.add_row(name, f"{o:.2f}", what, f"{tv:.2f}" if tv else "-", tv_what,
                  f"{nv:.0f}" if nv else "-", f"{tv / o:.1f}x" if tv else "-")
    return t


def crossover_table(reps: int) -> Table:
    """Direct vs van Herk max pooling over k (stride 1, pad k // 2): where AUTO should switch."""
    shape = (56, 56, 256)
    rng = np.random.default_rng(3)
    x8 = rng.integers(-128, 128, shape).astype(np.int8)
    t = Table(title=f"max pool stride 1, int8 {shape}: direct vs van Herk (median ms, x86)")
    for col in ["k", "direct", "van Herk", "auto", "auto picks"]:
        t.add_column(col, justify="right")
    for k in range(2, 10):
        p = k // 2 if k % 2 else 0
        ms = {a: median_time(native_runner(N.maxpool_op(x8, (k, k), (1, 1), (p,) * 4, algo=a)),
                             reps) for a in ("direct", "vanherk", "auto")}
        pick = "van Herk" if k > 4 else ("3x3 sweep" if k == 3 else "direct")
        t.add_row(str(k), *[f"{ms[a] * 1e3:.3f}" for a in ("direct", "vanherk", "auto")], pick)
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller shapes")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--skip-aarch64", action="store_true")
    ap.add_argument("--only", choices=["x86", "aarch64", "mca", "scratch", "xnor"],
                    help="one table family")
    ap.add_argument("--json", type=Path, help="write every table here as data")
    args = ap.parse_args()
    fam = args.only
    rec = Recorder("neon_kernels", reps=args.reps, quick=args.quick,
                   tvm_targets={"x86": tvm_ops.X86, "aarch64": tvm_ops.AARCH64},
                   tvm_schedule=tvm_ops.SCHEDULE)

    def show(t: Table) -> None:
        console.print(rec.table(t))

    if fam in (None, "x86"):
        shapes = [(56, 56, 256)] if args.quick else [(112, 112, 128), (56, 56, 256), (28, 28, 16)]
        for shape in shapes:
            show(x86_pools(shape, args.reps))
        show(crossover_table(args.reps))
        show(x86_conv_fc(args.reps))
        show(scratch_table())
    if fam == "scratch":
        show(scratch_table())
    if fam in (None, "mca"):
        show(mca_table())
    if fam in (None, "aarch64") and not args.skip_aarch64:
        show(aarch64_counts((16, 16, 32), True))
        if not args.quick:
            show(aarch64_counts((28, 28, 32), False))
    if fam in (None, "aarch64", "xnor") and not args.skip_aarch64:
        show(xnor_table())
    rec.write(args.json)


if __name__ == "__main__":
    main()
