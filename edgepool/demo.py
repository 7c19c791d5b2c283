# SPDX-License-Identifier: Apache-2.0
"""``make demo`` / ``edgepool demo``: the main job on the shipped default model.

Loads ``models/lenet-digits``, proves the golden interpreter equals Brevitas on the whole test set,
builds it for the Ultra96 (exploration, HLS, RTL, bundle) and for the Cortex-A53 (TVM + NEON),
runs every backend this machine has, and prints what was verified, with exact equality.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from edgepool.build import build
from edgepool.ir.interp import run_codes
from edgepool.runtime.executors import run_build

from .errors import EdgepoolError
from .toolchain import REPO_ROOT

DEFAULT_MODEL = "lenet-digits"
DEFAULT_BITS = 8          # the shipped <model>.onnx artifact is the 8-bit one


def run_demo(out_root: Path | str = "out/demo", model_name: str = DEFAULT_MODEL,
             rtl_images: int = 20) -> list[tuple[str, str, str]]:
    """Run the demo; returns the verification rows (level, what, result)."""
    from rich.console import Console
    from rich.table import Table

    import edgepool

    con = Console()
    out_root = Path(out_root)
    mdir = REPO_ROOT / "models" / model_name
    model = mdir / f"{model_name}.onnx"
    data = np.load(mdir / "test.npz")
    x, y = data["x"], data["y"]
    rows: list[tuple[str, str, str]] = []

    def step(title: str):
        con.rule(f"[bold]{title}")
        return time.perf_counter()

    t = step(f"1. import {model.relative_to(REPO_ROOT)}")
    g = edgepool.load(model)
    con.print(str(g))
    (codes, qt), = run_codes(g, x)
    ref = g.run(x)
    acc = float(np.mean(np.argmax(ref, axis=1) == y))
    rows.append(("interpreter", f"{len(x)} test images", f"accuracy {acc:.2%}"))

    t = step("2. golden interpreter vs Brevitas (integer outputs, whole test set)")
    from edgepool.quant.export import brevitas_quant_outputs
    from edgepool.quant.trainer import load_trained

    brev, frac = brevitas_quant_outputs(load_trained(model_name, DEFAULT_BITS, mdir), x)
    same = bool(np.array_equal(brev, codes)) and frac == qt.frac
    rows.append(("Brevitas QAT model", f"{len(x)} images, int outputs",
                 "bit-exact" if same else f"MISMATCH ({int(np.sum(brev != codes))} values)"))
    con.print(f"  equal: {same}  ({time.perf_counter() - t:.1f} s)")

    def build_for(target: str):
        res = build(model, target, out_root / f"{model_name}-{target}", force=True,
                    progress=lambda s: con.print(f"  stage {s} …"))
        con.print(res.summary())
        return res

    t = step("3. edgepool build --target ultra96")
    res = build_for("ultra96")
    fpga_dir = res.out
    est, chosen = res.sections.estimates, res.sections.config
    eng = res.sections.engine
    if eng is not None:
        con.print(f"  accelerator engine: {eng.name.upper()} ({eng.reason})")
        rtl_est = (f"; estimate_rtl {eng.estimate['interval_cycles']:,} cycles/frame "
                   f"(estimated)" if eng.estimate else "")
        rows.append(("accelerator engine in the bitstream (ultra96)", eng.name.upper(),
                     eng.reason + rtl_est))
    if est is not None and chosen is not None:
        rows.append(("cost-model estimate (ultra96; nothing synthesized or measured)",
                     chosen.style,
                     f"estimated {est.latency_s * 1e6:.1f} µs/image, {est.gops:.1f} GOP/s, "
                     f"{est.dsp} DSP, {est.bram36} BRAM36, {est.lut:,} LUT "
                     f"@ {est.clock_mhz} MHz"))

    # no board here: the PYNQ driver runs on the simulated device, backed by the C-simulation
    os.environ.setdefault("EDGEPOOL_PYNQ_SIM", "csim")
    n_rtl = min(rtl_images, len(x))
    for backend, n in (("reference", len(x)), ("csim", len(x)), ("rtlsim", n_rtl),
                       ("pynq", len(x))):
        t = step(f"4. edgepool run {fpga_dir} --backend {backend}  ({n} images)")
        out = run_build(fpga_dir, x[:n], backend)
        yb = next(iter(out.values()))
        same = bool(np.array_equal(yb, ref[:n]))
        label = "pynq driver on simulated device (csim)" if backend == "pynq" else backend
        rows.append((f"ultra96 / {label}", f"{n} images",
                     "bit-exact" if same else "MISMATCH"))
        con.print(f"  equal to the interpreter: {same}  ({time.perf_counter() - t:.1f} s)")
    if eng is not None and eng.name == "rtl":
        # the IP the bitstream holds, behind the unmodified driver: AXI4-Lite + DMA streams
        t = step(f"4b. edgepool run {fpga_dir} --backend pynq, EDGEPOOL_PYNQ_SIM=rtl  "
                 f"({n_rtl} images)")
        saved = os.environ.get("EDGEPOOL_PYNQ_SIM")
        os.environ["EDGEPOOL_PYNQ_SIM"] = "rtl"
        try:
            out = run_build(fpga_dir, x[:n_rtl], "pynq")
        finally:
            if saved is None:
                os.environ.pop("EDGEPOOL_PYNQ_SIM", None)
            else:
                os.environ["EDGEPOOL_PYNQ_SIM"] = saved
        same = bool(np.array_equal(next(iter(out.values())), ref[:n_rtl]))
        rows.append(("ultra96 / pynq driver on simulated device (RTL IP via AXI)",
                     f"{n_rtl} images", "bit-exact" if same else "MISMATCH"))
        con.print(f"  equal to the interpreter: {same}  ({time.perf_counter() - t:.1f} s)")

    t = step("5. edgepool build --target cortex-a53 (TVM Relax + NEON kernels), run under qemu")
    cpu_dir = build_for("cortex-a53").out
    out = run_build(cpu_dir, x, "neon")
    yb = next(iter(out.values()))
    same = bool(np.array_equal(yb, ref))
    rows.append(("cortex-a53 / neon (qemu)", f"{len(x)} images",
                 "bit-exact" if same else "MISMATCH"))

    tab = Table(title="what was verified")
    for c in ("level", "on", "result"):
        tab.add_column(c)
    for r in rows:
        style = "red" if "MISMATCH" in r[2] else None
        tab.add_row(*r, style=style)
    con.print(tab)
    bad = [r for r in rows if "MISMATCH" in r[2]]
    if bad:

        raise EdgepoolError(f"{len(bad)} verification(s) failed: "
                            + "; ".join(r[0] for r in bad))
    return rows
