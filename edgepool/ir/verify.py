# SPDX-License-Identifier: Apache-2.0
"""Graph invariants. Run after import and after every pass (cheap: linear in the graph)."""

from __future__ import annotations

import numpy as np

from ..errors import VerifyError
from .graph import Graph
from .ops import OPS


def verify(g: Graph) -> Graph:
    """Check ``g``; raise :class:`VerifyError` listing every violation. Returns ``g``.

    Invariants: every op is known and has a legal input count; every value is defined once,
    before use; every value's shape and type equal its op's inference; constants' arrays match
    their values; graph outputs exist.
    """
    problems: list[str] = []
    defined = set(g.inputs) | set(g.constants)
    for name in list(g.inputs) + list(g.constants):
        if name not in g.values:
            problems.append(f"{name!r} has no Value")
    for name, arr in g.constants.items():
        v = g.values.get(name)
        if v is not None and tuple(arr.shape) != tuple(v.shape):
            problems.append(f"constant {name!r} array shape {arr.shape} != value shape {v.shape}")
        if v is not None and not v.type.is_float:
            if not np.issubdtype(arr.dtype, np.integer):
                problems.append(f"constant {name!r} is fixed point {v.type} but holds {arr.dtype}")
            elif arr.size and (arr.min() < v.type.min or arr.max() > v.type.max):
                problems.append(f"constant {name!r} has codes outside {v.type}")
    seen_nodes = set()
    for n in g.nodes:
        if n.name in seen_nodes:
            problems.append(f"node name {n.name!r} is used twice")
        seen_nodes.add(n.name)
        op = OPS.get(n.op)
        if op is None:
            problems.append(f"node {n.name!r}: unknown op {n.op!r}")
            continue
        lo, hi = op.num_inputs
        if not lo <= len(n.inputs) <= hi:
            problems.append(f"node {n.name!r} ({n.op}) has {len(n.inputs)} inputs, "
                            f"needs {lo}..{hi}")
            continue
        missing = [i for i in n.inputs if i not in defined]
        if missing:
            problems.append(f"node {n.name!r} ({n.op}) reads {missing} before definition")
            continue
        for o in n.outputs:
            if o in defined:
                problems.append(f"value {o!r} is defined twice")
            defined.add(o)
        try:
            inferred = op.infer(n, [g.values[i] for i in n.inputs],
                                [g.constants.get(i) for i in n.inputs])
        except Exception as e:  # noqa: BLE001 - report every failure, typed
            problems.append(f"node {n.name!r} ({n.op}): {e}")
            continue
        for o, (shape, qt) in zip(n.outputs, inferred):
            v = g.values.get(o)
            if v is None:
                problems.append(f"node {n.name!r}: output {o!r} has no Value")
            elif tuple(v.shape) != tuple(shape) or v.type != qt:
                problems.append(f"node {n.name!r}: output {o!r} declared {v.type}{list(v.shape)}, "
                                f"op infers {qt}{list(shape)}")
        if n.op == "Reshape":
            if int(np.prod(g.values[n.inputs[0]].shape)) != int(np.prod(n.attrs["shape"])):
                problems.append(f"node {n.name!r}: Reshape changes the element count")
    for o in g.outputs:
        if o not in defined:
            problems.append(f"graph output {o!r} is never computed")
    if problems:
        raise VerifyError(f"graph {g.name!r} is invalid:\n"
                          + "\n".join(f"  - {p}" for p in problems))
    return g
