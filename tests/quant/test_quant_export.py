# SPDX-License-Identifier: Apache-2.0
"""Exports: checker-valid QONNX with the documented structure; onnxruntime on the QCDQ export
and an independent integer reference on the QONNX export both equal Brevitas' integers exactly."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from quant_helpers import DATA_DIR, MODELS_DIR, SHIPPED, qonnx_integer_reference

from edgepool.quant.export import brevitas_quant_outputs, export_qcdq, run_onnxruntime
from edgepool.quant.trainer import load_trained

QONNX_FILES = [MODELS_DIR / n / f for n, _, f, _ in SHIPPED] + [
    DATA_DIR / "lenet_digits_untrained.onnx"]


@pytest.mark.parametrize("path", QONNX_FILES, ids=lambda p: p.name)
def test_qonnx_structure(path: Path) -> None:
    m = onnx.load(path)
    onnx.checker.check_model(m)
    g = m.graph
    assert [i.name for i in g.input] == ["input"]
    assert [o.name for o in g.output] == ["logits"]
    assert {(o.domain, o.version) for o in m.opset_import} == {
        ("", 20), ("qonnx.custom_op.general", 2)}
    assert {n.op_type for n in g.node} <= {"Quant", "Conv", "Relu", "MaxPool", "Flatten", "Gemm",
                                           "Add", "GlobalAveragePool"}
    assert g.node[0].op_type == "Quant" and g.node[0].input[0] == "input"
    # logits: a Gemm accumulator, or the flattened global average of a class conv (All-Conv)
    assert g.node[-1].op_type in ("Gemm", "Flatten") and g.node[-1].output[0] == "logits"
    if g.node[-1].op_type == "Flatten":
        assert [n.op_type for n in g.node[-3:-1]] == ["Conv", "GlobalAveragePool"]
    consts = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    for n in g.node:
        if n.op_type == "Quant":
            s = float(consts[n.input[1]].reshape(-1)[0])
            assert math.frexp(s)[0] == 0.5, f"{n.name}: scale {s} not a power of two"
            assert float(consts[n.input[2]]) == 0.0


@pytest.mark.parametrize("name,bits,fname,target", SHIPPED, ids=lambda v: str(v))
def test_integer_reference_equals_brevitas(name, bits, fname, target, test_sets) -> None:
    """edgepool.ir.kernels run on the QONNX file == brevitas_int_outputs, every test image."""
    x = test_sets[name]["x"]
    model = load_trained(name, bits, MODELS_DIR / name)
    ints, frac = brevitas_quant_outputs(model, x)
    ref, ref_frac = qonnx_integer_reference(onnx.load(MODELS_DIR / name / fname), x)
    assert ref_frac == frac
    np.testing.assert_array_equal(ref, ints)


@pytest.mark.parametrize("name,bits", [("lenet-digits", 8), ("lenet-digits", 4),
                                       ("lenet-mnist", 8)])
def test_onnxruntime_qcdq_equals_brevitas(name, bits, test_sets, tmp_path) -> None:
    x = test_sets[name]["x"]
    model = load_trained(name, bits, MODELS_DIR / name)
    ints, frac = brevitas_quant_outputs(model, x)
    path = export_qcdq(model, tmp_path / "m.onnx", (1, *x.shape[1:]))
    onnx.checker.check_model(onnx.load(path))
    out = run_onnxruntime(path, x).astype(np.float64) * 2.0 ** frac
    np.testing.assert_array_equal(out, ints.astype(np.float64))
