# SPDX-License-Identifier: Apache-2.0
"""Helpers of the quantization tests: artifact paths, accuracy targets and a tiny independent
integer reference for the QONNX exports (built on edgepool.ir.kernels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from edgepool.ir import kernels as K
from edgepool.ir.qtype import QType, frac_from_scale

ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = ROOT / "models"
DATA_DIR = ROOT / "tests" / "data"

# (model, bits, onnx file, accuracy target)
SHIPPED = [
    ("lenet-digits", 8, "lenet-digits.onnx", 0.95),
    ("lenet-digits", 16, "lenet-digits-w16.onnx", 0.95),
    ("lenet-digits", 4, "lenet-digits-w4.onnx", 0.90),
    ("lenet-mnist", 8, "lenet-mnist.onnx", 0.96),
    ("lenet-mnist", 16, "lenet-mnist-w16.onnx", 0.96),
    ("lenet-mnist", 4, "lenet-mnist-w4.onnx", 0.96),
    ("resnet-mnist", 8, "resnet-mnist.onnx", 0.96),
    ("dwsep-mnist", 8, "dwsep-mnist.onnx", 0.97),
]


def qonnx_integer_reference(model: onnx.ModelProto, x: np.ndarray) -> tuple[np.ndarray, int]:
    """Run an edgepool QONNX export in exact integers: ``(int64 outputs, frac)``.

    Supports exactly the ops our exports contain (Quant, Conv, Gemm(transB=1), Relu, MaxPool,
    Flatten, Add, GlobalAveragePool); every tensor is carried as ``(ints, frac)``. A global
    average is kept as the exact map it averages (``("gap", ints, frac)``): a ``Quant`` after it
    divides the exact sum in integers (round half to even), and as the graph's output (a float
    head) the map itself is returned, as ``brevitas_quant_outputs`` does.
    """
    g = model.graph
    consts = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    env: dict[str, tuple[np.ndarray, int] | np.ndarray] = {g.input[0].name: np.asarray(x)}
    for n in g.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
        if n.op_type == "Quant":
            src = n.input[0]
            scale = consts[n.input[1]].reshape(-1)
            assert scale.size == 1 and float(consts[n.input[2]]) == 0.0
            frac = frac_from_scale(float(scale[0]), n.name)
            t = QType(int(consts[n.input[3]]), bool(a["signed"]), frac, bool(a["narrow"]))
            assert a["rounding_mode"] in (b"ROUND", "ROUND")
            if src in consts:
                ints = K.quantize(consts[src], t)
            else:
                v = env[src]
                if isinstance(v, tuple) and isinstance(v[0], str):     # ("gap", map, frac)
                    _, m, f = v
                    total = m.sum(axis=(2, 3), keepdims=True)
                    num, den = total, m.shape[2] * m.shape[3]
                    if t.frac >= f:
                        num = total << (t.frac - f)
                    else:
                        den = den << (f - t.frac)
                    ints = K.saturate(K.div_round(num, den), t)
                elif isinstance(v, tuple):
                    ints = K.saturate(K.shift_round(v[0], v[1] - t.frac), t)
                else:
                    ints = K.quantize(v, t)
            env[n.output[0]] = (ints, t.frac)
        elif n.op_type in ("Conv", "Gemm"):
            (xi, xf), (wi, wf) = env[n.input[0]], env[n.input[1]]
            bi, bf = env[n.input[2]]
            assert bf == xf + wf, f"{n.name}: bias frac {bf} != accumulator frac {xf + wf}"
            if n.op_type == "Conv":
                p = a["pads"]
                acc = K.conv2d(xi, wi, bi, a["strides"], (p[0], p[1], p[2], p[3]), a["dilations"],
                               a["group"])
            else:
                assert a.get("transB") == 1 and a.get("transA", 0) == 0
                acc = xi @ wi.T + bi
            env[n.output[0]] = (acc, xf + wf)
        elif n.op_type == "Relu":
            v, f = env[n.input[0]]
            env[n.output[0]] = (np.maximum(v, 0), f)
        elif n.op_type == "MaxPool":
            v, f = env[n.input[0]]
            p = a["pads"]
            env[n.output[0]] = (K.max_pool(v, a["kernel_shape"], a["strides"],
                                           (p[0], p[1], p[2], p[3])), f)
        elif n.op_type == "Flatten":
            v = env[n.input[0]]
            if isinstance(v[0], str):
                env[n.output[0]] = v
                continue
            v, f = v
            env[n.output[0]] = (v.reshape(v.shape[0], -1), f)
        elif n.op_type == "Add":
            (va, fa), (vb, fb) = env[n.input[0]], env[n.input[1]]
            f = max(fa, fb)
            env[n.output[0]] = ((va << (f - fa)) + (vb << (f - fb)), f)
        elif n.op_type == "GlobalAveragePool":
            v, f = env[n.input[0]]
            env[n.output[0]] = ("gap", v, f)
        else:
            raise AssertionError(f"unexpected op {n.op_type}")
    out = env[g.output[0].name]
    assert isinstance(out, tuple)
    return out[1:] if isinstance(out[0], str) else out
