# SPDX-License-Identifier: Apache-2.0
"""Whole test sets through the heterogeneous builds: every shipped model the fabric cannot run
whole (resnet-mnist, dwsep-mnist, allconv-mnist), built for ultra96 without a user edit, run on
its 1000 test images by every backend combination and compared with the golden interpreter by
exact equality:

* ``reference``: the fabric segment's golden program, the CPU segments compiled for this host
  (TVM LLVM + the NEON kernels through SIMDe);
* ``csim``: the fabric segment as the build's HLS C++ compiled with g++;
* ``rtlsim``: the fabric segment as the generated RTL under Verilator (cocotb drives it;
  ``--rtl-images N`` limits it to the first N images);
* ``neon``: the build's own aarch64 CPU-segment libraries under qemu-aarch64 (golden fabric);
* ``driver``: the board runtime (``HeteroAccelerator``): the unmodified PYNQ driver on the
  simulated device with the C-simulated accelerator behind it, the CPU segments as the bundle's
  aarch64 runners under qemu.

CI runs the same combinations on fewer images (tests/hetero); this is the whole-set evidence.
Seconds are wall time on this machine (simulation, not the board).

    .venv/bin/python benchmarks/hetero_verify.py [--images N] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import Recorder
from rich.console import Console
from rich.table import Table

import edgepool
from edgepool.build import build
from edgepool.runtime.executors import run_build
from edgepool.runtime.hetero_board import HeteroAccelerator
from edgepool.toolchain import REPO_ROOT

MODELS = ("resnet-mnist", "dwsep-mnist", "allconv-mnist")
BACKENDS = ("reference", "csim", "rtlsim", "neon", "driver")
console = Console(width=160)


def run(out: Path, backend: str, x: np.ndarray) -> np.ndarray:
    if backend == "driver":
        acc = HeteroAccelerator(out, sim="csim")
        try:
            return acc.predict(x)
        finally:
            acc.close()
    return next(iter(run_build(out, x, backend).values()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=0, help="first N test images (0 = all)")
    ap.add_argument("--rtl-images", type=int, default=0, help="images for rtlsim (0 = all)")
    ap.add_argument("--quick", action="store_true", help="64 images")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    n_img = 64 if args.quick else args.images
    rec = Recorder("hetero_verify", images=n_img or "all", rtl_images=args.rtl_images or "all",
                   notes=["exact = np.array_equal with the golden interpreter on every image; "
                          "seconds: wall time of the whole run on this machine (simulators and "
                          "qemu), not a board figure"])
    t = Table(title="Heterogeneous ultra96 builds: whole test sets vs the golden interpreter")
    for col in ["model", "backend", "images", "exact", "images differing", "seconds"]:
        t.add_column(col, justify="right")
    work = Path(tempfile.mkdtemp(prefix="ep-hetero-verify-"))
    for name in MODELS:
        onnx = REPO_ROOT / "models" / name / f"{name}.onnx"
        x = np.load(onnx.parent / "test.npz")["x"]
        x = x[:n_img] if n_img else x
        want = edgepool.load(onnx).run(x)
        out = work / name
        build(onnx, "ultra96", out)
        for backend in BACKENDS:
            xb, wb = (x[:args.rtl_images], want[:args.rtl_images]) \
                if backend == "rtlsim" and args.rtl_images else (x, want)
            t0 = time.perf_counter()
            got = run(out, backend, xb)
            dt = time.perf_counter() - t0
            diff = int(np.sum(np.any(got != wb, axis=tuple(range(1, wb.ndim)))))
            exact = bool(np.array_equal(got, wb))
            rec.figures(f"{name} {backend}", {"model": name, "backend": backend,
                                              "images": len(xb), "exact": exact,
                                              "images_differing": diff, "seconds": dt})
            t.add_row(name, backend, str(len(xb)), str(exact), str(diff), f"{dt:.1f}")
            console.print(f"{name} {backend}: {len(xb)} images, exact={exact} ({dt:.1f} s)")
    console.print(rec.table(t))
    rec.write(args.json)
    if not all(v["exact"] for v in rec.data["figures"].values()):
        raise SystemExit("a heterogeneous backend differs from the golden interpreter")


if __name__ == "__main__":
    main()
