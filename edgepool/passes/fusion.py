# SPDX-License-Identifier: Apache-2.0
"""Fusion and layout: the rewrites that turn the canonical IR into one node per kernel call or
hardware layer (:data:`~edgepool.ir.ops.OPS` ``FusedConv`` / ``FusedGemm``), and put weights
and flattened feature maps into the order a channels-last engine reads.

Every rule finds its neighbours through the graph's producer and consumer indexes (never by
position in the node list) and fuses only values with a single consumer that are not graph
outputs, so no intermediate a fused node hides is needed elsewhere. Each is bit-exact: a fused
op's semantics are the composition of the ops it replaces (:func:`edgepool.ir.ops.fused_parts`),
and a layout rewrite permutes a constant exactly as it changes the order of the data it meets.
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph, Node
from ..ir.ops import POOL_ATTRS, attrs_of
from .rewrite import Rewrite, apply_rules, fresh_name

_FUSED = {"Conv": "FusedConv", "Gemm": "FusedGemm"}


def _single_use(g: Graph, value: str) -> bool:
    return len(g.consumers(value)) == 1 and value not in g.outputs


def _fusable_product(g: Graph, n: Node | None) -> bool:
    """A fixed-point Conv / Gemm with constant weights (and bias), the form kernels take."""
    if n is None or n.op not in _FUSED or g.values[n.inputs[0]].type.is_float:
        return False
    if not all(g.is_const(i) for i in n.inputs[1:]):
        return False
    return n.op == "Conv" or not attrs_of(n)["trans_a"]


# --------------------------------------------------------------------------- fuse
def _product_requant(g: Graph, n: Node) -> Rewrite | None:
    """Conv|Gemm → Requant(+relu)  ⇒  FusedConv|FusedGemm{type, relu}."""
    if n.op != "Requant":
        return None
    p = g.producer(n.inputs[0])
    if not _fusable_product(g, p) or not _single_use(g, p.outputs[0]):
        return None
    at = {**p.attrs, "type": n.attrs["type"], "relu": bool(n.attr("relu"))}
    return Rewrite([p, n], [Node(p.name, _FUSED[p.op], p.inputs, n.outputs, at)], {})


def fuse_product_requant(g: Graph) -> Graph:
    """Fuse every fixed-point Conv / Gemm with the Requant that consumes its accumulator."""
    return apply_rules(g, [_product_requant], "fuse_product_requant")


# --------------------------------------------------------------------------- pools
def _pool_into_conv(g: Graph, n: Node, kinds: tuple[str, ...], allow_global: bool,
                    need_requant: bool) -> Rewrite | None:
    if n.op != "Pool":
        return None
    p = g.producer(n.inputs[0])
    if p is None or p.op != "FusedConv" or p.attr("pool") or not _single_use(g, p.outputs[0]):
        return None
    pa, ca = attrs_of(n), attrs_of(p)
    if pa["kind"] not in kinds or (need_requant and ca["type"] is None):
        return None
    if pa["global_"]:
        if not allow_global:
            return None
    elif tuple(pa["dilations"]) != (1, 1):
        return None
    pool = {"pool": pa["kind"], "pool_global": bool(pa["global_"])}
    if not pa["global_"]:
        pool.update(pool_kernel=tuple(pa["kernel"]), pool_strides=tuple(pa["strides"]),
                    pool_pads=tuple(pa["pads"]), pool_ceil_mode=bool(pa["ceil_mode"]),
                    pool_count_include_pad=bool(pa["count_include_pad"]))
    at = {**p.attrs, **{k: v for k, v in pool.items() if v != POOL_ATTRS[k]}}
    return Rewrite([p, n], [p.with_(outputs=n.outputs, attrs=at)], {})


def _pool_fabric(g: Graph, n: Node) -> Rewrite | None:
    """FusedConv → max|avg Pool (windowed with dilation 1, or global)  ⇒  FusedConv{pool}."""
    return _pool_into_conv(g, n, ("max", "avg"), allow_global=True, need_requant=False)


def _pool_cpu(g: Graph, n: Node) -> Rewrite | None:
    """FusedConv(requantized) → windowed max Pool (dilation 1)  ⇒  FusedConv{pool=max}: the
    NEON library's fused ``ep_conv_maxpool``."""
    return _pool_into_conv(g, n, ("max",), allow_global=False, need_requant=True)


def fuse_conv_pool_fabric(g: Graph) -> Graph:
    """Fold max/avg pooling into the conv layer before it (the accelerator's fused pool)."""
    return apply_rules(g, [_pool_fabric], "fuse_conv_pool_fabric")


def fuse_conv_maxpool_cpu(g: Graph) -> Graph:
    """Fold windowed max pooling into the requantized conv before it (NEON ep_conv_maxpool)."""
    return apply_rules(g, [_pool_cpu], "fuse_conv_maxpool_cpu")


