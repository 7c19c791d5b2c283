# SPDX-License-Identifier: Apache-2.0
"""The golden model: a NumPy interpreter of the IR with bit-exact integer semantics.

Every backend is compared to this with exact equality. It runs nodes in graph order, each by its
op's reference semantics (:mod:`edgepool.ir.ops`, which dispatches to :mod:`edgepool.ir.kernels`).
Fixed-point values are int64 code arrays; float values are float32. The batch size of the inputs
may differ from the graph's static batch (1): every op is batch-agnostic.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import InputError
from .graph import Graph
from .ops import OPS


def _bind_inputs(g: Graph, x) -> dict[str, np.ndarray]:
    if isinstance(x, Mapping):
        missing = [i for i in g.inputs if i not in x]
        extra = [k for k in x if k not in g.inputs]
        if missing or extra:
            raise InputError(f"input names do not match the model: missing {missing}, "
                             f"unexpected {extra}", f"the model's inputs are {list(g.inputs)}")
        feeds = dict(x)
    else:
        if len(g.inputs) != 1:
            raise InputError(f"the model has {len(g.inputs)} inputs {list(g.inputs)}",
                             "pass a dict (or an .npz) of input name → array")
        feeds = {g.inputs[0]: x}
    env: dict[str, np.ndarray] = {}
    for name in g.inputs:
        v = g.values[name]
        a = np.asarray(feeds[name])
        if a.ndim == len(v.shape) - 1:
            a = a[None]                                   # a single sample without batch axis
        if a.ndim != len(v.shape) or tuple(a.shape[1:]) != tuple(v.shape[1:]):
            raise InputError(f"input {name!r} has shape {tuple(a.shape)}, the model expects "
                             f"{v.shape} (any batch size)")
        if v.type.is_float:
            if not np.issubdtype(a.dtype, np.floating) and not np.issubdtype(a.dtype, np.integer):
                raise InputError(f"input {name!r} has dtype {a.dtype}, expected a float array")
            env[name] = a.astype(np.float32)
        else:
            if not np.issubdtype(a.dtype, np.integer):
                raise InputError(f"input {name!r} is fixed point {v.type}: pass integer codes, "
                                 f"got dtype {a.dtype}")
            a = a.astype(np.int64)
            if a.size and (a.min() < v.type.min or a.max() > v.type.max):
                raise InputError(f"input {name!r} has codes outside {v.type} "
                                 f"[{v.type.min}, {v.type.max}]")
            env[name] = a
    return env


def run(g: Graph, x, *, keep_all: bool = False, as_dict: bool = False):
    """Run ``g`` on ``x`` (an array for a single-input graph, or a dict name → array).

    Returns the outputs: a single array for a single-output graph, else a list (or a dict with
    ``as_dict``). ``keep_all`` returns the dict of every value computed (constants excluded).
    """
    env = _bind_inputs(g, x)
    for name, c in g.constants.items():
        env[name] = c
    for node in g.nodes:
        op = OPS[node.op]
        ins = [env[i] for i in node.inputs]
        in_vals = [g.values[i] for i in node.inputs]
        out_vals = [g.values[o] for o in node.outputs]
        results = op.eval(node, ins, in_vals, out_vals)
        for v, r in zip(out_vals, results):
            if not v.type.is_float:
                r = np.asarray(r, dtype=np.int64)
            env[v.name] = r
    if keep_all:
        return {k: v for k, v in env.items() if k not in g.constants}
    outs = [env[o] for o in g.outputs]
    if as_dict:
        return dict(zip(g.outputs, outs))
    return outs[0] if len(outs) == 1 else outs


def run_codes(g: Graph, x) -> list[tuple[np.ndarray, object]]:
    """Run ``g`` and return, per graph output, ``(codes, qtype)``: the fixed-point integers
    before the output ``Dequant`` (or the float output itself with type f32). This is what
    backends and Brevitas' ``int_repr`` are compared with, exactly."""
    env = run(g, x, keep_all=True)
    res = []
    for o in g.outputs:
        p = g.producer(o)
        src = p.inputs[0] if p is not None and p.op == "Dequant" else o
        res.append((env[src], g.values[src].type))
    return res
