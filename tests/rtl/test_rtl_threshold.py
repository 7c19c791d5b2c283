# SPDX-License-Identifier: Apache-2.0
"""The RTL comparator stage (sim/rtl/ep_threshold.sv after the MAC array) in generated tops:
Brevitas's TFC 1w1a (bnn_pynq, random weights, calibrated batch-norm) — its integer middle, the
float input transform and the float head staying on the host — bit-exact with the golden
interpreter, and random programs with 2-bit / bipolar threshold layers, fused max pools,
mixed directions and several lanes bit-exact under back-pressure."""

from __future__ import annotations

import numpy as np
import pytest
from bnn_pynq import export_bnn, integer_middle
from rtl_cases import random_images

import edgepool
from edgepool.accel.program import random_one_bit_program, random_threshold_program, run_reference
from edgepool.codegen.rtl import LayerFolding, generate_rtl
from edgepool.runtime.rtlsim import lint, simulate_program

pytestmark = pytest.mark.rtlsim


def test_tfc_1w1a_integer_middle_bit_exact(tmp_path):
    _model, path, x = export_bnn("tfc_1w1a", tmp_path)
    g = edgepool.load(path)
    program, codes, want = integer_middle(g, x.numpy()[:6])
    # 1w1a: every layer is XNOR-popcount (bipolar inputs and weights)
    assert all(ly.xnor() for ly in program.layers)
    fold = {ly.name: LayerFolding(pe=16 if i < 3 else 10, simd=16)
            for i, ly in enumerate(program.layers)}
    res = simulate_program(program, list(codes), folding=fold, backpressure=0.2, seed=1)
    print(res.table())
    assert res.frames == list(range(6))
    for got, w in zip(res.outputs, want, strict=True):
        assert np.array_equal(np.asarray(got).reshape(w.shape), w)
    print(f"TFC 1w1a integer middle, PE=SIMD=16: {res.cycles_per_frame:.0f} cycles/frame "
          "(simulated, Verilator, 20 % output back-pressure)")


@pytest.mark.parametrize("seed,spec,fold", [
    (1, "c4k3-m2-c8k3-f10", {}),
    (2, "c4k3p1-m2-c6k3-f6", {0: LayerFolding(2, 1, 2, 2), 1: LayerFolding(3, 2, 1, 1)}),
    (3, "f16-f12-f5", {0: LayerFolding(4, 4)}),
])
def test_random_threshold_programs(seed, spec, fold):
    program = random_threshold_program(seed, in_shape=(10, 10, 2), spec=spec)
    assert sum(ly.thresholds is not None for ly in program.layers) >= 2
    folding = {program.layers[[i for i, ly in enumerate(program.layers) if ly.kind == "conv"][k]]
               .name: f for k, f in fold.items()}
    images = random_images(program, 5, seed)
    res = simulate_program(program, images, folding=folding, backpressure=0.4, input_gaps=0.2,
                           seed=seed)
    assert res.frames == list(range(5))
    for img, out in zip(images, res.outputs, strict=True):
        np.testing.assert_array_equal(out, run_reference(program, img))


def test_lint_threshold_top(tmp_path):
    program = random_threshold_program(4, in_shape=(9, 9, 2), spec="c4k3-m2-f10")
    design = generate_rtl(program, tmp_path)
    lint(design.sources, design.top)


@pytest.mark.parametrize("seed,spec,fold", [
    (7, "c8k3-m2-f16-f6", [LayerFolding(2, 4), LayerFolding(4, 8), LayerFolding(3, 16)]),
    (8, "f32-f16-f5", [LayerFolding(8, 16), LayerFolding(4, 32), LayerFolding(5, 8)]),
])
def test_xnor_popcount_programs(tmp_path, seed, spec, fold):
    """ep_mvau's popcount tree (XNOR = 1) on 1-bit layers, bit-exact under back-pressure."""
    program = random_one_bit_program(seed, spec=spec)
    convs = [ly for ly in program.layers if ly.kind == "conv"]
    assert all(ly.xnor() for ly in convs)
    folding = {ly.name: f for ly, f in zip(convs, fold, strict=True)}
    design = generate_rtl(program, tmp_path / "rtl", folding)
    assert [b.params["xnor"] for b in design.blocks if b.kind == "conv"] == [1] * len(convs)
    rng = np.random.default_rng(seed)
    images = [rng.choice(np.array([-1, 1]), program.in_shape) for _ in range(4)]
    res = simulate_program(program, images, folding=folding, backpressure=0.3, seed=seed)
    assert res.frames == list(range(4))
    for img, out in zip(images, res.outputs, strict=True):
        np.testing.assert_array_equal(out, run_reference(program, img))
