# SPDX-License-Identifier: Apache-2.0
"""Shared machinery of the HLS C-simulation tests: compile generated testbenches (cached by
source hash), run them; config structs and dataflow tops come from edgepool.codegen.hls."""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from edgepool import toolchain
from edgepool.accel.folding import default_dataflow_folding, divisors  # noqa: F401  (re-exported for tests)
from edgepool.codegen.hls import emit

REPO = toolchain.REPO_ROOT
HLS_INCLUDE = REPO / "hls" / "include"
HLS_TB = REPO / "hls" / "tb"
CACHE = REPO / "build" / "hls_csim"
CXXFLAGS = ["-std=c++14", "-O1", "-Wall", "-Wextra", "-Wno-unknown-pragmas",
            "-Wno-unused-label", "-Wno-uninitialized", "-Wno-maybe-uninitialized"]


def _library_digest() -> str:
    h = hashlib.sha256()
    for d in (HLS_INCLUDE, HLS_TB):
        for p in sorted(d.rglob("*.h")):
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def compile_tb(source: str, name: str) -> Path:
    """Compile a testbench (one translation unit) and return the binary; cached by the hash of
    the source, the library headers and the flags. A missing compiler or ap_types fails."""
    gxx = toolchain.require("g++")
    ap = toolchain.require("ap_types")
    key = hashlib.sha256("\0".join([source, _library_digest(), " ".join(CXXFLAGS), gxx, ap])
                         .encode()).hexdigest()[:20]
    out_dir = CACHE / f"{name}-{key}"
    binary = out_dir / "tb"
    if binary.exists():
        return binary
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "tb.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)          # xdist workers: one compile per key
        if binary.exists():
            return binary
        fd, src_tmp = tempfile.mkstemp(dir=out_dir, prefix="tb.src", suffix=".cpp")
        os.close(fd)
        Path(src_tmp).write_text(source)
        os.replace(src_tmp, out_dir / "tb.cpp")
        fd, tmp = tempfile.mkstemp(dir=out_dir, prefix="tb.tmp")
        os.close(fd)
        cmd = [gxx, *CXXFLAGS, "-isystem", ap, "-I", str(HLS_INCLUDE), "-I", str(HLS_TB),
               str(out_dir / "tb.cpp"), "-o", tmp]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            os.unlink(tmp)
            raise AssertionError(f"csim compile failed:\n{' '.join(cmd)}\n"
                                 f"{res.stderr[-6000:]}")
        ours = [ln for ln in res.stderr.splitlines() if "warning" in ln and "ap_types" not in ln]
        if ours:
            os.unlink(tmp)
            raise AssertionError("compiler warnings in edgepool code:\n" + "\n".join(ours[:20]))
        os.replace(tmp, binary)       # atomic publish
    return binary


def run_tb(binary: Path, workdir: Path, *args: str) -> None:
    res = subprocess.run([str(binary), str(workdir), *args], capture_output=True, text=True,
                         timeout=600)
    bad = ("not fully consumed", "empty", "ERROR")
    if res.returncode != 0 or any(b in res.stderr for b in bad):
        raise AssertionError(f"testbench failed ({res.returncode}):\n{res.stderr[-4000:]}")


def read_counts(path: Path) -> dict[str, int]:
    """Iteration counters written by ``tb::write_counts``."""
    out: dict[str, int] = {}
    for line in path.read_text().splitlines():
        k, v = line.split()
        out[k] = int(v)
    return out


def save(path: Path, values: np.ndarray) -> None:
    np.asarray(values, dtype=np.int64).ravel().astype("<i8").tofile(path)


def load(path: Path) -> np.ndarray:
    return np.fromfile(path, dtype="<i8")


# The generators live in edgepool.codegen.hls (the build's hls stage uses the same templates);
# these names are kept for the tests that import them from here.
ap_type = emit.ap_type
conv_cfg = emit.conv_struct
pool_cfg = emit.pool_struct
emit_dataflow_top = emit.emit_dataflow_top


# --------------------------------------------------------------------------- dataflow top emitter
def choose_folding(program, rng: np.random.Generator, beat_bytes: int) -> list[tuple[int, int]]:
    """Random legal (PE, SIMD) per layer: the rules of :mod:`edgepool.accel.folding` with a
    random choice among the candidates instead of the largest."""
    return default_dataflow_folding(program, beat_bytes, max_par=1 << 30,
                                    choose=lambda c: int(rng.choice(c)))


EXAMPLE = REPO / "hls" / "examples" / "random0_top.cpp"
EXAMPLE_FOLDING = [(2, 1), (4, 2), (2, 4)]


def example_source() -> str:
    """The checked-in example hls/examples/random0_top.cpp, regenerated."""
    from edgepool.accel.program import random_program

    head = (
        "// SPDX-License-Identifier: Apache-2.0\n"
        "// Dataflow top of random_program(0) (\"c4k3r-m2-c8k3r-m2-f10\", u8.8 input, 8-bit\n"
        "// weights), folding (PE, SIMD) = (2, 1), (4, 2), (2, 4), 32-bit AXI stream: the exact\n"
        "// code a generator emits (edgepool.codegen.hls.emit_dataflow_top), regenerated by\n"
        "// tests/hls/hls_csim.py:example_source();\n"
        "// test_hls_programs checks it is in sync and runs it bit-exact in C simulation.\n"
        "// Vitis HLS: add_files random0_top.cpp -cflags \"-I<repo>/hls/include\";\n"
        "// set_top random0_top.\n"
        "#include \"edgepool/dataflow.h\"\n\n")
    return head + emit_dataflow_top(random_program(0), "random0", EXAMPLE_FOLDING, 4)
