# SPDX-License-Identifier: Apache-2.0
"""Synthetic fixed-point models the fabric cannot run whole (for the placement tests): built
with the TVM tests' node helper (types inferred by the ops' own rules), 8×8 inputs so the
lenet-digits test set feeds them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tvm"))
from tvm_graphs import _add  # noqa: E402

from edgepool.ir.graph import GraphBuilder, Value  # noqa: E402
from edgepool.ir.qtype import FLOAT, QType  # noqa: E402

SHAPE = (1, 1, 8, 8)
W8 = QType(8, True, 7, narrow=True)
U8 = QType(8, False, 4)


def _conv(b, rng, x, oc, ic, k, groups=1, pads=(1, 1, 1, 1), out=U8, relu=True,
          name_bits=12):
    w = b.add_const(b.fresh("w"), rng.integers(-60, 61, (oc, ic // groups, k, k)), W8)
    bias = b.add_const(b.fresh("b"), rng.integers(-200, 200, (oc,)), QType(name_bits, True, 11))
    c = _add(b, "Conv", [x, w, bias], strides=(1, 1), pads=pads, dilations=(1, 1),
             groups=groups)
    return _add(b, "Requant", [c], type=out, relu=relu)


def depthwise_graph(seed: int = 0, residual: bool = True, branch: str = "dw"):
    """Quant → conv 3×3 (1→8) → max pool 2 → depthwise 3×3 (groups 8) [+ residual Add of its
    input, requantized] → pointwise 1×1 (8→16) → global average pool → Flatten → Gemm (10) →
    Dequant. The fabric refuses the depthwise conv, the Add and the global pool head.
    ``branch="conv"``: the residual branch is a plain 3×3 conv (fabric-capable), so a fabric
    segment inside the block leaves a skip connection around it (a two-input CPU segment)."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("dwres" if residual else "dw")
    b.add_value(Value("x", SHAPE, FLOAT))
    b.inputs.append("x")
    q = _add(b, "Quant", ["x"], type=QType(8, False, 8))
    h = _conv(b, rng, q, 8, 1, 3)
    h = _add(b, "Pool", [h], kind="max", kernel=(2, 2), strides=(2, 2), pads=(0, 0, 0, 0),
             dilations=(1, 1), ceil_mode=False)
    d = _conv(b, rng, h, 8, 8, 3, groups=8 if branch == "dw" else 1)
    if residual:
        s = _add(b, "Add", [h, d])
        d = _add(b, "Requant", [s], type=QType(8, False, 3), relu=False)
    p = _conv(b, rng, d, 16, 8, 1, pads=(0, 0, 0, 0))
    gp = _add(b, "Pool", [p], kind="avg", global_=True)
    f = _add(b, "Flatten", [gp], axis=1)
    wg = b.add_const("wg", rng.integers(-127, 128, (10, 16)), W8)
    bg = b.add_const("bg", rng.integers(-500, 500, (10,)), QType(12, True, 11))
    y = _add(b, "Gemm", [f, wg, bg], trans_b=True)
    o = _add(b, "Dequant", [y])
    b.outputs.append(o)
    return b.build()


def export_depthwise_onnx(path: Path, seed: int = 0) -> Path:
    """A MobileNet-style block as a real QONNX file (Brevitas, 8-bit fixed-point presets,
    random weights — the tests check bit-exactness, not accuracy): input quantizer → conv 3×3
    (1→8) + ReLU → max pool 2 → depthwise 3×3 (groups 8) + ReLU → pointwise 1×1 (8→16) + ReLU
    → Flatten → FC 10. The fabric refuses the depthwise conv, so a board build splits it."""
    import brevitas.nn as qnn
    import torch
    from torch import nn

    from edgepool.quant.export import export_qonnx
    from edgepool.quant.presets import preset

    torch.manual_seed(seed)
    p = preset(8)

    def conv(ic, oc, k, pad, groups=1):
        return [qnn.QuantConv2d(ic, oc, k, padding=pad, groups=groups, bias=True,
                                weight_quant=p.weight, bias_quant=p.bias,
                                return_quant_tensor=True),
                qnn.QuantReLU(act_quant=p.act_relu, return_quant_tensor=True)]

    class Net(nn.Sequential):
        def forward(self, x):              # the logits as float (the dequantized accumulator)
            return super().forward(x).value

    model = Net(
        qnn.QuantIdentity(act_quant=p.act_in, return_quant_tensor=True),
        *conv(1, 8, 3, 1), nn.MaxPool2d(2), *conv(8, 8, 3, 1, groups=8), *conv(8, 16, 1, 0),
        nn.Flatten(), qnn.QuantLinear(16 * 4 * 4, 10, bias=True, weight_quant=p.weight,
                                      bias_quant=p.bias, return_quant_tensor=True))
    model.eval()
    return export_qonnx(model, path, SHAPE)
