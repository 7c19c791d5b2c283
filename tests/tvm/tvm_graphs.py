# SPDX-License-Identifier: Apache-2.0
"""Small synthetic fixed-point graphs for the TVM tests (types inferred by the ops' own rules)."""

from __future__ import annotations

import numpy as np

from edgepool.ir.graph import GraphBuilder, Node, Value
from edgepool.ir.ops import OPS
from edgepool.ir.qtype import FLOAT, QType


def _add(b: GraphBuilder, op: str, inputs: list[str], **attrs) -> str:
    name = f"{op.lower()}{len(b.nodes)}"          # node names are unique (the verifier checks)
    out = b.fresh(name + "_out")
    node = Node(name, op, tuple(inputs), (out,), attrs)
    ins = [b.values[i] for i in inputs]
    consts = [b.constants.get(i) for i in inputs]
    (shape, qtype), = OPS[op].infer(node, ins, consts)
    b.add_value(Value(out, tuple(shape), qtype))
    b.add_node(node)
    return out


def mixed_graph(seed: int = 0) -> tuple:
    """Quant → conv (stride 2, asymmetric pads, signed output) → avg pool (pad, excluded) and
    max pool 3x3 s1 p1 → Add → ReLU → requant with a left shift → global average pool →
    Flatten → Gemm (u8 input) → Dequant. Returns (graph, input shape)."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("mixed")
    shape = (1, 3, 11, 9)
    b.add_value(Value("x", shape, FLOAT))
    b.inputs.append("x")
    q = _add(b, "Quant", ["x"], type=QType(8, True, 5))
    w = b.add_const("w", rng.integers(-127, 128, (8, 3, 3, 3)), QType(8, True, 6, narrow=True))
    bias = b.add_const("b", rng.integers(-3000, 3000, (8,)), QType(14, True, 11))
    c = _add(b, "Conv", [q, w, bias], strides=(2, 2), pads=(1, 0, 1, 1), dilations=(1, 1),
             groups=1)
    r = _add(b, "Requant", [c], type=QType(8, True, 4), relu=False)
    a = _add(b, "Pool", [r], kind="avg", kernel=(3, 3), strides=(1, 1), pads=(1, 1, 1, 1),
             dilations=(1, 1), ceil_mode=False, count_include_pad=False)
    m = _add(b, "Pool", [r], kind="max", kernel=(3, 3), strides=(1, 1), pads=(1, 1, 1, 1),
             dilations=(1, 1), ceil_mode=False)
    s = _add(b, "Add", [a, m])
    s = _add(b, "Relu", [s])
    s = _add(b, "Requant", [s], type=QType(8, False, 5), relu=True)
    gp = _add(b, "Pool", [s], kind="avg", global_=True)
    f = _add(b, "Flatten", [gp], axis=1)
    wg = b.add_const("wg", rng.integers(-127, 128, (5, 8)), QType(8, True, 7, narrow=True))
    bg = b.add_const("bg", rng.integers(-500, 500, (5,)), QType(12, True, 12))
    y = _add(b, "Gemm", [f, wg, bg], trans_b=True)
    o = _add(b, "Dequant", [y])
    b.outputs.append(o)
    return b.build(), shape
