# SPDX-License-Identifier: Apache-2.0
"""Acceptance: on the shipped trained models, the golden interpreter's integer outputs equal
Brevitas' quantized outputs exactly, on the whole test set, and accuracy meets the targets.

For a model with a global-average float head (allconv-mnist) the integers compared are the class
accumulator map under the head, and the float logits must equal the mean of those exact integers
computed independently in float64."""

import json
from pathlib import Path

import numpy as np
import pytest

import edgepool
from edgepool.ir.interp import run, run_codes

MODELS = Path(__file__).resolve().parents[2] / "models"

CASES = [  # (name, bits, onnx file, metrics file, accuracy target)
    ("lenet-digits", 8, "lenet-digits.onnx", "metrics.json", 0.95),
    ("lenet-digits", 16, "lenet-digits-w16.onnx", "metrics-w16.json", 0.95),
    ("lenet-digits", 4, "lenet-digits-w4.onnx", "metrics-w4.json", 0.90),
    ("lenet-mnist", 8, "lenet-mnist.onnx", "metrics.json", 0.96),
    ("lenet-mnist", 16, "lenet-mnist-w16.onnx", "metrics-w16.json", 0.96),
    ("lenet-mnist", 4, "lenet-mnist-w4.onnx", "metrics-w4.json", 0.96),
    ("resnet-mnist", 8, "resnet-mnist.onnx", "metrics.json", 0.96),
    ("dwsep-mnist", 8, "dwsep-mnist.onnx", "metrics.json", 0.97),
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


@pytest.mark.skipif(not (MODELS / "allconv-mnist" / "allconv-mnist.onnx").exists(),
                    reason="allconv-mnist is not shipped yet: "
                           "edgepool train allconv-mnist -o models/allconv-mnist")
def test_allconv_float_head_equals_brevitas():
    """allconv-mnist: the integer class map under the global-average head equals Brevitas'
    exactly on the whole test set, and the float logits are its float64 mean (bit for bit)."""
    from edgepool.quant.export import brevitas_quant_outputs, int_predictions
    from edgepool.quant.trainer import load_trained

    d = MODELS / "allconv-mnist"
    data = np.load(d / "test.npz")
    x, y = data["x"], data["y"]
    g = edgepool.load(d / "allconv-mnist.onnx")
    head, = [n for n in g.nodes if n.op == "Affine"]
    assert head.attr("global_avg")
    env = run(g, x, keep_all=True)
    codes, qtype = env[head.inputs[0]], g.values[head.inputs[0]].type
    ref, frac = brevitas_quant_outputs(load_trained("allconv-mnist", 8, d), x)
    assert qtype.frac == frac and codes.shape == ref.shape == (len(x), 10, 5, 5)
    assert np.array_equal(codes, ref), f"{np.sum(codes != ref)} integer outputs differ"
    want = (ref.sum(axis=(2, 3)) / 25.0 * 2.0 ** -frac).astype(np.float32)
    logits = env[g.outputs[0]]
    assert logits.dtype == np.float32 and np.array_equal(logits, want)
    acc = float(np.mean(int_predictions(codes) == y))
    assert acc == float(np.mean(logits.argmax(1) == y))
    assert acc >= 0.96
    recorded = json.loads((d / "metrics.json").read_text())["int_test_acc"]
    assert abs(acc - recorded) < 1e-9
