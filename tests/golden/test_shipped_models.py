# SPDX-License-Identifier: Apache-2.0
"""Acceptance: on the shipped trained models, the golden interpreter's integer outputs equal
Brevitas' quantized outputs exactly, on the whole test set, and accuracy meets the targets."""

import json
from pathlib import Path

import numpy as np
import pytest

import edgepool
from edgepool.ir.interp import run_codes

MODELS = Path(__file__).resolve().parents[2] / "models"

CASES = [  # (name, bits, onnx file, metrics file, accuracy target)
    ("lenet-digits", 8, "lenet-digits.onnx", "metrics.json", 0.95),
    ("lenet-digits", 16, "lenet-digits-w16.onnx", "metrics-w16.json", 0.95),
    ("lenet-digits", 4, "lenet-digits-w4.onnx", "metrics-w4.json", 0.90),
    ("lenet-mnist", 8, "lenet-mnist.onnx", "metrics.json", 0.96),
    ("lenet-mnist", 16, "lenet-mnist-w16.onnx", "metrics-w16.json", 0.96),
]


@pytest.mark.parametrize("name,bits,onnx_file,metrics,target", CASES,
                         ids=[f"{c[0]}-w{c[1]}" for c in CASES])
def test_interpreter_equals_brevitas(name, bits, onnx_file, metrics, target):
    from edgepool.quant.export import brevitas_quant_outputs
    from edgepool.quant.trainer import load_trained

    d = MODELS / name
    data = np.load(d / "test.npz")
    x, y = data["x"], data["y"]
    g = edgepool.load(d / onnx_file)
    (codes, qtype), = run_codes(g, x)
    model = load_trained(name, bits, d)
    ref, frac = brevitas_quant_outputs(model, x)
    assert qtype.frac == frac
    assert codes.shape == ref.shape
    assert np.array_equal(codes, ref), f"{np.sum(codes != ref)} integer outputs differ"
    acc = float(np.mean(np.argmax(codes, axis=1) == y))
    assert acc >= target, f"{name} w{bits}: accuracy {acc:.4f} below {target}"
    recorded = json.loads((d / metrics).read_text())["int_test_acc"]
    assert abs(acc - recorded) < 1e-9, "metrics.json does not match the shipped model"
    # and the float output equals the dequantized codes
    assert np.array_equal(g.run(x), (codes * 2.0 ** -frac).astype(np.float32))
