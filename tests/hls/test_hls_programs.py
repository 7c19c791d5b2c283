# SPDX-License-Identifier: Apache-2.0
"""Random programs (accel.program.random_program) through the dataflow composition (AXI
stream in/out, one engine per layer) and through the run-time configured overlay (descriptors,
weights and DDR ping-pong), bit-exact against run_reference; iteration counts against the cost
model."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hls_csim import (
    EXAMPLE,
    EXAMPLE_FOLDING,
    choose_folding,
    compile_tb,
    emit_dataflow_top,
    example_source,
    read_counts,
    run_tb,
    save,
)

from edgepool.accel import axis
from edgepool.accel import descriptor as hd
from edgepool.accel.program import HwProgram, random_program, run_reference
from edgepool.codegen.hls.emit import overlay_struct
from edgepool.dse import cost
from edgepool.ir.qtype import QType

pytestmark = pytest.mark.csim

BEAT = 4
U8, U4, I16 = QType(8, False, 8), QType(4, False, 4), QType(16, True, 14)
# (seed, in_shape, in_type, w_bits, a_bits, spec)
PROGRAMS = [
    (0, (12, 12, 1), U8, 8, 8, "c4k3r-m2-c8k3r-m2-f10"),
    (1, (13, 11, 2), U8, 8, 8, "c6k3s2p1r-a3s2-c4k1-f6"),
    (2, (10, 10, 2), U4, 4, 4, "c4k3p1r-m3s2-c8k3r-a2-f4"),
    (3, (9, 9, 2), I16, 16, 16, "c4k3p1r-m2s1-c4k2s2-f8"),
    (4, (11, 12, 4), U8, 8, 8, "c8k5s2p2r-m2-a2-c4k1r-f6"),
    (5, (8, 8, 3), U8, 4, 8, "c6k3r-a2s1-c6k3s2r-m2"),
]


def _program(seed, in_shape, in_type, w_bits, a_bits, spec) -> HwProgram:
    return random_program(seed, in_shape=in_shape, in_type=in_type, w_bits=w_bits,
                          a_bits=a_bits, spec=spec)


def _input(program: HwProgram, seed: int) -> np.ndarray:
    t = program.in_type
    return np.random.default_rng(seed).integers(t.min, t.max, size=program.in_shape,
                                                endpoint=True)


def test_dataflow_tops_random_programs(tmp_path: Path) -> None:
    rng = np.random.default_rng(2024)
    parts, body, runs = [], [], []
    for k, args in enumerate(PROGRAMS):
        for rep in range(2):                         # two random foldings of each program
            prog = _program(*args)
            folding = choose_folding(prog, rng, BEAT)
            ns = f"p{k}_{rep}"
            parts.append(emit_dataflow_top(prog, ns, folding, BEAT))
            body.append(f'    tb::run_axis_top<{BEAT}>({ns}_top, d + "/{ns}");\n')
            x = _input(prog, 100 + k)
            (tmp_path / f"{ns}.in").write_bytes(
                axis.pack(x, prog.in_type.bits, prog.in_type.signed, BEAT))
            runs.append((ns, prog, folding, x))
    # the checked-in example is compiled and run as one more case
    prog0 = _program(*PROGRAMS[0])
    x0 = _input(prog0, 100)
    (tmp_path / "example.in").write_bytes(axis.pack(x0, 8, False, BEAT))
    body.append(f'    tb::run_axis_top<{BEAT}>(random0_top, d + "/example");\n')
    runs.append(("example", prog0, EXAMPLE_FOLDING, x0))
    src = ('#include "tb_util.h"\n#include <string>\nusing namespace edgepool;\n'
           + EXAMPLE.read_text() + "\n".join(parts)
           + "int main(int, char** argv) {\n    const std::string d = argv[1];\n"
           + "".join(body) + "    return 0;\n}\n")
    binary = compile_tb(src, "dataflow")
    run_tb(binary, tmp_path)
    for ns, prog, folding, x in runs:
        ref = run_reference(prog, x)
        t = prog.out_type
        data = (tmp_path / f"{ns}.out").read_bytes()
        assert len(data) == ref.size * axis.container_bits(t.bits) // 8, ns
        got = axis.unpack(data, ref.size, t.bits, t.signed).reshape(ref.shape)
        assert np.array_equal(got, ref), f"{ns} folding {folding}"
        # iteration counters: sum over the layers' engines + adapters + re-packers
        expect: Counter = Counter()
        cfg = cost.HlsConfig(pe=tuple(f[0] for f in folding), simd=tuple(f[1] for f in folding))
        pc = cost.estimate(prog, cfg)
        for lc in pc.layers:
            expect.update(lc.iterations)
        expect.update(pc.extra)
        lanes = folding[0][1]
        for i, (layer, (pe, simd)) in enumerate(zip(prog.layers, folding, strict=True)):
            if i and lanes != simd:
                expect["repack"] += int(max(np.prod(layer.in_shape) // lanes,
                                            np.prod(layer.in_shape) // simd))
            lanes = pe if layer.kind == "conv" else simd
        got_counts = read_counts(tmp_path / f"{ns}.cnt")
        assert got_counts == {k: v for k, v in expect.items() if v}, ns


def test_example_top_in_sync() -> None:
    assert EXAMPLE.read_text() == example_source(), \
        "hls/examples/random0_top.cpp is stale: regenerate it with example_source()"


def _overlay_params(prog: HwProgram, simd: int, pe: int, small: bool) -> hd.OverlayParams:
    """Capacities that fit ``prog``; ``small`` shrinks the weight buffer to force many tiles.
    A final raw accumulator wider than the activations gets the wide output container."""
    act = max(axis.container_bits(t.bits) for layer in prog.layers
              for t in (layer.in_type, *([layer.out_type] if layer is not prog.layers[-1]
                                         else [])))
    last = axis.container_bits(prog.layers[-1].out_type.bits)
    wb = max(layer.weight_type.bits for layer in prog.layers if layer.kind == "conv")
    acc = max(layer.acc_bits for layer in prog.layers if layer.kind == "conv")
    lb = plb = splb = 0
    wbuf = 0
    for layer in prog.layers:
        lw = hd.layer_words(layer, simd, pe)
        lb, splb = max(lb, lw.lb), max(splb, lw.splb)
        if layer.kind == "conv" and not hd.streams_weights(layer):
            wbuf = max(wbuf, lw.kkcf if small else lw.kkcf * lw.nf)
        plb = max(plb, lw.plb_fold * lw.nf)
    return hd.OverlayParams(simd=simd, pe=pe, act_bits=act, w_bits=wb, acc_bits=acc,
                            lb_words=lb, wbuf_words=max(wbuf, 1),
                            max_tile_nf=2 if small else 64, plb_words=max(plb, 1),
                            splb_words=max(splb, 1), sum_bits=act + 8,
                            out_bits=last if last > act else 0)


def _raw_output(prog: HwProgram, bits: int) -> HwProgram:
    """``prog`` with its final layer writing the raw accumulator (no requantization) as a
    ``bits``-wide type, as a final Gemm of a model does."""
    last = prog.layers[-1]
    return HwProgram(prog.name, prog.layers[:-1] + (last.with_(
        out_type=QType(bits, True, last.acc_frac), relu=False),))


def test_overlay_random_programs(tmp_path: Path) -> None:
    configs = []
    for k, args in enumerate(PROGRAMS):
        prog = _program(*args)
        chans = [layer.in_shape[2] for layer in prog.layers]
        outs = [layer.out_shape[2] for layer in prog.layers if layer.kind == "conv"]
        simd, pe = max((s, q) for s in (1, 2, 4) for q in (1, 2, 4)
                       if all(c % s == 0 for c in chans) and all(o % q == 0 for o in outs)
                       and q % s == 0)
        for small in (False, True):
            configs.append((f"o{k}_{int(small)}", prog, _overlay_params(prog, simd, pe, small), k))
        if k in (0, 3):            # raw accumulator outputs: 32-bit (8-bit net), 64-bit (16-bit)
            wide = _raw_output(prog, 32 if k == 0 else 64)
            configs.append((f"o{k}_w", wide, _overlay_params(wide, simd, pe, True), k))
    # one overlay config struct per (SIMD, PE, ACT, W, ACC, capacities): group identical ones
    structs: dict[hd.OverlayParams, str] = {}
    for _, _, p, _ in configs:
        structs.setdefault(p, f"ov{len(structs)}")
    src = ['#include "tb_util.h"\n#include <string>\nusing namespace edgepool;\n']
    src += [overlay_struct(p, name) for p, name in structs.items()]
    src.append("int main(int, char** argv) {\n    const std::string d = argv[1];\n"
               "    const std::string c = argv[2];\n    int rc = -1;\n")
    for name, _, p, _ in configs:
        src.append(f'    if (c == "{name}") rc = tb::run_overlay<{structs[p]}>(d + "/{name}");\n')
    src.append("    return rc;\n}\n")
    binary = compile_tb("".join(src), "overlay")
    tiles_seen = streamed = wide_seen = 0
    for name, prog, p, k in configs:
        img = hd.plan_overlay(prog, p)
        x = _input(prog, 100 + k)
        act = bytearray(img.act_words * p.simd * p.act_bits // 8)
        xb = hd.pack_activations(x, p, prog.in_type.signed)
        act[:len(xb)] = xb
        (tmp_path / f"{name}.desc").write_bytes(img.desc.astype("<u4").tobytes())
        (tmp_path / f"{name}.w").write_bytes(img.weights)
        save(tmp_path / f"{name}.b", img.bias)
        (tmp_path / f"{name}.act").write_bytes(bytes(act))
        save(tmp_path / f"{name}.meta", [img.n_layers, img.weight_words, img.act_words])
        run_tb(binary, tmp_path, name)
        ref = run_reference(prog, x)
        t = prog.out_type
        out = (tmp_path / f"{name}.actout").read_bytes()
        off = img.out_addr * p.simd * p.act_bits // 8
        got = axis.unpack(out[off:], ref.size, img.out_bits, t.signed).reshape(ref.shape)
        assert np.array_equal(got, ref), name
        wide_seen += img.out_bits > p.act_bits
        streamed += sum(bool(hd.unpack_descriptor(img.desc[i * hd.DESC_WORDS:][:hd.DESC_WORDS])
                             ["flags"] & hd.F_W_STREAM) for i in range(img.n_layers))
        expect: Counter = Counter()
        for layer in prog.layers:
            expect.update(cost.overlay_iterations(layer, p))
        assert read_counts(tmp_path / f"{name}.cnt") == {k: v for k, v in expect.items() if v}
        tiles_seen += sum(hd.unpack_descriptor(img.desc[i * hd.DESC_WORDS:][:hd.DESC_WORDS])
                          ["tile_nf"] < layer.out_shape[2] // p.pe
                          for i, layer in enumerate(prog.layers) if layer.kind == "conv")
    assert tiles_seen > 0, "no program exercised output-channel tiling"
    assert streamed > 0, "no program streamed FC weights from DDR"
    assert wide_seen == 2, "the 32- and 64-bit raw accumulator outputs were not exercised"
