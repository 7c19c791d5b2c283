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


# --------------------------------------------------------------------------- dataflow top emitter
def _lanes_ok(a: int, b: int) -> bool:
    return a % b == 0 or b % a == 0


def choose_folding(program, rng: np.random.Generator, beat_bytes: int) -> list[tuple[int, int]]:
    """Random (PE, SIMD) per layer such that the stream widths chain (one lane count divides
    the next) and the first/last words fit the AXI beat (power-of-two lanes)."""
    from edgepool.runtime.axis import container_bits

    out = []
    prev = None
    for i, layer in enumerate(program.layers):
        c = layer.in_shape[2]
        cands = [d for d in divisors(c) if prev is None or _lanes_ok(prev, d)]
        if i == 0:
            epb = 8 * beat_bytes // container_bits(layer.in_type.bits)
            cands = [d for d in cands if _lanes_ok(d, epb)]
        simd = int(rng.choice(cands))
        if layer.kind == "conv":
            oc = layer.out_shape[2]
            pcands = divisors(oc)
            if i == len(program.layers) - 1:
                epb = 8 * beat_bytes // container_bits(layer.out_type.bits)
                pcands = [d for d in pcands if _lanes_ok(d, epb)]
            pe = int(rng.choice(pcands))
            prev = pe
        else:
            pe = simd
            prev = simd
        out.append((pe, simd))
    return out


def _hex_word(values, bits: int, ctype: str) -> str:
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return f'{ctype}("0x{word:x}")'


