# SPDX-License-Identifier: Apache-2.0
"""Canonicalization: small local rewrites that leave the integer semantics unchanged."""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph, Node
from .rewrite import Rewrite, apply_rules


def _single_use(g: Graph, value: str) -> bool:
    return len(g.consumers(value)) == 1 and value not in g.outputs


def _relu_into_requant(g: Graph, n: Node) -> Rewrite | None:
    """Relu(int) → Requant  ⇒  Requant(relu=True) (ReLU commutes with round-and-saturate)."""
    if n.op != "Requant" or n.attr("relu"):
        return None
    p = g.producer(n.inputs[0])
    if p is None or p.op != "Relu" or not _single_use(g, p.outputs[0]):
        return None
    if g.values[p.inputs[0]].type.is_float:
        return None
    fused = n.with_(inputs=(p.inputs[0],), attrs={**n.attrs, "relu": True})
    return Rewrite([p, n], [fused], {})


def _identity_requant(g: Graph, n: Node) -> Rewrite | None:
    """Requant whose output type holds every input code unchanged ⇒ removed."""
    if n.op != "Requant":
        return None
    tin, tout = g.values[n.inputs[0]].type, n.attrs["type"]
    if tin.frac != tout.frac or tin.min < tout.min or tin.max > tout.max:
        return None
    if n.attr("relu") and tin.min < 0:
        return None
    if n.outputs[0] in g.outputs:
        return None
    return Rewrite([n], [], {n.outputs[0]: n.inputs[0]})


def _reshape_to_flatten(g: Graph, n: Node) -> Rewrite | None:
    """Reshape (N, C, H, W) → (N, C·H·W) ⇒ Flatten(axis=1)."""
    if n.op != "Reshape":
        return None
    src = g.values[n.inputs[0]].shape
    dst = tuple(n.attrs["shape"])
    if len(dst) == 2 and len(src) >= 2 and dst[0] == src[0] and dst[1] == int(np.prod(src[1:])):
        return Rewrite([n], [Node(n.name, "Flatten", n.inputs, n.outputs, {"axis": 1})], {})
    return None


def fuse_relu_requant(g: Graph) -> Graph:
    """Fold a fixed-point ReLU into the Requant that consumes it (attr ``relu``)."""
    return apply_rules(g, [_relu_into_requant], "fuse_relu_requant")


def remove_identity_requant(g: Graph) -> Graph:
    """Drop Requants that cannot change any code (same frac, wider or equal range)."""
    return apply_rules(g, [_identity_requant], "remove_identity_requant")


def reshape_to_flatten(g: Graph) -> Graph:
    """Canonical form of flattening: Reshape to (N, rest) becomes Flatten(axis=1)."""
    return apply_rules(g, [_reshape_to_flatten], "reshape_to_flatten")


def dead_code(g: Graph) -> Graph:
    """Remove nodes none of whose outputs reach a graph output."""
    live = set(g.outputs)
    keep = []
    for n in reversed(g.nodes):
        if any(o in live for o in n.outputs):
            keep.append(n)
            live.update(i for i in n.inputs if i)
    if len(keep) == len(g.nodes):
        return g
    return g.replace(nodes=tuple(reversed(keep)))
