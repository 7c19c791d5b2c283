# SPDX-License-Identifier: Apache-2.0
"""Lower a canonicalized fixed-point graph to an accelerator program (:class:`HwProgram`).

Contract: the graph is ``Quant → core → [Dequant]`` where the core is a chain of
``Conv → Requant(+relu) [→ Pool]``, standalone fixed-point ``Pool`` (max/avg, windowed or global),
``Flatten`` and ``Gemm [→ Requant]``. The input ``Quant`` and the output ``Dequant`` stay on the
host (the driver does them); everything else becomes :class:`HwLayer` s in stream order (H, W, C):
conv weights are transposed to (OC, KH, KW, IC), and a Gemm after a Flatten gets its weight
columns permuted from NCHW-flatten order to the stream's HWC order. A final Gemm without Requant
outputs its accumulator (int32, or int64 words when it may exceed 32 bits).

Anything else raises :class:`UnsupportedOpError` listing every node that cannot be lowered.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOpError
from ..ir import kernels as K
from ..ir.graph import Graph, Node
from ..ir.ops import attrs_of
from ..ir.qtype import QType
from .program import HostSplit, HwLayer, HwProgram, PoolSpec, run_reference


def _pool_spec(n: Node, in_shape) -> PoolSpec | None:
    a = attrs_of(n)
    if a["kind"] not in ("max", "avg"):
        return None
    if a["global_"]:
        _, _, h, w = in_shape
        return PoolSpec(a["kind"], (h, w), (h, w))
    if tuple(a["dilations"]) != (1, 1):
        return None
    return PoolSpec(a["kind"], tuple(a["kernel"]), tuple(a["strides"]), tuple(a["pads"]),
                    bool(a["ceil_mode"]), bool(a["count_include_pad"]))


def lower_to_hw(g: Graph) -> tuple[HwProgram, HostSplit]:
    """Lower ``g`` (canonicalized) to an :class:`HwProgram` plus the host's part."""
    problems: list[str] = []
    nodes = list(g.nodes)
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise UnsupportedOpError([f"graph has {len(g.inputs)} inputs and {len(g.outputs)} "
                                  "outputs; the accelerator streams one input to one output"])
    if not nodes or nodes[0].op != "Quant":
        raise UnsupportedOpError(["the graph does not start with an input quantizer: only "
                                  "fixed-point models run on the accelerator"],
                                 "train with Brevitas fixed-point quantizers (edgepool train)")
    quant = nodes.pop(0)
    if len(quant.inputs) > 1 or quant.attr("bipolar"):
        raise UnsupportedOpError([f"node {quant.name!r}: the input quantizer has a float scale "
                                  "or bipolar codes; the host quantizes with power-of-two scales"],
                                 "keep this model on the golden interpreter (thresholds and "
                                 "float heads have no accelerator kernel yet)")
    deq = None
    if nodes and nodes[-1].op == "Dequant":
        deq = nodes.pop()
    layers: list[HwLayer] = []
    flat_from: tuple[int, int, int] | None = None    # (C, H, W) of a flattened map
    i = 0

    def shape_hwc(value: str) -> tuple[int, int, int]:
        s = g.values[value].shape
        if len(s) == 4:
            return (s[2], s[3], s[1])
        return (1, 1, int(np.prod(s[1:])))

    while i < len(nodes):
        n = nodes[i]
        nxt = nodes[i + 1] if i + 1 < len(nodes) else None
        if n.op in ("Conv", "Gemm"):
            xin = g.values[n.inputs[0]]
            acc = g.values[n.outputs[0]]
            w = g.const(n.inputs[1])
            b = g.const(n.inputs[2]) if len(n.inputs) > 2 else None
            wt = g.values[n.inputs[1]].type
            if n.op == "Conv":
                a = attrs_of(n)
                if int(a["groups"]) != 1:
                    problems.append(f"node {n.name!r}: grouped / depthwise convolution "
                                    f"(groups={a['groups']}) does not run on the accelerator "
                                    "(HLS and RTL engines have groups 1); build for cortex-a53")
                weights = np.transpose(w, (0, 2, 3, 1))
                kw = dict(kernel=tuple(w.shape[2:]), stride=tuple(a["strides"]),
                          pads=tuple(a["pads"]), dilation=tuple(a["dilations"]),
                          groups=int(a["groups"]))
                in_shape = shape_hwc(n.inputs[0])
                is_fc = False
            else:
                a = attrs_of(n)
                wm = w.T if not a["trans_b"] else w                  # (OUT, IN)
                if flat_from is not None:
                    c, h, ww = flat_from
                    wm = wm.reshape(-1, c, h, ww).transpose(0, 2, 3, 1).reshape(wm.shape[0], -1)
                weights = wm[:, None, None, :]
                kw = {}
                in_shape = (1, 1, wm.shape[1])
                is_fc = True
            requant = nxt if (nxt is not None and nxt.op == "Requant"
                              and nxt.inputs[0] == n.outputs[0]) else None
            if requant is not None:
                out_t, relu, last_val = requant.attrs["type"], bool(requant.attr("relu")), \
                    requant.outputs[0]
                i += 2
            else:
                # the accumulator itself leaves the accelerator: 32-bit words, or 64-bit ones
                # when it may not fit (16-bit models)
                out_t = QType(32 if acc.type.bits <= 32 else 64, True, acc.type.frac)
                relu, last_val = False, n.outputs[0]
                i += 1
            pool = None
            if i < len(nodes) and nodes[i].op == "Pool" and nodes[i].inputs[0] == last_val \
                    and not is_fc:
                pool = _pool_spec(nodes[i], g.values[last_val].shape)
                if pool is not None:
                    last_val = nodes[i].outputs[0]
                    i += 1
            layers.append(HwLayer(
                n.name, "conv", in_shape, shape_hwc(last_val), xin.type, out_t,
                weights=np.asarray(weights, np.int64), weight_type=wt,
                bias=None if b is None else np.asarray(b, np.int64), acc_frac=acc.type.frac,
                acc_bits=acc.type.bits, relu=relu, pool=pool, is_fc=is_fc, **kw))
            flat_from = None
            continue
        if n.op == "Pool":
            spec = _pool_spec(n, g.values[n.inputs[0]].shape)
            t = g.values[n.inputs[0]].type
            if spec is None or t.is_float:
                problems.append(f"node {n.name!r}: pooling {attrs_of(n)['kind']} with these "
                                "attributes does not run on the accelerator (max/avg, dilation 1)")
            else:
                layers.append(HwLayer(n.name, "pool", shape_hwc(n.inputs[0]),
                                      shape_hwc(n.outputs[0]), t, t, pool=spec))
            i += 1
            continue
        if n.op in ("Flatten", "Reshape"):
            s = g.values[n.inputs[0]].shape
            out = g.values[n.outputs[0]].shape
            if len(s) == 4 and len(out) == 2 and out[1] == s[1] * s[2] * s[3]:
                flat_from = (s[1], s[2], s[3])
            elif len(s) == len(out) == 2:
                pass
            else:
                problems.append(f"node {n.name!r}: {n.op} {list(s)} → {list(out)} is not a "
                                "flatten the accelerator understands")
            i += 1
            continue
        problems.append(f"node {n.name!r}: op {n.op} does not run on the accelerator")
        i += 1
    if problems:
        raise UnsupportedOpError(problems, "the accelerator runs Conv/Gemm + Requant(+ReLU) + "
                                           "max/avg pooling chains; see the README")
    if not layers:
        raise UnsupportedOpError(["the graph has no layer for the accelerator"])
    out_value = deq.inputs[0] if deq is not None else g.outputs[0]
    host = HostSplit(g.inputs[0], quant.attrs["type"], g.outputs[0], layers[-1].out_type,
                     deq is not None, tuple(g.values[g.outputs[0]].shape))
    if out_value not in g.values:
        raise UnsupportedOpError([f"output {out_value!r} not found"])
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