def emit_dataflow_top(program, ns: str, folding: list[tuple[int, int]], beat_bytes: int,
                      top_name: str | None = None) -> str:
    """C++ source of a dataflow top for ``program``: the code a generator emits (config structs
    and weight/bias ROMs in namespace ``ns``; the global top function ``top_name``, default
    ``<ns>_top``, with the DATAFLOW chain and AXI-stream adapters)."""
    from edgepool.runtime.axis import container_bits

    lines = [f"namespace {ns} {{", "using namespace edgepool;",
             f"typedef axis_beat<{beat_bytes}> axis_t;"]
    calls = []
    first = program.layers[0]
    s0_l = folding[0][1]
    h, w, c = first.in_shape
    cont = container_bits(first.in_type.bits)
    calls.append(f"    EP_STREAM(s0, ap_uint<{s0_l * first.in_type.bits}>, 2)")
    calls.append(f"    axis_to_words<{s0_l}, {first.in_type.bits}, {cont}, {beat_bytes}>"
                 f"(in, s0, {h * w * c // s0_l});")
    cur, cur_l = "s0", s0_l
    for i, (layer, (pe, simd)) in enumerate(zip(program.layers, folding, strict=True)):
        eb = layer.in_type.bits
        if cur_l != simd:
            n_in = int(np.prod(layer.in_shape)) // cur_l
            calls.append(f"    EP_STREAM(r{i}, ap_uint<{simd * eb}>, 2)")
            calls.append(f"    repack<{eb}, {cur_l}, {simd}>({cur}, r{i}, {n_in});")
            cur = f"r{i}"
        out_l = pe if layer.kind == "conv" else simd
        calls.append(f"    EP_STREAM(s{i + 1}, ap_uint<{out_l * layer.out_type.bits}>, 2)")
        if layer.kind == "conv":
            oh, ow = layer.conv_out_hw
            lines.append(conv_cfg(
                f"L{i}", in_hwc=layer.in_shape, oc=layer.out_shape[2], kernel=layer.kernel,
                stride=layer.stride, pads=layer.pads, dilation=layer.dilation, simd=simd, pe=pe,
                in_t=layer.in_type, w_t=layer.weight_type, out_t=layer.out_type,
                acc_bits=layer.acc_bits, shift=layer.acc_frac - layer.out_type.frac,
                relu=layer.relu, out_hw=(oh, ow)))
            wts = np.asarray(layer.weights)
            oc, kh, kw, ic = wts.shape
            t = wts.reshape(oc // pe, pe, kh, kw, ic // simd, simd).transpose(0, 2, 3, 4, 1, 5)
            wb = layer.weight_type.bits
            words = ", ".join(_hex_word(r, wb, f"ConvTypes<L{i}>::w_word")
                              for r in t.reshape(-1, pe * simd))
            lines.append(f"static const ConvTypes<L{i}>::w_word L{i}_w[] = {{{words}}};")
            bias = ", ".join(f"ConvTypes<L{i}>::acc_t({int(b)}LL)" for b in layer.bias)
            lines.append(f"static const ConvTypes<L{i}>::acc_t L{i}_b[] = {{{bias}}};")
            if layer.pool is not None:
                p = layer.pool
                lines.append(pool_cfg(f"P{i}", in_hwc=(oh, ow, oc), lanes=pe, t=layer.out_type,
                                      avg=p.kind == "avg", count_pad=p.count_include_pad,
                                      kernel=p.kernel, stride=p.stride, pads=p.pads,
                                      out_hw=p.out_hw(oh, ow)))
                calls.append(f"    conv_pool_layer<L{i}, P{i}>({cur}, s{i + 1}, L{i}_w, L{i}_b);")
            else:
                calls.append(f"    conv_layer<L{i}>({cur}, s{i + 1}, L{i}_w, L{i}_b);")
        else:
            p = layer.pool
            lines.append(pool_cfg(f"P{i}", in_hwc=layer.in_shape, lanes=simd, t=layer.in_type,
                                  avg=p.kind == "avg", count_pad=p.count_include_pad,
                                  kernel=p.kernel, stride=p.stride, pads=p.pads,
                                  out_hw=p.out_hw(*layer.in_shape[:2])))
            calls.append(f"    pool_layer<P{i}>({cur}, s{i + 1});")
        cur, cur_l = f"s{i + 1}", out_l
    last = program.layers[-1]
    cont = container_bits(last.out_type.bits)
    n_out = int(np.prod(last.out_shape)) // cur_l
    calls.append(f"    words_to_axis<{cur_l}, {last.out_type.bits}, {cont}, {beat_bytes}>"
                 f"({cur}, out, {n_out}, {str(last.out_type.signed).lower()});")
    lines.append(f"}}  // namespace {ns}\n")
    lines.append(f"void {top_name or ns + '_top'}(hls::stream<{ns}::axis_t>& in, "
                 f"hls::stream<{ns}::axis_t>& out) {{")
    lines.append("    EP_TOP_INTERFACE(in, out)")
    lines.append(f"    using namespace edgepool;\n    using namespace {ns};")
    lines.extend(calls)
    lines.append("}\n")
    return "\n".join(lines)


EXAMPLE = REPO / "hls" / "examples" / "random0_top.cpp"
EXAMPLE_FOLDING = [(2, 1), (4, 2), (2, 4)]


def example_source() -> str:
    """The checked-in example hls/examples/random0_top.cpp, regenerated."""
    from edgepool.codegen.program import random_program

    head = (
        "// SPDX-License-Identifier: Apache-2.0\n"
        "// Dataflow top of random_program(0) (\"c4k3r-m2-c8k3r-m2-f10\", u8.8 input, 8-bit\n"
        "// weights), folding (PE, SIMD) = (2, 1), (4, 2), (2, 4), 32-bit AXI stream: the exact\n"
        "// code a generator emits. Generated by tests/hls/hls_csim.py:example_source();\n"
        "// test_hls_programs checks it is in sync and runs it bit-exact in C simulation.\n"
        "// Vitis HLS: add_files random0_top.cpp -cflags \"-I<repo>/hls/include\";\n"
        "// set_top random0_top.\n"
        "#include \"edgepool/dataflow.h\"\n\n")
    return head + emit_dataflow_top(random_program(0), "random0", EXAMPLE_FOLDING, 4)
