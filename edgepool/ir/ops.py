# SPDX-License-Identifier: Apache-2.0
"""The operator set. Each op declares everything about itself in one place: its attributes with
defaults, its shape-and-type rule, its reference semantics (on NumPy arrays, used by the golden
interpreter) and its cost (multiply-accumulates).

Integer semantics live in :mod:`edgepool.ir.kernels`; this module only dispatches to them.
Fixed-point inputs are int64 arrays of codes; float values are float32 arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ShapeError, VerifyError
from . import kernels as K
from .graph import Node, Value
from .qtype import FLOAT, QType, accumulator_bits

InferFn = Callable[[Node, Sequence[Value], Sequence["np.ndarray | None"]],
                   list[tuple[tuple[int, ...], QType]]]
EvalFn = Callable[[Node, Sequence[np.ndarray], Sequence[Value], Sequence[Value]], list[np.ndarray]]


@dataclass(frozen=True)
class OpDef:
    """Declaration of one op: attribute defaults, shape/type rule, reference semantics, cost."""

    name: str
    doc: str
    attrs: dict[str, Any]
    num_inputs: tuple[int, int]            # (min, max)
    infer: InferFn
    eval: EvalFn
    macs: Callable[[Node, Sequence[Value], Sequence[Value]], int] = lambda n, i, o: 0
    # comparisons (MAC-free ops such as Threshold): a separate cost, never counted as MACs
    compares: Callable[[Node, Sequence[Value], Sequence[Value]], int] = lambda n, i, o: 0


OPS: dict[str, OpDef] = {}


def register(op: OpDef) -> OpDef:
    OPS[op.name] = op
    return op


def attrs_of(node: Node) -> dict[str, Any]:
    """The node's attributes with the op's defaults filled in."""
    return {**OPS[node.op].attrs, **node.attrs}


def _is_int(v: Value) -> bool:
    return not v.type.is_float


def _as_int(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.int64)


# --------------------------------------------------------------------------- quantization
def _infer_quant(node, ins, consts):
    return [(ins[0].shape, node.attrs["type"])]


def _eval_quant(n, a, i, o):
    at = attrs_of(n)
    if len(a) > 1 or at["bipolar"]:
        scale = a[1] if len(a) > 1 else np.ones(())
        return [K.quantize_scaled(a[0], scale, at["type"], at["bipolar"])]
    return [K.quantize(a[0], at["type"])]


register(OpDef(
    "Quant", "float → fixed point: clamp(round_half_even(x · 2^frac)) into attr `type`. With a "
    "second input `scale` (float constant, per tensor or per channel (C,) along axis 1): "
    "clamp(round_half_even(x / scale · 2^frac)) (QONNX Quant with any float scale; the codes' "
    "real value is code · scale · 2^-frac). `bipolar`: QONNX BipolarQuant, +1 if x >= 0 else −1 "
    "(type i2n).",
    {"type": None, "bipolar": False}, (1, 2), _infer_quant, _eval_quant,
))

register(OpDef(
    "Dequant", "fixed point → float32: code · 2^-frac.",
    {}, (1, 1), lambda n, ins, c: [(ins[0].shape, FLOAT)],
    lambda n, a, i, o: [K.dequantize(a[0], i[0].type)],
))


def _infer_requant(node, ins, consts):
    if not _is_int(ins[0]):
        raise VerifyError(f"{node.name}: Requant needs a fixed-point input, got f32")
    return [(ins[0].shape, node.attrs["type"])]


register(OpDef(
    "Requant", "fixed point → fixed point of attr `type`: shift by (in.frac − type.frac) with "
    "round-half-even, optional ReLU (attr `relu`), saturate.",
    {"type": None, "relu": False}, (1, 1), _infer_requant,
    lambda n, a, i, o: [K.requantize(a[0], i[0].type.frac, n.attrs["type"],
                                     bool(n.attrs.get("relu", False)))],
))


# --------------------------------------------------------------------------- convolution
def _conv_out(node, x: Value, w: Value) -> tuple[int, ...]:
    at = attrs_of(node)
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    if c != cg * at["groups"] or m % at["groups"]:
        raise ShapeError(f"{node.name}: input has {c} channels, weight {w.shape} with "
                         f"groups={at['groups']}")
    pt, pl, pb, pr = at["pads"]
    oh = K.pool_output_size(h, kh, at["strides"][0], pt, pb, at["dilations"][0], False)
    ow = K.pool_output_size(wd, kw, at["strides"][1], pl, pr, at["dilations"][1], False)
    return (n, m, oh, ow)


def _infer_conv(node, ins, consts):
    x, w = ins[0], ins[1]
    if len(x.shape) != 4 or len(w.shape) != 4:
        raise ShapeError(f"{node.name}: Conv needs 4-D input and weight, got {x.shape}, {w.shape}")
    shape = _conv_out(node, x, w)
    if not _is_int(x):
        return [(shape, FLOAT)]
    terms = w.shape[1] * w.shape[2] * w.shape[3]
    bits = accumulator_bits(x.type, w.type, terms, ins[2].type if len(ins) > 2 else None)
    return [(shape, QType(bits, True, x.type.frac + w.type.frac))]


def _eval_conv(n, a, i, o):
    at = attrs_of(n)
    if o[0].type.is_float:
        x, w = np.asarray(a[0], np.float32), np.asarray(a[1], np.float32)
        b = None if len(a) < 3 else np.asarray(a[2], np.float32)
    else:
        x, w = _as_int(a[0]), _as_int(a[1])
        b = None if len(a) < 3 else _as_int(a[2])
    return [K.conv2d(x, w, b, at["strides"], at["pads"], at["dilations"], at["groups"])]


def _macs_conv(n, ins, outs):
    m, cg, kh, kw = ins[1].shape
    return int(np.prod(outs[0].shape)) * cg * kh * kw


register(OpDef(
    "Conv", "2-D convolution (ONNX Conv, NCHW); fixed point accumulates exactly at "
    "in.frac + w.frac, bias already at that frac.",
    {"strides": (1, 1), "pads": (0, 0, 0, 0), "dilations": (1, 1), "groups": 1}, (2, 3),
    _infer_conv, _eval_conv, _macs_conv,
))


# --------------------------------------------------------------------------- pooling family
def _infer_pool(node, ins, consts):
    at = attrs_of(node)
    x = ins[0]
    if len(x.shape) != 4:
        raise ShapeError(f"{node.name}: pooling needs a 4-D NCHW input, got {x.shape}")
    n, c, h, w = x.shape
    if at["kind"] not in ("max", "avg", "lp"):
        raise VerifyError(f"{node.name}: unknown pooling kind {at['kind']!r}")
    if at["global_"]:
        shape = (n, c, 1, 1)
    else:
        (kh, kw), (sh, sw), (dh, dw) = at["kernel"], at["strides"], at["dilations"]
        pt, pl, pb, pr = at["pads"]
        try:
            shape = (n, c, K.pool_output_size(h, kh, sh, pt, pb, dh, at["ceil_mode"]),
                     K.pool_output_size(w, kw, sw, pl, pr, dw, at["ceil_mode"]))
        except ValueError as e:
            raise ShapeError(f"{node.name}: {e}") from None
        if at["kind"] == "max" and not x.type.is_float and K.empty_windows(
                (h, w), at["kernel"], at["strides"], at["pads"], at["dilations"],
                at["ceil_mode"]):
            raise ShapeError(f"{node.name}: a max-pool window covers only padding (dilation "
                             "too large for the input): undefined in fixed point")
    if at["kind"] == "lp":
        return [(shape, FLOAT)]
    return [(shape, x.type)]


def _eval_pool(n, a, i, o):
    at = attrs_of(n)
    x = a[0] if i[0].type.is_float else _as_int(a[0])
    kind = at["kind"]
    if kind == "lp" and not i[0].type.is_float:
        x = K.dequantize(x, i[0].type)
    if at["global_"]:
        if kind == "lp":
            y = (np.abs(x.astype(np.float64)) ** at["p"]).sum(axis=(2, 3), keepdims=True)
            return [(y ** (1.0 / at["p"])).astype(np.float32)]
        return [K.global_pool(x, kind)]
    args = (x, at["kernel"], at["strides"], at["pads"], at["dilations"], at["ceil_mode"])
    if kind == "max":
        return [K.max_pool(*args)]
    if kind == "avg":
        return [K.avg_pool(*args, count_include_pad=at["count_include_pad"])]
    return [K.lp_pool(*args, p=at["p"]).astype(np.float32)]


register(OpDef(
    "Pool", "The pooling family: attr `kind` ∈ {max, avg, lp}; windowed (ONNX MaxPool / "
    "AveragePool / LpPool attributes) or `global_` over the whole map. Fixed-point max and avg "
    "keep the input type (avg divides the exact sum, rounding half to even); lp is float.",
    {"kind": "max", "kernel": (1, 1), "strides": (1, 1), "pads": (0, 0, 0, 0),
     "dilations": (1, 1), "ceil_mode": False, "count_include_pad": False, "p": 2.0,
     "global_": False}, (1, 1), _infer_pool, _eval_pool,
))


# --------------------------------------------------------------------------- dense
def _infer_gemm(node, ins, consts):
    at = attrs_of(node)
    a, b = ins[0], ins[1]
    if len(a.shape) != 2 or len(b.shape) != 2:
        raise ShapeError(f"{node.name}: Gemm needs 2-D operands, got {a.shape} and {b.shape}")
    m, k = a.shape[::-1] if at["trans_a"] else a.shape
    k2, nn = b.shape[::-1] if at["trans_b"] else b.shape
    if k != k2:
        raise ShapeError(f"{node.name}: Gemm inner dimensions differ ({k} vs {k2})")
    if a.type.is_float:
        return [((m, nn), FLOAT)]
    bits = accumulator_bits(a.type, b.type, k, ins[2].type if len(ins) > 2 else None)
    return [((m, nn), QType(bits, True, a.type.frac + b.type.frac))]


def _eval_gemm(n, a, i, o):
    at = attrs_of(n)
    c = a[2] if len(a) > 2 else None
    if o[0].type.is_float:
        return [K.gemm(np.float32(a[0]), np.float32(a[1]), c, at["trans_a"], at["trans_b"],
                       at["alpha"], at["beta"])]
    return [K.gemm(_as_int(a[0]), _as_int(a[1]), None if c is None else _as_int(c),
                   at["trans_a"], at["trans_b"])]


register(OpDef(
    "Gemm", "Y = A·B (+ C), ONNX Gemm (MatMul imports as Gemm); fixed point accumulates exactly.",
    {"trans_a": False, "trans_b": False, "alpha": 1.0, "beta": 1.0}, (2, 3),
    _infer_gemm, _eval_gemm,
    lambda n, ins, outs: int(np.prod(outs[0].shape)) * (
        ins[0].shape[0] if attrs_of(n)["trans_a"] else ins[0].shape[1]),
))


# --------------------------------------------------------------------------- elementwise, shape
register(OpDef(
    "Relu", "max(x, 0); keeps the type.", {}, (1, 1),
    lambda n, ins, c: [(ins[0].shape, ins[0].type)],
    lambda n, a, i, o: [np.maximum(a[0], 0).astype(a[0].dtype)],
))


def _infer_add(node, ins, consts):
    a, b = ins
    try:
        shape = tuple(np.broadcast_shapes(a.shape, b.shape))
    except ValueError:
        raise ShapeError(f"{node.name}: cannot broadcast {a.shape} with {b.shape}") from None
    if a.type.is_float or b.type.is_float:
        if a.type.is_float != b.type.is_float:
            raise VerifyError(f"{node.name}: Add mixes fixed point and float")
        return [(shape, FLOAT)]
    frac = max(a.type.frac, b.type.frac)
    bits = max(a.type.bits + frac - a.type.frac, b.type.bits + frac - b.type.frac) + 1
    return [(shape, QType(min(bits, 64), True, frac))]


def _eval_add(n, a, i, o):
    if o[0].type.is_float:
        return [(np.asarray(a[0], np.float32) + np.asarray(a[1], np.float32))]
    f = o[0].type.frac
    return [K.align(a[0], i[0].type.frac, f) + K.align(a[1], i[1].type.frac, f)]


register(OpDef("Add", "a + b; fixed point aligns both to the larger frac (exact).", {}, (2, 2),
               _infer_add, _eval_add))


def _infer_flatten(node, ins, consts):
    at = attrs_of(node)
    ax = at["axis"]
    s = ins[0].shape
    ax = ax if ax >= 0 else ax + len(s)
    if at["channels_last"] and (len(s) != 4 or ax != 1):
        raise ShapeError(f"{node.name}: a channels-last Flatten needs a 4-D input and axis 1, "
                         f"got {s} and axis {at['axis']}")
    return [((int(np.prod(s[:ax])), int(np.prod(s[ax:]))), ins[0].type)]


def _eval_flatten(n, a, i, o):
    x = a[0]
    if attrs_of(n)["channels_last"]:
        x = np.moveaxis(x, 1, -1)            # N, H, W, C: the order a feature-map stream has
    return [_batch_reshape(np.ascontiguousarray(x), i[0].shape, o[0].shape)]


def _batch_reshape(x: np.ndarray, static: tuple[int, ...], target: tuple[int, ...]) -> np.ndarray:
    """Reshape for a batch that may differ from the static one (the interpreter runs batches)."""
    if x.shape[0] != static[0] and target and target[0] == static[0]:
        return x.reshape((x.shape[0],) + tuple(target[1:]))
    return x.reshape(target)


register(OpDef(
    "Flatten", "ONNX Flatten (NCHW order); with `channels_last` a 4-D map is flattened in "
    "(H, W, C) order instead (the order of a feature-map stream; set by a layout pass that "
    "permutes the consuming Gemm's weights to match).", {"axis": 1, "channels_last": False},
    (1, 1), _infer_flatten, _eval_flatten,
))

register(OpDef(
    "Reshape", "Reshape to attr `shape` (static, resolved at import).", {"shape": ()}, (1, 1),
    lambda n, ins, c: [(tuple(n.attrs["shape"]), ins[0].type)],
    lambda n, a, i, o: [_batch_reshape(a[0], i[0].shape, o[0].shape)],
))


# --------------------------------------------------------------------------- fused ops
# Created by the passes of the ``fuse`` / ``lower-*`` phases (edgepool.passes.fusion) so that a
# back end maps one node to one kernel or hardware layer. Each is *defined* as the chain of
# primitive nodes it replaces (:func:`fused_parts`): its shape rule, golden semantics and MACs
# run those parts through their own OpDefs, so the fused semantics are the composition of the
# existing kernels by construction.
POOL_ATTRS = {"pool": "", "pool_kernel": (1, 1), "pool_strides": (1, 1),
              "pool_pads": (0, 0, 0, 0), "pool_ceil_mode": False,
              "pool_count_include_pad": False, "pool_global": False}
WEIGHT_LAYOUTS = ("OIHW", "OHWI")


def _requant_part(node: Node, at: dict[str, Any], x: str, out: str) -> list[Node]:
    if at["type"] is None:
        return []
    return [Node(f"{node.name}.requant", "Requant", (x,), (out,),
                 {"type": at["type"], "relu": bool(at["relu"])})]


def fused_parts(node: Node) -> list[Node]:
    """The primitive nodes a fused node stands for, in order. Internal values are named
    ``<output>.acc`` (the exact accumulator) and ``<output>.rq`` (requantized, before a pool);
    a conv weight in ``OHWI`` layout is read as ``<weight>.oihw`` (see :func:`expand`)."""
    at = attrs_of(node)
    out = node.outputs[0]
    if node.op == "FusedGemm":
        acc = f"{out}.acc" if at["type"] is not None else out
        gemm = Node(f"{node.name}.gemm", "Gemm", node.inputs, (acc,),
                    {k: at[k] for k in ("trans_a", "trans_b", "alpha", "beta")})
        return [gemm] + _requant_part(node, at, acc, out)
    if node.op != "FusedConv":
        return [node]
    pooled = bool(at["pool"])
    rq_out = f"{out}.rq" if pooled else out
    acc = f"{out}.acc" if at["type"] is not None else rq_out
    w = node.inputs[1] + (".oihw" if at["weight_layout"] == "OHWI" else "")
    conv = Node(f"{node.name}.conv", "Conv", (node.inputs[0], w) + tuple(node.inputs[2:]),
                (acc,), {k: at[k] for k in ("strides", "pads", "dilations", "groups")})
    parts = [conv] + _requant_part(node, at, acc, rq_out)
    if pooled:
        parts.append(Node(f"{node.name}.pool", "Pool", (rq_out,), (out,), {
            "kind": at["pool"], "kernel": at["pool_kernel"], "strides": at["pool_strides"],
            "pads": at["pool_pads"], "ceil_mode": at["pool_ceil_mode"],
            "count_include_pad": at["pool_count_include_pad"], "global_": at["pool_global"]}))
    return parts


def expand(node: Node, ins: Sequence[Value]) -> list[tuple[Node, list[Value], list[Value]]]:
    """:func:`fused_parts` with every part's input and output :class:`Value` (intermediate
    shapes and types by the parts' own rules). ``ins`` are the fused node's input values."""
    env = {n: v for n, v in zip(node.inputs, ins)}
    if node.op == "FusedConv":
        at = attrs_of(node)
        if at["weight_layout"] not in WEIGHT_LAYOUTS:
            raise VerifyError(f"{node.name}: unknown weight layout {at['weight_layout']!r}")
        if at["weight_layout"] == "OHWI":
            w = ins[1]
            if len(w.shape) != 4:
                raise ShapeError(f"{node.name}: OHWI weight must be 4-D, got {w.shape}")
            o, kh, kw, i = w.shape
            env[w.name + ".oihw"] = Value(w.name + ".oihw", (o, i, kh, kw), w.type)
    res = []
    for part in fused_parts(node):
        in_vals = [env[i] for i in part.inputs]
        outs = OPS[part.op].infer(part, in_vals, [None] * len(in_vals))
        out_vals = [Value(o, tuple(sh), t) for o, (sh, t) in zip(part.outputs, outs)]
        env.update((v.name, v) for v in out_vals)
        res.append((part, in_vals, out_vals))
    return res


def _infer_fused(node, ins, consts):
    at = attrs_of(node)
    if at["type"] is None and (at["relu"]):
        raise VerifyError(f"{node.name}: relu without a requantize type")
    if node.op == "FusedConv" and at["pool"] and at["pool"] not in ("max", "avg"):
        raise VerifyError(f"{node.name}: fused pool kind must be max or avg, got {at['pool']!r}")
    if ins[0].type.is_float:
        raise VerifyError(f"{node.name}: {node.op} needs a fixed-point input, got f32")
    parts = expand(node, ins)
    last = parts[-1][2][0]
    return [(last.shape, last.type)]


def _eval_fused(n, a, i, o):
    env = dict(zip(n.inputs, a))
    if n.op == "FusedConv" and attrs_of(n)["weight_layout"] == "OHWI":
        env[n.inputs[1] + ".oihw"] = np.transpose(a[1], (0, 3, 1, 2))
    result = None
    for part, in_vals, out_vals in expand(n, i):
        result = OPS[part.op].eval(part, [env[x] for x in part.inputs], in_vals, out_vals)
        result = [r if v.type.is_float else _as_int(r) for r, v in zip(result, out_vals)]
        env.update(zip(part.outputs, result))
    return result


def _macs_fused(n, ins, outs):
    return sum(OPS[p.op].macs(p, pi, po) for p, pi, po in expand(n, ins))


register(OpDef(
    "FusedConv", "Conv [→ Requant(attr `type`, `relu`)] [→ max/avg Pool (attrs `pool` = kind, "
    "`pool_*`: the Pool attributes, dilation 1)]: one accelerator layer or one NEON kernel call. "
    "`weight_layout` OIHW (ONNX) or OHWI (output channel, kernel rows, columns, input channel: "
    "the order a channels-last engine reads). Semantics: the composition of its parts.",
    {"strides": (1, 1), "pads": (0, 0, 0, 0), "dilations": (1, 1), "groups": 1,
     "weight_layout": "OIHW", "type": None, "relu": False, **POOL_ATTRS}, (2, 3),
    _infer_fused, _eval_fused, _macs_fused,
))

register(OpDef(
    "FusedGemm", "Gemm [→ Requant(attr `type`, `relu`)]: one fully connected accelerator layer "
    "or one NEON kernel call. Semantics: the composition of its parts.",
    {"trans_a": False, "trans_b": False, "alpha": 1.0, "beta": 1.0, "type": None,
     "relu": False}, (2, 3), _infer_fused, _eval_fused, _macs_fused,
))


# --------------------------------------------------------------------------- float host ops
def _chan(c: np.ndarray, ndim: int, axis: int = 1) -> np.ndarray:
    """A per-channel vector (C,) reshaped to broadcast along ``axis`` of an ``ndim`` tensor;
    scalars and (1,) arrays broadcast as they are."""
    c = np.asarray(c)
    if c.ndim == 1 and c.size > 1 and ndim > 1:
        shape = [1] * ndim
        shape[axis] = c.size
        return c.reshape(shape)
    return c.reshape(()) if c.size == 1 else c


def _check_chan(node, x: Value, c: Value, what: str) -> None:
    if len(c.shape) > 1 or (c.shape and c.shape[0] not in (1,)
                            and (len(x.shape) < 2 or c.shape[0] != x.shape[1])):
        raise ShapeError(f"{node.name}: {what} of shape {c.shape} is neither per tensor nor per "
                         f"channel for an input of shape {x.shape}")


def _infer_affine(node, ins, consts):
    for c in ins[1:]:
        _check_chan(node, ins[0], c, "affine constant")
        if not c.type.is_float:
            raise VerifyError(f"{node.name}: Affine constants are float")
    shape = ins[0].shape
    if attrs_of(node)["global_avg"]:
        if len(shape) != 4:
            raise ShapeError(f"{node.name}: a global average needs NCHW, got {shape}")
        shape = shape[:2] + (1, 1)
    return [(shape, FLOAT)]


def _eval_affine(n, a, i, o):
    x = np.asarray(a[0], np.float64)
    if attrs_of(n)["global_avg"]:
        # the exact integer (or float64) sum, divided once: no rounding before the mean
        x = x.sum(axis=(2, 3), keepdims=True) / (x.shape[2] * x.shape[3])
    if not i[0].type.is_float:
        x = x * (2.0 ** -i[0].type.frac)
    y = x * _chan(np.asarray(a[1], np.float64), x.ndim)
    if len(a) > 2:
        y = y + _chan(np.asarray(a[2], np.float64), x.ndim)
    return [y.astype(np.float32)]


register(OpDef(
    "Affine", "Per-channel (axis 1) or per-tensor affine map to float: y = float32(x · 2^-frac · "
    "mul + add), computed in float64 (constants may be float64). On fixed-point codes it is the "
    "exact real value of an accumulator with any float scale (`mul`); the float heads of a "
    "network (scale, bias, TensorNorm) run as one Affine on the host. `global_avg`: x is first "
    "averaged over H and W (exact sum, one float64 division): a global-average-pool head.",
    {"global_avg": False}, (2, 3), _infer_affine, _eval_affine,
))


def _infer_float_binary(node, ins, consts):
    a, b = ins
    if not (a.type.is_float and b.type.is_float):
        raise VerifyError(f"{node.name}: {node.op} is a float op; its fixed-point operand must "
                          "be converted by an Affine first")
    try:
        shape = tuple(np.broadcast_shapes(a.shape, b.shape))
    except ValueError:
        raise ShapeError(f"{node.name}: cannot broadcast {a.shape} with {b.shape}") from None
    return [(shape, FLOAT)]


for _name, _fn in (("Mul", np.multiply), ("Sub", np.subtract), ("Div", np.divide)):
    register(OpDef(
        _name, f"float32 elementwise {_name} with ONNX broadcasting (a host op; streamlining "
        "absorbs it into thresholds or a float head).", {}, (2, 2), _infer_float_binary,
        (lambda fn: lambda n, a, i, o: [fn(np.asarray(a[0], np.float32),
                                           np.asarray(a[1], np.float32)).astype(np.float32)])(_fn),
    ))


def _infer_bn(node, ins, consts):
    x = ins[0]
    if not x.type.is_float:
        raise VerifyError(f"{node.name}: BatchNorm is a float op")
    if len(x.shape) < 2:
        raise ShapeError(f"{node.name}: BatchNorm needs a channel axis, input {x.shape}")
    for p in ins[1:]:
        if p.shape not in ((x.shape[1],), (1,)):
            raise ShapeError(f"{node.name}: batch-norm parameter of shape {p.shape} for "
                             f"{x.shape[1]} channels")
    return [(x.shape, FLOAT)]


def batchnorm_f64(x: np.ndarray, gamma, beta, mean, var, eps: float) -> np.ndarray:
    """ONNX BatchNormalization (inference) in float64, in the ONNX order of operations:
    ``(x − mean) / sqrt(var + eps) · gamma + beta`` (channel axis 1)."""
    x = np.asarray(x, np.float64)
    c = [_chan(np.asarray(p, np.float64), x.ndim) for p in (gamma, beta, mean, var)]
    return (x - c[2]) / np.sqrt(c[3] + np.float64(eps)) * c[0] + c[1]


register(OpDef(
    "BatchNorm", "ONNX BatchNormalization (inference) on a float tensor, channel axis 1: "
    "(x − mean) / sqrt(var + eps) · scale + bias; computed in float64, stored float32.",
    {"epsilon": 1e-5}, (5, 5), _infer_bn,
    lambda n, a, i, o: [batchnorm_f64(a[0], *a[1:5], attrs_of(n)["epsilon"]).astype(np.float32)],
))

register(OpDef(
    "Clip", "ONNX Clip / HardTanh on a float tensor: min(max(x, min), max) (attrs; None = "
    "unbounded).", {"min": None, "max": None}, (1, 1),
    lambda n, ins, c: [(ins[0].shape, FLOAT)] if ins[0].type.is_float else (_ for _ in ()).throw(
        VerifyError(f"{n.name}: Clip is a float op")),
    lambda n, a, i, o: [np.clip(np.asarray(a[0], np.float32),
                                -np.inf if n.attr("min") is None else n.attr("min"),
                                np.inf if n.attr("max") is None else n.attr("max"))
                        .astype(np.float32)],
))


# --------------------------------------------------------------------------- thresholds
MAX_THRESHOLD_BITS = 8     # at most 255 thresholds per channel (a comparator tree / BRAM row)


def _infer_threshold(node, ins, consts):
    at = attrs_of(node)
    x, t = ins[0], ins[1]
    out: QType = at["type"]
    if x.type.is_float or t.type.is_float:
        raise VerifyError(f"{node.name}: Threshold compares fixed-point codes with integer "
                          "thresholds")
    if out is None or out.is_float:
        raise VerifyError(f"{node.name}: Threshold needs a fixed-point output `type`")
    if t.type.frac != x.type.frac:
        raise VerifyError(f"{node.name}: thresholds at frac {t.type.frac}, input at "
                          f"{x.type.frac}")
    n = 1 if at["bipolar"] else out.max - out.min
    if at["bipolar"] and (out.min > -1 or out.max < 1):
        raise VerifyError(f"{node.name}: a bipolar output needs a type holding ±1 (i2n.0)")
    if len(t.shape) != 2 or t.shape[1] != n:
        raise ShapeError(f"{node.name}: thresholds of shape {t.shape}; {out} needs (C, {n})")
    if t.shape[0] != 1 and (len(x.shape) < 2 or t.shape[0] != x.shape[1]):
        raise ShapeError(f"{node.name}: {t.shape[0]} threshold rows for input {x.shape}")
    if len(ins) > 2 and ins[2].shape != (t.shape[0],):
        raise ShapeError(f"{node.name}: direction of shape {ins[2].shape}, needs "
                         f"({t.shape[0]},)")
    tc = consts[1] if len(consts) > 1 else None
    if tc is not None and tc.shape[1] > 1 and np.any(np.diff(tc, axis=1) < 0):
        raise VerifyError(f"{node.name}: thresholds must be non-decreasing along each row")
    dc = consts[2] if len(consts) > 2 else None
    if dc is not None and not np.all(np.abs(dc) == 1):
        raise VerifyError(f"{node.name}: direction entries must be +1 or -1")
    return [(x.shape, out)]


register(OpDef(
    "Threshold",
    """Multi-threshold activation (FINN MultiThreshold), integer in, integer out.

    Inputs: fixed-point codes ``x``; thresholds ``T`` (C, n), integer codes at ``x``'s frac,
    each row non-decreasing (C = channels along axis 1, or 1 for per tensor); optional
    ``direction`` (C,) of ±1. Output, for channel c:
    ``count = #{k : d_c · x >= T[c, k]}`` (ties count as crossed), then
    ``y = type.min + count`` with n = type.max − type.min thresholds (e.g. u2 → 0..3 with 3
    thresholds, i2 → −2..1, i2n → −1..1 with 2), or ``y = 2·count − 1`` for ``bipolar``
    ({−1, +1}, one threshold, type i2n.0). ``d_c = −1`` handles a non-increasing chain (a
    negative batch-norm scale): the rows then hold thresholds on −x. Derived by the streamline
    pass; costs n comparisons per element and no multiply.""",
    {"type": None, "bipolar": False}, (2, 3), _infer_threshold,
    lambda n, a, i, o: [K.threshold(a[0], a[1], attrs_of(n)["type"], attrs_of(n)["bipolar"],
                                    a[2] if len(a) > 2 else None)],
    lambda n, i, o: 0,
    lambda n, i, o: int(np.prod(o[0].shape)) * i[1].shape[1],
))
