# SPDX-License-Identifier: Apache-2.0
"""Threshold layers through the HLS dataflow composition (conv_threshold_layer and
conv_threshold_pool_layer of hls/include/edgepool/dataflow.h: MAC array, then the comparator
bank per PE of threshold.h), in C simulation, bit-exact:

* the integer middle of Brevitas's TFC and SFC (bnn_pynq, 1w1a and 2w2a, random weights and
  calibrated batch-norm; the float input transform and the float head stay on the host)
  against the golden interpreter on MNIST images;
* random programs with 2-bit / bipolar threshold layers, mixed directions and fused max pools
  against the program's golden model.

The comparator loop runs once per output word (II = 1): its iteration counter is checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bnn_pynq import export_bnn, integer_middle
from hls_csim import choose_folding, compile_tb, divisors, emit_dataflow_top, read_counts, run_tb

import edgepool
from edgepool.accel import axis
from edgepool.accel.program import (
    HwProgram,
    random_one_bit_program,
    random_threshold_program,
    run_reference,
)

pytestmark = pytest.mark.csim

BEAT = 4
NETWORKS = ["tfc_1w1a", "tfc_2w2a", "sfc_1w1a", "sfc_2w2a"]


def _run(tmp_path: Path, cases: list[tuple[str, HwProgram, list, np.ndarray]]) -> None:
    """Compile one testbench with a dataflow top per case, stream each case's frames
    (N, H, W, C) through it, and compare with ``expected`` (N, H, W, C)."""
    parts, body = [], []
    for ns, prog, folding, frames, _ in cases:
        parts.append(emit_dataflow_top(prog, ns, folding, BEAT))
        for f, x in enumerate(frames):
            (tmp_path / f"{ns}_{f}.in").write_bytes(
                axis.pack(x, prog.in_type.bits, prog.in_type.signed, BEAT))
            body.append(f'    tb::run_axis_top<{BEAT}>({ns}_top, d + "/{ns}_{f}");\n')
    src = ('#include "tb_util.h"\n#include <string>\nusing namespace edgepool;\n'
           + "\n".join(parts)
           + "int main(int, char** argv) {\n    const std::string d = argv[1];\n"
           + "".join(body) + "    return 0;\n}\n")
    run_tb(compile_tb(src, "threshold_programs"), tmp_path)
    for ns, prog, folding, frames, expected in cases:
        t = prog.out_type
        for f, want in enumerate(expected):
            data = (tmp_path / f"{ns}_{f}.out").read_bytes()
            got = axis.unpack(data, want.size, t.bits, t.signed).reshape(want.shape)
            assert np.array_equal(got, want), f"{ns} frame {f} folding {folding}"
        counts = read_counts(tmp_path / f"{ns}_{len(frames) - 1}.cnt")
        words = sum(int(np.prod(ly.conv_out_hw)) * ly.out_shape[2] // pe
                    for ly, (pe, _) in zip(prog.layers, folding, strict=True)
                    if ly.thresholds is not None)
        assert counts.get("threshold") == words, (ns, counts)


def _wide_folding(program: HwProgram) -> list[tuple[int, int]]:
    """PE and SIMD up to 16 (few, wide ROM words: the testbench compiles in seconds, not
    minutes, with SFC's 330 k weights)."""
    def big(n: int) -> int:
        return max(d for d in divisors(n) if d <= 16)
    return [(big(ly.out_shape[2]), big(ly.in_shape[2])) for ly in program.layers]


@pytest.mark.slow  # ~17 s with the build cache warm, ~150 s cold (2-core VM, loaded)
def test_bnn_pynq_mlps_integer_middle(tmp_path: Path) -> None:
    cases = []
    for k, name in enumerate(NETWORKS):
        _model, path, x = export_bnn(name, tmp_path)
        g = edgepool.load(path)
        program, codes, want = integer_middle(g, x.numpy()[:3])
        assert sum(ly.thresholds is not None for ly in program.layers) == 3
        # 1w1a: every layer XNOR-popcount (bipolar inputs and weights)
        assert all(ly.xnor() for ly in program.layers) == name.endswith("1w1a")
        folding = _wide_folding(program)
        cases.append((f"bnn{k}", program, folding, list(codes), list(want)))
    _run(tmp_path, cases)


@pytest.mark.parametrize("seed", range(4))
def test_random_threshold_programs(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    specs = ["c4k3-m2-c8k3-f10", "c4k3p1-m2-c6k3-f6", "f16-f12-f5", "c6k3s2p1-c4k1-m2-f4"]
    cases = []
    for rep in range(2):
        prog = random_threshold_program(seed * 2 + rep, in_shape=(10, 10, 2), spec=specs[seed])
        folding = choose_folding(prog, rng, BEAT)
        t = prog.in_type
        frames = [rng.integers(t.min, t.max, prog.in_shape, endpoint=True) for _ in range(2)]
        cases.append((f"r{seed}_{rep}", prog, folding, frames,
                      [run_reference(prog, x) for x in frames]))
    _run(tmp_path, cases)


def test_one_bit_programs_xnor_popcount(tmp_path: Path) -> None:
    """conv.h's XNOR path (a popcount of agreeing sign bits instead of the multipliers) on
    random 1-bit programs with convs, a fused max pool and FC layers, ±1 frames."""
    rng = np.random.default_rng(77)
    cases = []
    for k, spec in enumerate(["c8k3-m2-f16-f6", "f32-f16-f5"]):
        prog = random_one_bit_program(20 + k, spec=spec)
        assert all(ly.xnor() for ly in prog.layers if ly.kind == "conv")
        folding = choose_folding(prog, rng, BEAT)
        assert "XNOR = true" in emit_dataflow_top(prog, "chk", folding, BEAT)
        frames = [rng.choice(np.array([-1, 1]), prog.in_shape) for _ in range(2)]
        cases.append((f"x{k}", prog, folding, frames, [run_reference(prog, x) for x in frames]))
    _run(tmp_path, cases)