# --------------------------------------------------------------------------- fabric layers
def _wrap_product(g: Graph, n: Node) -> Rewrite | None:
    """A Conv / Gemm left without a Requant (its accumulator leaves the accelerator)
    ⇒ FusedConv / FusedGemm without ``type``: every accelerator layer is one fused node."""
    if not _fusable_product(g, n):
        return None
    return Rewrite([n], [Node(n.name, _FUSED[n.op], n.inputs, n.outputs, dict(n.attrs))], {})


def accumulator_layers(g: Graph) -> Graph:
    """Wrap the remaining fixed-point Conv / Gemm nodes as fused nodes of their own."""
    return apply_rules(g, [_wrap_product], "accumulator_layers")


# --------------------------------------------------------------------------- layouts
def _flatten_channels_last(g: Graph, n: Node) -> Rewrite | None:
    """Flatten(NCHW map) feeding only Gemm / FusedGemm (as A, constant B, trans_a 0)
    ⇒ Flatten{channels_last} and each Gemm's B rows permuted to (H, W, C) order, so a
    channels-last producer is flattened without a transpose."""
    if n.op != "Flatten" or attrs_of(n)["channels_last"] or n.outputs[0] in g.outputs:
        return None
    shape = g.values[n.inputs[0]].shape
    if len(shape) != 4 or attrs_of(n)["axis"] != 1:
        return None
    cons = g.consumers(n.outputs[0])
    if not cons or not all(c.op in ("Gemm", "FusedGemm") and c.inputs[0] == n.outputs[0]
                           and c.inputs[1] != n.outputs[0] and g.is_const(c.inputs[1])
                           and not attrs_of(c)["trans_a"] for c in cons):
        return None
    _, ch, h, w = shape
    new_nodes, consts = [], {}
    for c in cons:
        b = g.const(c.inputs[1])
        # reorder B's input axis from (C, H, W) to (H, W, C); reshape + transpose (one copy)
        # rather than a gather: VGG16's first FC weight has 4096 × 25088 entries
        if attrs_of(c)["trans_b"]:                                   # B is (N, K)
            bp = b.reshape(-1, ch, h, w).transpose(0, 2, 3, 1).reshape(b.shape)
        else:                                                        # B is (K, N)
            bp = b.reshape(ch, h, w, -1).transpose(1, 2, 0, 3).reshape(b.shape)
        name = fresh_name(g, f"{c.inputs[1]}_hwc", consts)
        consts[name] = (bp, g.values[c.inputs[1]].type)
        new_nodes.append(c.with_(inputs=(c.inputs[0], name) + tuple(c.inputs[2:])))
    flat = n.with_(attrs={**n.attrs, "channels_last": True})
    return Rewrite([n, *cons], [flat, *new_nodes], {}, consts)


def flatten_channels_last(g: Graph) -> Graph:
    """Flatten feature maps in stream (H, W, C) order; the Gemms after them absorb the order."""
    return apply_rules(g, [_flatten_channels_last], "flatten_channels_last")


def _conv_weights_ohwi(g: Graph, n: Node) -> Rewrite | None:
    """FusedConv{weight_layout=OIHW} ⇒ OHWI with the weight constant transposed."""
    if n.op != "FusedConv" or attrs_of(n)["weight_layout"] != "OIHW":
        return None
    w = n.inputs[1]
    name = fresh_name(g, f"{w}_ohwi")
    arr = np.transpose(g.const(w), (0, 2, 3, 1))          # a view: VGG16's weights are large
    node = n.with_(inputs=(n.inputs[0], name) + tuple(n.inputs[2:]),
                   attrs={**n.attrs, "weight_layout": "OHWI"})
    return Rewrite([n], [node], {}, {name: (arr, g.values[w].type)})


def conv_weights_ohwi(g: Graph) -> Graph:
    """Conv weights as (OC, KH, KW, IC): the order the accelerator's engines stream them."""
    return apply_rules(g, [_conv_weights_ohwi], "conv_weights_ohwi")


def _gemm_weights_rows(g: Graph, n: Node) -> Rewrite | None:
    """FusedGemm{trans_b=0} ⇒ trans_b=1 with B transposed: one weight row per output."""
    if n.op != "FusedGemm" or attrs_of(n)["trans_b"]:
        return None
    b = n.inputs[1]
    name = fresh_name(g, f"{b}_rows")
    node = n.with_(inputs=(n.inputs[0], name) + tuple(n.inputs[2:]),
                   attrs={**n.attrs, "trans_b": True})
    return Rewrite([n], [node], {}, {name: (g.const(b).T, g.values[b].type)})


def gemm_weights_rows(g: Graph) -> Graph:
    """Fully connected weights as (OUT, IN) rows: the accelerator's 1×1-conv layout."""
    return apply_rules(g, [_gemm_weights_rows], "gemm_weights_rows")
