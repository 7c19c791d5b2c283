# SPDX-License-Identifier: Apache-2.0
"""IR → Relax import compiled with TVM's LLVM backend for the host (no offload): outputs equal
the golden interpreter exactly."""

from __future__ import annotations

import numpy as np
import pytest
from tvm_graphs import mixed_graph

import edgepool
from edgepool.toolchain import REPO_ROOT
from edgepool.tvm import relax_import as ri

pytestmark = pytest.mark.tvm
MODELS = REPO_ROOT / "models"


def _check(g, x: np.ndarray) -> None:
    got = ri.run_vm(ri.build_x86(ri.graph_to_relax(g)), x)[0]
    want = g.run(x)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want), np.argwhere(got != want)[:5]


def test_lenet_digits_8bit_test_set():
    g = edgepool.load(MODELS / "lenet-digits" / "lenet-digits.onnx")
    _check(g, np.load(MODELS / "lenet-digits" / "test.npz")["x"])


def test_lenet_digits_8bit_saturating_inputs():
    """Inputs far outside the quantizer's range (clipping) and exact rounding ties."""
    g = edgepool.load(MODELS / "lenet-digits" / "lenet-digits.onnx")
    rng = np.random.default_rng(0)
    x = rng.normal(0, 4, (40, 1, 8, 8)).astype(np.float32)
    x[:10] = np.round(x[:10] * 128) / 128 + 1 / 128       # ties of i8.6 (half steps)
    _check(g, x)


def test_lenet_digits_16bit_int64_accumulators():
    g = edgepool.load(MODELS / "lenet-digits" / "lenet-digits-w16.onnx")
    _check(g, np.load(MODELS / "lenet-digits" / "test.npz")["x"][:60])


def test_mixed_ops_graph():
    """Strided conv with asymmetric pads, avg pool (exact division), padded max pool, Add,
    left-shift requant, global average pool, u8 Gemm."""
    g, shape = mixed_graph()
    x = np.random.default_rng(1).normal(0, 3, (40, *shape[1:])).astype(np.float32)
    _check(g, x)
