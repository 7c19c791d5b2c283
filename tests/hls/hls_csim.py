# SPDX-License-Identifier: Apache-2.0
"""Shared machinery of the HLS C-simulation tests: compile generated testbenches (cached by
source hash), run them, and emit config structs for the edgepool HLS templates."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from edgepool import toolchain
from edgepool.ir.qtype import QType

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
    src = out_dir / "tb.cpp"
    src.write_text(source)
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix="tb.tmp")
    os.close(fd)
    cmd = [gxx, *CXXFLAGS, "-isystem", ap, "-I", str(HLS_INCLUDE), "-I", str(HLS_TB), str(src),
           "-o", tmp]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        os.unlink(tmp)
        raise AssertionError(f"csim compile failed:\n{' '.join(cmd)}\n{res.stderr[-6000:]}")
    ours = [ln for ln in res.stderr.splitlines() if "warning" in ln and "ap_types" not in ln]
    if ours:
        os.unlink(tmp)
        raise AssertionError("compiler warnings in edgepool code:\n" + "\n".join(ours[:20]))
    os.replace(tmp, binary)           # atomic: parallel workers may race on the same key
    return binary


def run_tb(binary: Path, workdir: Path, *args: str) -> None:
    res = subprocess.run([str(binary), str(workdir), *args], capture_output=True, text=True,
                         timeout=600)
    if res.returncode != 0 or "not fully consumed" in res.stderr or "empty" in res.stderr:
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


def ap_type(t: QType) -> str:
    return f"ap_{'int' if t.signed else 'uint'}<{t.bits}>"


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def conv_cfg(name: str, *, in_hwc, oc, kernel, stride, pads, dilation, simd, pe, in_t: QType,
             w_t: QType, out_t: QType, acc_bits: int, shift: int, relu: bool, out_hw) -> str:
    """C++ config struct of a dataflow conv layer (conv.h)."""
    h, w, c = in_hwc
    return f"""struct {name} {{
    static const int IN_H = {h}, IN_W = {w}, IN_C = {c}, OUT_C = {oc};
    static const int KH = {kernel[0]}, KW = {kernel[1]}, SH = {stride[0]}, SW = {stride[1]};
    static const int DH = {dilation[0]}, DW = {dilation[1]};
    static const int PT = {pads[0]}, PL = {pads[1]}, PB = {pads[2]}, PR = {pads[3]};
    static const int OUT_H = {out_hw[0]}, OUT_W = {out_hw[1]};
    static const int SIMD = {simd}, PE = {pe}, ACC_BITS = {acc_bits}, SHIFT = {shift};
    static const bool RELU = {str(relu).lower()};
    typedef {ap_type(in_t)} in_t;
    typedef {ap_type(w_t)} w_t;
    typedef {ap_type(out_t)} out_t;
    static const int IN_EW = {in_t.bits}, OUT_EW = {out_t.bits}, W_BITS = {w_t.bits};
    static const bool IN_SIGNED = {str(in_t.signed).lower()};
    static const int OUT_LO = {out_t.min}, OUT_HI = {out_t.max};
    static const int LB_WORDS = EP_CONV_LB_WORDS({name});
}};
"""


def pool_cfg(name: str, *, in_hwc, lanes, t: QType, avg: bool, count_pad: bool, kernel, stride,
             pads, out_hw) -> str:
    """C++ config struct of a pooling layer (pool.h)."""
    h, w, c = in_hwc
    sum_bits = t.bits + 1 + int(np.ceil(np.log2(kernel[0] * kernel[1]))) + 1
    return f"""struct {name} {{
    static const int IN_H = {h}, IN_W = {w}, C = {c}, LANES = {lanes}, EW = {t.bits};
    static const bool SIGNED = {str(t.signed).lower()}, AVG = {str(avg).lower()};
    static const bool COUNT_PAD = {str(count_pad).lower()};
    static const int KH = {kernel[0]}, KW = {kernel[1]}, SH = {stride[0]}, SW = {stride[1]};
    static const int PT = {pads[0]}, PL = {pads[1]}, PB = {pads[2]}, PR = {pads[3]};
    static const int OUT_H = {out_hw[0]}, OUT_W = {out_hw[1]};
    static const int SUM_BITS = {sum_bits};
    static const int LB_WORDS = EP_POOL_LB_WORDS({name});
}};
"""
