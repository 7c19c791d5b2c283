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
* a channels-last ``Flatten`` → nothing (a stream is already flat in that order);
* a ``Threshold`` reading an accumulator layer (a conv / fully connected layer without
  requantize) → that layer's comparator stage (:attr:`HwLayer.thresholds`, MAC array then
  comparators), its table clamped to the accumulator's range; a max/avg ``Pool`` after it is
  fused into the same layer.

:func:`lower_chain` maps the integer chain between two values of a fabric-lowered graph (how a
host keeps a float input transform and a float head, e.g. Brevitas's bnn_pynq networks);
:func:`lower_to_hw` the whole graph between its input quantizer and its output.

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
from .program import HostSplit, HwLayer, HwProgram, PoolSpec, clamp_thresholds, run_reference

_HINT = ("the accelerator runs Conv/Gemm + Requant(+ReLU) or Threshold + max/avg pooling chains; "
         "ultra96 / zcu104 builds place the rest on their Cortex-A53 (the PYNQ-Z2's Cortex-A9 "
         "has no TVM runtime: fabric only), --target cortex-a53 runs every layer on the CPU; "
         "see the README")
#: widest threshold table the comparator stages (HLS, RTL, NEON) take
MAX_THRESHOLD_TABLE_BITS = 32
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


def _bits_of(lo: int, hi: int) -> int:
    """Two's complement bits holding every integer in [lo, hi]."""
    return max(int(lo).bit_length(), int(hi).bit_length()) + 1


def _threshold_stage(g: Graph, n: Node, prev: HwLayer, problems: list[str]) -> HwLayer | None:
    """``prev`` (an accumulator layer) with the comparator stage of Threshold node ``n``."""
    a = attrs_of(n)
    if prev.thresholds is not None or prev.pool is not None or not _is_accumulator(prev):
        problems.append(f"node {n.name!r}: Threshold must read a conv / fully connected "
                        "layer's accumulator directly (no requantize or pool in between)")
        return None
    t = g.const(n.inputs[1])
    d = g.const(n.inputs[2]) if len(n.inputs) > 2 else None
    if t is None or (len(n.inputs) > 2 and d is None):
        problems.append(f"node {n.name!r}: thresholds computed at run time (the fabric "
                        "stores constant tables)")
        return None
    oc = prev.out_shape[2]
    t = np.broadcast_to(np.asarray(t, np.int64), (oc, np.shape(t)[1])).copy()
    d = np.ones(oc, np.int64) if d is None else np.broadcast_to(
        np.asarray(d, np.int64), (oc,)).copy()
    acc_t = g.values[n.inputs[0]].type
    t = clamp_thresholds(t, d, acc_t.min, acc_t.max)
    bits = _bits_of(int(t.min()), int(t.max()))
    if bits > MAX_THRESHOLD_TABLE_BITS:
        problems.append(f"node {n.name!r}: its threshold table needs {bits} bits (accumulator "
                        f"{acc_t}); the fabric's comparators take at most "
                        f"{MAX_THRESHOLD_TABLE_BITS}-bit thresholds: use fewer weight / "
                        "activation bits for the layer before it, or keep this layer on the "
                        "CPU (cortex-a53)")
        return None
    out_t = a["type"]
    return prev.with_(out_type=out_t, thresholds=t, threshold_dir=d,
                      bipolar=bool(a["bipolar"]), meta={**prev.meta, "threshold": n.name})


def _is_accumulator(layer: HwLayer) -> bool:
    return layer.kind == "conv" and layer.out_type.frac == layer.acc_frac and \
        layer.out_type.bits >= 32 and not layer.relu


def _bipolar_source(g: Graph, value: str) -> bool:
    """Whether every code of ``value`` is ±1: a bipolar quantizer or threshold made it, or a
    max pool / flatten of such codes."""
    p = g.producer(value)
    while p is not None and (p.op in ("Flatten", "Reshape") or (
            p.op == "Pool" and attrs_of(p)["kind"] == "max")):
        p = g.producer(p.inputs[0])
    return p is not None and p.op in ("Quant", "Threshold") and bool(p.attr("bipolar"))


def _float_problem(g: Graph, n: Node) -> str | None:
    """The message for a float op on the fabric path, or None for an integer op."""
    if any(g.values[o].type.is_float for o in n.outputs):
        return (f"node {n.name!r} ({n.op}) computes in float: the fabric runs integer layers "
                "only; keep this layer on the CPU (build for cortex-a53, or let the host run "
                "it) or quantize its output")
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
        first = ", ".join(f"{n.name!r} ({n.op})" for n in quants)
        raise UnsupportedOpError(["the graph does not start with an input quantizer (the input "
                                  f"goes to {first}): only fixed-point models run on the "
                                  "accelerator"],
                                 "train with Brevitas fixed-point quantizers (edgepool train), "
                                 "or keep the float input transform on the host and build for "
                                 "cortex-a53")
    g = lower(g, "fabric")
    quant = g.consumers(g.inputs[0])[0]
    if len(quant.inputs) > 1 or quant.attr("bipolar"):
        raise UnsupportedOpError([f"node {quant.name!r}: the input quantizer has a float scale "
                                  "or bipolar codes; the host quantizes with power-of-two scales"],
                                 "keep this model on the CPU (cortex-a53); a float input "
                                 "transform or head stays on the host (the fabric runs the "
                                 "integer chain between them, accel.lower.lower_chain)")
    deq = g.producer(g.outputs[0])
    deq = deq if deq is not None and deq.op == "Dequant" else None
    layers = lower_chain(g, quant.outputs[0], deq.inputs[0] if deq is not None else g.outputs[0],
                         skip=(quant, deq))
    host = HostSplit(g.inputs[0], quant.attrs["type"], g.outputs[0], layers[-1].out_type,
                     deq is not None, tuple(g.values[g.outputs[0]].shape))
    return HwProgram(g.name, tuple(layers)), host


def lower_chain(g: Graph, start: str, end: str, skip=()) -> list[HwLayer]:
    """The hardware layers of the chain of nodes from value ``start`` to value ``end`` of the
    fabric-lowered graph ``g`` (nodes in ``skip`` are the host's). Raises
    :class:`UnsupportedOpError` listing every node that cannot be lowered."""
    problems: list[str] = []
    layers: list[HwLayer] = []
    stream = start                            # the value the accelerator streams next
    started = False
    for n in g.nodes:
        if any(n is s for s in skip):
            continue
        if started and stream == end:
            break
        if not started:                       # nodes before the chain belong to the host
            if n.inputs and n.inputs[0] == start:
                started = True
            else:
                continue
        if n.inputs[0] != stream:
            problems.append(f"node {n.name!r} ({n.op}) reads {n.inputs[0]!r}, not the output "
                            f"of the layer before it: the accelerator runs a chain")
        stream = n.outputs[0]
        if n.op == "Threshold" and layers:
            layer = _threshold_stage(g, n, layers[-1], problems)
            if layer is not None:
                layers[-1] = layer
            continue
        if n.op == "Pool" and layers and layers[-1].thresholds is not None \
                and layers[-1].pool is None and len(g.consumers(n.inputs[0])) == 1:
            fused = _pool_layer(g, n, problems)
            if fused is not None:
                layers[-1] = layers[-1].with_(pool=fused.pool, out_shape=fused.out_shape)
            continue
        mapping = _LAYERS.get(n.op)
        if mapping is None:
            why = _WHY.get(n.op)
            problems.append(_float_problem(g, n) or
                            f"node {n.name!r}: op {n.op} does not run on the accelerator"
                            + (f" ({why})" if why else ""))
            continue
        layer = mapping(g, n, problems)
        if layer is not None:
            if layer.kind == "conv" and _bipolar_source(g, n.inputs[0]):
                layer = layer.with_(in_bipolar=True)
            layers.append(layer)
    if problems:
        raise UnsupportedOpError(problems, _HINT)
    if not layers:
        raise UnsupportedOpError(["the graph has no layer for the accelerator"])
    if stream != end:
        raise UnsupportedOpError([f"the chain ends at {stream!r}, not at {end!r}"], _HINT)
    return layers


def lower_segment(g: Graph) -> tuple[HwProgram, HostSplit]:
    """Lower a fabric *segment* of a partitioned graph (:mod:`edgepool.tvm.placement`): one
    fixed-point input already quantized (the boundary tensor the CPU hands over) streamed
    through a chain to one fixed-point output (no host quantize / dequantize). The host split
    names the boundary values and their types."""
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise UnsupportedOpError([f"segment has {len(g.inputs)} inputs and {len(g.outputs)} "
                                  "outputs; the accelerator streams one input to one output"])
    g = lower(g, "fabric")
    t = g.values[g.inputs[0]].type
    if t.is_float:
        raise UnsupportedOpError([f"segment input {g.inputs[0]!r} is float; the accelerator "
                                  "streams fixed-point codes"])
    layers = lower_chain(g, g.inputs[0], g.outputs[0])
    host = HostSplit(g.inputs[0], t, g.outputs[0], layers[-1].out_type, False,
                     tuple(g.values[g.outputs[0]].shape))
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
