# SPDX-License-Identifier: Apache-2.0
"""Lower a canonicalized fixed-point graph to an accelerator program (:class:`HwProgram`).

The transformations live in passes: :func:`edgepool.passes.pipelines.lower` (phases ``fuse``
and ``lower-fabric``) fuses Conv/Gemm + Requant(+ReLU) [+ max/avg Pool] into ``FusedConv`` /
``FusedGemm`` nodes, flattens feature maps in stream (H, W, C) order (the following Gemm's
weight columns permuted to match), and lays conv weights out as (OC, KH, KW, IC) and fully
connected weights as one row per output. What is left here is a 1:1 mapping of that graph:

* the input ``Quant`` and the output ``Dequant`` → the host's part (:class:`HostSplit`);
* ``FusedConv`` → a ``conv`` :class:`HwLayer` (with its fused pool), ``FusedGemm`` → a fully
  connected ``conv`` layer on a 1×1 map, a standalone max/avg ``Pool`` → a ``pool`` layer;
  a fused node without ``type`` outputs its accumulator (int32, or int64 words when it may
  exceed 32 bits);
* a channels-last ``Flatten`` → nothing (a stream is already flat in that order).

The layers must form a chain (each reads the previous one's output). Anything else raises
:class:`UnsupportedOpError` listing every node that cannot be lowered.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import UnsupportedOpError
from ..ir import kernels as K
from ..ir.graph import Graph, Node
from ..ir.ops import attrs_of, expand
from ..ir.qtype import QType
from ..passes.pipelines import lower
from .program import HostSplit, HwLayer, HwProgram, PoolSpec, run_reference

_HINT = ("the accelerator runs Conv/Gemm + Requant(+ReLU) + max/avg pooling chains; build this "
         "model for --target cortex-a53 (or x86), which runs every layer; see the README")
# why a node the fabric cannot run is refused (the generic message otherwise)
_WHY = {
    "Add": "a residual Add joins two streams; the accelerator runs one chain",
    "Requant": "a requantization not fused into a Conv/Gemm (it follows a non-MAC op, e.g. a "
               "residual Add)",
    "Affine": "a float head (scale / bias / global average to float) runs on the host CPU",
    "Quant": "a quantizer inside the graph (after a float op) runs on the host CPU",
}


def _hwc(g: Graph, value: str) -> tuple[int, int, int]:
    s = g.values[value].shape
    return (s[2], s[3], s[1]) if len(s) == 4 else (1, 1, int(np.prod(s[1:])))


def _pool_spec(kind: str, kernel, strides, pads, ceil_mode, count_include_pad, global_: bool,
               dilations, in_shape) -> PoolSpec | None:
    if kind not in ("max", "avg"):
        return None
    if global_:
        _, _, h, w = in_shape
        return PoolSpec(kind, (h, w), (h, w))
    if tuple(dilations) != (1, 1):
        return None
    return PoolSpec(kind, tuple(kernel), tuple(strides), tuple(pads), bool(ceil_mode),
                    bool(count_include_pad))


def _out_type(fused_type: QType | None, acc: QType) -> QType:
    """The requantized type, or the accumulator itself in 32-bit words (64 when it may not fit:
    16-bit models)."""
    if fused_type is not None:
        return fused_type
    return QType(32 if acc.bits <= 32 else 64, True, acc.frac)


def _conv_layer(g: Graph, n: Node, problems: list[str]) -> HwLayer | None:
    a = attrs_of(n)
    if int(a["groups"]) != 1:
        problems.append(f"node {n.name!r}: grouped / depthwise convolution "
                        f"(groups={a['groups']}) does not run on the accelerator "
                        "(HLS and RTL engines have groups 1); build for cortex-a53")
    if a["weight_layout"] != "OHWI":
        problems.append(f"node {n.name!r}: conv weights in {a['weight_layout']} order, the "
                        "accelerator streams OHWI (run the lower-fabric phase)")
        return None
    parts = expand(n, [g.values[i] for i in n.inputs])
    conv, (xin, wv, *_), (acc,) = parts[0]
    pool = None
    if a["pool"]:
        pool_node, (pin,), _ = parts[-1]
        pa = attrs_of(pool_node)
        pool = _pool_spec(pa["kind"], pa["kernel"], pa["strides"], pa["pads"], pa["ceil_mode"],
                          pa["count_include_pad"], pa["global_"], pa["dilations"], pin.shape)
    b = g.const(n.inputs[2]) if len(n.inputs) > 2 else None
    return HwLayer(
        n.name, "conv", _hwc(g, n.inputs[0]), _hwc(g, n.outputs[0]), xin.type,
        _out_type(a["type"], acc.type), kernel=tuple(wv.shape[2:]), stride=tuple(a["strides"]),
        pads=tuple(a["pads"]), dilation=tuple(a["dilations"]), groups=int(a["groups"]),
        weights=np.asarray(g.const(n.inputs[1]), np.int64), weight_type=wv.type,
        bias=None if b is None else np.asarray(b, np.int64), acc_frac=acc.type.frac,
        acc_bits=acc.type.bits, relu=bool(a["relu"]), pool=pool)


def _fc_layer(g: Graph, n: Node, problems: list[str]) -> HwLayer | None:
    a = attrs_of(n)
    if a["trans_a"] or not a["trans_b"]:
        problems.append(f"node {n.name!r}: fully connected weights must be one row per output "
                        "(trans_b=1, trans_a=0; run the lower-fabric phase)")
        return None
    src = g.producer(n.inputs[0])
    if src is not None and src.op == "Flatten" and not attrs_of(src)["channels_last"]:
        c, h, w = g.values[src.inputs[0]].shape[1:]
        if h * w != 1:
            problems.append(f"node {n.name!r}: its input is flattened in NCHW order, the "
                            "accelerator streams (H, W, C) (run the lower-fabric phase)")
            return None
    (_, (xin, wv, *_), (acc,)) = expand(n, [g.values[i] for i in n.inputs])[0]
    wm = np.asarray(g.const(n.inputs[1]), np.int64)                       # (OUT, IN)
    b = g.const(n.inputs[2]) if len(n.inputs) > 2 else None
    return HwLayer(
        n.name, "conv", (1, 1, wm.shape[1]), _hwc(g, n.outputs[0]), xin.type,
        _out_type(a["type"], acc.type), weights=wm[:, None, None, :], weight_type=wv.type,
        bias=None if b is None else np.asarray(b, np.int64).reshape(-1),
        acc_frac=acc.type.frac, acc_bits=acc.type.bits, relu=bool(a["relu"]), is_fc=True)


def _pool_layer(g: Graph, n: Node, problems: list[str]) -> HwLayer | None:
    a = attrs_of(n)
    t = g.values[n.inputs[0]].type
    spec = _pool_spec(a["kind"], a["kernel"], a["strides"], a["pads"], a["ceil_mode"],
                      a["count_include_pad"], a["global_"], a["dilations"],
                      g.values[n.inputs[0]].shape)
    if spec is None or t.is_float:
        problems.append(f"node {n.name!r}: pooling {a['kind']} with these attributes does not "
                        "run on the accelerator (max/avg, dilation 1)")
        return None
    return HwLayer(n.name, "pool", _hwc(g, n.inputs[0]), _hwc(g, n.outputs[0]), t, t, pool=spec)


def _flatten(g: Graph, n: Node, problems: list[str]) -> None:
    s, out = g.values[n.inputs[0]].shape, g.values[n.outputs[0]].shape
    if len(s) == len(out) == 2 or (n.op == "Flatten" and len(s) == 4 and len(out) == 2 and (
            attrs_of(n)["channels_last"] or s[2] * s[3] == 1)):
        return None
    problems.append(f"node {n.name!r}: {n.op} {list(s)} → {list(out)} is not a flatten the "
                    "accelerator understands (a channels-last Flatten of a feature map)")
    return None


_LAYERS: dict[str, Callable[[Graph, Node, list[str]], HwLayer | None]] = {
    "FusedConv": _conv_layer, "FusedGemm": _fc_layer, "Pool": _pool_layer,
    "Flatten": _flatten, "Reshape": _flatten,
}


def lower_to_hw(g: Graph) -> tuple[HwProgram, HostSplit]:
    """Lower ``g`` (canonicalized) to an :class:`HwProgram` plus the host's part: runs the
    ``fuse`` and ``lower-fabric`` phases, then maps the graph's nodes 1:1."""
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise UnsupportedOpError([f"graph has {len(g.inputs)} inputs and {len(g.outputs)} "
                                  "outputs; the accelerator streams one input to one output"])
    quants = g.consumers(g.inputs[0])
    if len(quants) != 1 or quants[0].op != "Quant":
        raise UnsupportedOpError(["the graph does not start with an input quantizer: only "
                                  "fixed-point models run on the accelerator"],
                                 "train with Brevitas fixed-point quantizers (edgepool train)")
    g = lower(g, "fabric")
    quant = g.consumers(g.inputs[0])[0]
    if len(quant.inputs) > 1 or quant.attr("bipolar"):
        raise UnsupportedOpError([f"node {quant.name!r}: the input quantizer has a float scale "
                                  "or bipolar codes; the host quantizes with power-of-two scales"],
                                 "keep this model on the CPU (cortex-a53) or the golden "
                                 "interpreter (thresholds and float heads have no accelerator "
                                 "kernel yet)")
    deq = g.producer(g.outputs[0])
    deq = deq if deq is not None and deq.op == "Dequant" else None
    problems: list[str] = []
    layers: list[HwLayer] = []
    stream = quant.outputs[0]                 # the value the accelerator streams next
    for n in g.nodes:
        if n is quant or n is deq:
            continue
        if n.inputs[0] != stream:
            problems.append(f"node {n.name!r} ({n.op}) reads {n.inputs[0]!r}, not the output "
                            f"of the layer before it: the accelerator runs a chain")
        stream = n.outputs[0]
        mapping = _LAYERS.get(n.op)
        if mapping is None:
            why = _WHY.get(n.op)
            problems.append(f"node {n.name!r}: op {n.op} does not run on the accelerator"
                            + (f" ({why})" if why else ""))
            continue
        layer = mapping(g, n, problems)
        if layer is not None:
            layers.append(layer)
    if problems:
        raise UnsupportedOpError(problems, _HINT)
    if not layers:
        raise UnsupportedOpError(["the graph has no layer for the accelerator"])
    if stream != (deq.inputs[0] if deq is not None else g.outputs[0]):
        raise UnsupportedOpError([f"the chain ends at {stream!r}, not at the graph output"],
                                 _HINT)
    host = HostSplit(g.inputs[0], quant.attrs["type"], g.outputs[0], layers[-1].out_type,
                     deq is not None, tuple(g.values[g.outputs[0]].shape))
    return HwProgram(g.name, tuple(layers)), host


def run_lowered(program: HwProgram, host: HostSplit, x: np.ndarray) -> np.ndarray:
    """Golden model of graph-through-accelerator: host quantize, program per image, host
    dequantize. Must equal the interpreter on the graph (tested)."""

    codes = K.quantize(np.asarray(x, np.float32), host.input_type)
    outs = [unstream_output(run_reference(program, np.moveaxis(img, 0, -1)), host)
            for img in codes]
    y = np.stack(outs)
    return K.dequantize(y, host.output_type) if host.dequantize else y


def unstream_output(y_hwc: np.ndarray, host: HostSplit) -> np.ndarray:
    """One image's accelerator output (H, W, C) → the graph's layout without batch axis."""
    shape = host.output_shape[1:]
    if len(shape) == 3:
        return np.moveaxis(np.asarray(y_hwc).reshape(shape[1], shape[2], shape[0]), -1, 0)
    return np.asarray(y_hwc).reshape(shape)
