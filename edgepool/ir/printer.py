# SPDX-License-Identifier: Apache-2.0
"""A stable, diff-friendly text form of a graph (snapshot tests and EDGEPOOL_DEBUG dumps).

    graph lenet (%x: f32[1,1,8,8]) -> (%y)
      %x_q: u8.8[1,1,8,8] = Quant(%x) {type=u8.8}
      %c1: i20.14[1,8,8,8] = Conv(%x_q, @w1: i8n.6[8,1,3,3], @b1: i20.14[8]) {pads=[1,1,1,1]}
"""

from __future__ import annotations

from typing import Any

from .graph import Graph
from .ops import OPS
from .qtype import QType


def _fmt_attr(v: Any) -> str:
    if isinstance(v, QType):
        return str(v)
    if isinstance(v, (tuple, list)):
        return "[" + ",".join(_fmt_attr(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _ty(g: Graph, name: str) -> str:
    v = g.values[name]
    return f"{v.type}[{','.join(map(str, v.shape))}]"


def format_graph(g: Graph) -> str:
    """Render ``g``; attributes equal to the op's default are omitted."""
    ins = ", ".join(f"%{i}: {_ty(g, i)}" for i in g.inputs)
    outs = ", ".join(f"%{o}" for o in g.outputs)
    lines = [f"graph {g.name} ({ins}) -> ({outs})"]
    for n in g.nodes:
        args = []
        for i in n.inputs:
            args.append(f"@{i}: {_ty(g, i)}" if g.is_const(i) else f"%{i}")
        defaults = OPS[n.op].attrs if n.op in OPS else {}
        attrs = {k: v for k, v in sorted(n.attrs.items()) if defaults.get(k, object()) != v}
        attr_s = (" {" + ", ".join(f"{k}={_fmt_attr(v)}" for k, v in attrs.items()) + "}"
                  if attrs else "")
        res = ", ".join(f"%{o}: {_ty(g, o)}" for o in n.outputs)
        lines.append(f"  {res} = {n.op}({', '.join(args)}){attr_s}  # {n.name}")
    return "\n".join(lines) + "\n"
