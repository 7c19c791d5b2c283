# SPDX-License-Identifier: Apache-2.0
"""edgepool IR :class:`~edgepool.ir.graph.Graph` → TVM Relax ``IRModule``, bit-exact.

The Relax frontend of TVM 0.27 reads float ONNX but not QONNX, so the module is built from the
canonical IR directly with a :class:`tvm.relax.BlockBuilder`, with exactly the integer semantics
of :mod:`edgepool.ir.kernels`:

* fixed-point values are stored in their :meth:`QType.storage_dtype` (int8/uint8/int16 …);
  convolution and matrix products accumulate in int32 when the IR's accumulator type has at most
  32 bits, in int64 otherwise (``relax.op.nn.conv2d(..., out_dtype=...)``, ``relax.op.matmul``);
* ``Quant``: ``clip(round(x_f64 · 2^frac))`` (``relax.op.round`` rounds half to even; the product
  by a power of two is exact in float64); ``Dequant``: ``(code_f64 · 2^-frac) → f32``;
* ``Requant`` / ``shift_round`` in integer ops only: for ``shift > 0``
  ``y = (acc + ((acc >> shift) & 1) + 2^(shift-1) - 1) >> shift`` (arithmetic shifts) is
  ``acc · 2^-shift`` rounded half to even; ``shift ≤ 0`` is a left shift; then ReLU
  (``maximum(y, 0)``), ``clip`` to the type's range and ``astype`` the storage dtype. The
  arithmetic runs in a type wide enough for every intermediate (int32 or int64);
* integer average pooling: exact window sums (a depthwise convolution with ones), then
  ``div_round`` by the per-position element count (a constant) in integer ops.

Feature maps run channels last (NHWC) inside the module — the layout of the NEON kernels — and
the model keeps its NCHW float interface: ``main(x: f32[N, C, H, W]) -> f32 logits`` (quantize
and dequantize are inside).

The graph is first lowered for the CPU (:func:`edgepool.passes.pipelines.lower`, phases ``fuse``
and ``lower-cpu``): conv/dense + requantize (+ max pool) are already one ``FusedConv`` /
``FusedGemm`` node, and a ``Flatten`` feeding only Gemms is channels-last with the Gemm weights
permuted to match. Each node a NEON kernel may run (:func:`layer_kind`) is emitted as one private
Relax function ``layer_<i>`` with the attribute ``"edgepool.layer": <kind>`` holding exactly that
node's ops, called from ``main``; :func:`edgepool.tvm.byoc.partition` turns the ones the kernels
accept into composites and inlines the rest. Everything else (quantize, layout changes,
flatten, average pooling, …) is emitted inline in ``main``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tvm
from tvm import relax

from ..errors import UnsupportedOpError
from ..ir import kernels as K
from ..ir.graph import Graph, Node, Value
from ..ir.ops import attrs_of, expand
from ..ir.qtype import QType
from ..passes.pipelines import lower

#: the attribute naming a layer function's kind (see :func:`layer_kind`)
LAYER_ATTR = "edgepool.layer"

#: Relax ops the importer emits (and nothing else), by IR op.
SUPPORTED = ("Quant", "Dequant", "Requant", "Conv", "Pool", "Gemm", "Relu", "Add", "Flatten",
             "Reshape", "FusedConv", "FusedGemm", "Threshold", "Affine", "Mul", "Sub", "Div")


def layer_kind(g: Graph, node: Node) -> str | None:
    """The kernel-call kind of a (CPU-lowered) node, or None when no NEON kernel exists for it:
    ``conv_requant_maxpool``, ``conv_requant``, ``conv``, ``dense_requant``, ``dense``,
    ``maxpool``, ``global_maxpool``, ``requant``, ``threshold``. One node is one call; nothing
    is re-fused."""
    if node.op in ("Conv", "Gemm", "FusedConv", "FusedGemm"):
        if g.values[node.inputs[0]].type.is_float:
            return None
        at = attrs_of(node)
        base = "conv" if node.op.endswith("Conv") else "dense"
        if node.op.startswith("Fused") and at["type"] is not None:
            base += "_requant"
        if node.op == "FusedConv" and at["pool"]:
            if at["pool"] != "max" or at["pool_global"] or at["type"] is None:
                return None
            base += "_maxpool"
        return base
    if node.op == "Pool" and attrs_of(node)["kind"] == "max":
        return "global_maxpool" if attrs_of(node)["global_"] else "maxpool"
    if node.op == "Requant":
        return "requant"
    if node.op == "Threshold":
        return "threshold"
    return None


def acc_dtype(t: QType) -> str:
    """Accumulator storage: int32 up to 32 bits, int64 beyond (signed)."""
    return "int32" if t.bits <= 32 else "int64"


def storage(t: QType) -> str:
    """Relax dtype of a value of type ``t``."""
    return "float32" if t.is_float else t.storage_dtype()


def _bits_of(dtype: str) -> int:
    return int("".join(c for c in dtype if c.isdigit()))


@dataclass
class _Val:
    """A Relax expression for an IR value: ``layout`` is ``"NCHW"``, ``"NHWC"`` or ``"flat"``
    (2-D)."""

    expr: relax.Expr
    layout: str
    dtype: str | None = None      # when not the storage dtype of the value's QType


class _Importer:
    def __init__(self, g: Graph, layout: str = "NHWC") -> None:
        self.g = g
        self.layout = layout
        self.bb = relax.BlockBuilder()
        self.env: dict[str, _Val] = {}
        self.n_layers = 0
        self.part_values: dict[str, Value] = {}     # intermediates inside fused nodes

    # ------------------------------------------------------------------ helpers
    def emit(self, e: relax.Expr) -> relax.Var:
        return self.bb.emit(e)

    @staticmethod
    def const(a: np.ndarray | int | float, dtype: str) -> relax.Constant:
        return relax.const(np.asarray(a).astype(dtype), dtype)

    def cast(self, e: relax.Expr, src: str, dst: str) -> relax.Expr:
        return e if src == dst else self.emit(relax.op.astype(e, dst))

    def shift_round(self, e: relax.Expr, shift: int, dt: str) -> relax.Expr:
        """``e · 2^-shift`` rounded half to even, ``e`` of dtype ``dt`` (already wide enough)."""
        if shift == 0:
            return e
        if shift < 0:
            return self.emit(relax.op.left_shift(e, self.const(-shift, dt)))
        s = self.const(shift, dt)
        odd = self.emit(relax.op.bitwise_and(self.emit(relax.op.right_shift(e, s)),
                                             self.const(1, dt)))
        t = self.emit(relax.op.add(self.emit(relax.op.add(e, odd)),
                                   self.const((1 << (shift - 1)) - 1, dt)))
        return self.emit(relax.op.right_shift(t, s))

    @staticmethod
    def work_dtype(in_t: QType, shift: int) -> str:
        """A signed type holding ``acc``, ``acc + 2^(shift-1)`` and ``acc << -shift``."""
        sb = in_t.bits + (0 if in_t.signed else 1)
        need = max(sb, shift + 1) + 1 if shift > 0 else sb - shift
        return "int32" if need <= 32 else "int64"

    def requant(self, e: relax.Expr, in_t: QType, out_t: QType, relu: bool,
                src: str | None = None) -> relax.Expr:
        """Requantize ``e`` (of dtype ``src``, default the storage of ``in_t``)."""
        shift = in_t.frac - out_t.frac
        dt = self.work_dtype(in_t, shift)
        y = self.shift_round(self.cast(e, src or storage(in_t), dt), shift, dt)
        if relu:
            y = self.emit(relax.op.maximum(y, self.const(0, dt)))
        y = self.emit(relax.op.clip(y, relax.prim_value(tvm.tirx.IntImm(dt, out_t.min)),
                                    relax.prim_value(tvm.tirx.IntImm(dt, out_t.max))))
        return self.cast(y, dt, storage(out_t))

    def to_layout(self, v: _Val, layout: str) -> relax.Expr:
        if v.layout == layout or v.layout == "flat":
            return v.expr
        axes = (0, 2, 3, 1) if layout == "NHWC" else (0, 3, 1, 2)
        return self.emit(relax.op.permute_dims(v.expr, axes))

    # ------------------------------------------------------------------ ops
    def op_Quant(self, node, x: _Val, in_t, out_t):
        t = out_t
        f = self.cast(x.expr, "float32", "float64")
        if node.attr("bipolar"):
            y = self.emit(relax.op.where(
                self.emit(relax.op.greater_equal(f, self.const(0.0, "float64"))),
                self.const(1, storage(t)), self.const(-1, storage(t))))
            if len(self.g.values[node.inputs[0]].shape) == 4 and self.layout == "NHWC":
                return _Val(self.to_layout(_Val(y, x.layout), "NHWC"), "NHWC")
            return _Val(y, x.layout)
        if len(node.inputs) > 1:          # a float scale: x / scale (QONNX), in float64
            f = self.emit(relax.op.divide(f, self.chan(x, np.asarray(
                self.g.const(node.inputs[1]), np.float64).reshape(-1), "float64")))
        f = self.emit(relax.op.multiply(f, self.const(2.0 ** t.frac, "float64")))
        f = self.emit(relax.op.clip(f, relax.prim_value(tvm.tirx.FloatImm("float64", t.min)),
                                    relax.prim_value(tvm.tirx.FloatImm("float64", t.max))))
        f = self.emit(relax.op.round(f))
        y = self.emit(relax.op.astype(f, storage(t)))
        if len(self.g.values[node.inputs[0]].shape) == 4 and self.layout == "NHWC":
            return _Val(self.to_layout(_Val(y, x.layout), "NHWC"), "NHWC")
        return _Val(y, x.layout)

    def chan(self, x: _Val, vec: np.ndarray, dtype: str) -> relax.Constant:
        """A per-channel array (C, ...) or a scalar shaped to broadcast against ``x`` (the
        trailing axes of a (C, n) table stay last, e.g. the threshold axis)."""
        vec = np.asarray(vec)
        rank = len(self.g.values[self._cur.inputs[0]].shape)
        if vec.size == 1:
            return self.const(vec.reshape(()), dtype)
        if rank < 2:
            return self.const(vec, dtype)
        c = vec.shape[0]
        if x.layout == "NHWC":
            shape = (c,) + vec.shape[1:]
        elif x.layout == "NCHW" and rank == 4:
            shape = (c, 1, 1) + vec.shape[1:]
        else:
            shape = (c,) + vec.shape[1:]
        return self.const(vec.reshape(shape), dtype)

    def op_Threshold(self, node, x: _Val, in_t, out_t):
        """#{k : d·x >= T[c, k]} as a broadcast comparison summed over the threshold axis."""
        at = attrs_of(node)
        t = self.g.const(node.inputs[1])
        dt = "int64" if in_t.bits + 1 > 31 or np.abs(t).max(initial=0) >= 2 ** 31 else "int32"
        e = self.cast(x.expr, storage(in_t), dt)
        if len(node.inputs) > 2:
            e = self.emit(relax.op.multiply(e, self.chan(x, self.g.const(node.inputs[2]), dt)))
        e = self.emit(relax.op.expand_dims(e, -1))
        tk = t if t.shape[0] > 1 else t.reshape(-1)
        th = self.chan(x, tk, dt) if t.shape[0] > 1 else self.const(tk, dt)
        hit = self.emit(relax.op.astype(self.emit(relax.op.greater_equal(e, th)), dt))
        cnt = self.emit(relax.op.sum(hit, axis=[-1]))
        base, step = (-1, 2) if at["bipolar"] else (out_t.min, 1)
        y = self.emit(relax.op.add(self.emit(relax.op.multiply(cnt, self.const(step, dt))),
                                   self.const(base, dt)))
        return _Val(self.cast(y, dt, storage(out_t)), x.layout)

    def op_Affine(self, node, x: _Val, in_t, out_t):
        """A float head in float64: [global average], × 2^-frac · mul, + add; float32 out."""
        e = self.cast(x.expr, "float32" if in_t.is_float else storage(in_t), "float64")
        lay = x.layout
        if attrs_of(node)["global_avg"]:
            axes = [1, 2] if lay == "NHWC" else [2, 3]
            e = self.emit(relax.op.mean(e, axis=axes, keepdims=True))
        scale = 1.0 if in_t.is_float else 2.0 ** -in_t.frac
        e = self.emit(relax.op.multiply(e, self.chan(x, np.asarray(
            self.g.const(node.inputs[1]), np.float64).reshape(-1) * scale, "float64")))
        if len(node.inputs) > 2:
            e = self.emit(relax.op.add(e, self.chan(x, np.asarray(
                self.g.const(node.inputs[2]), np.float64).reshape(-1), "float64")))
        return _Val(self.emit(relax.op.astype(e, "float32")), lay)

    def _float_binary(self, node, x: _Val, fn) -> _Val:
        a, b = node.inputs
        c = self.const(np.asarray(self.g.const(b if self.g.is_const(b) else a),
                                  np.float32).reshape(()), "float32")
        e = fn(x.expr, c) if self.g.is_const(b) else fn(c, x.expr)
        return _Val(self.emit(e), x.layout)

    def op_Mul(self, node, x: _Val, in_t, out_t):
        return self._float_binary(node, x, relax.op.multiply)

    def op_Sub(self, node, x: _Val, in_t, out_t):
        return self._float_binary(node, x, relax.op.subtract)

    def op_Div(self, node, x: _Val, in_t, out_t):
        return self._float_binary(node, x, relax.op.divide)

    def op_Dequant(self, node, x: _Val, in_t, out_t):
        f = self.emit(relax.op.multiply(self.cast(x.expr, storage(in_t), "float64"),
                                        self.const(in_t.scale, "float64")))
        return _Val(self.emit(relax.op.astype(f, "float32")), x.layout)

    def op_Requant(self, node, x: _Val, in_t, out_t):
        relu = bool(node.attrs.get("relu", False))
        return _Val(self.requant(x.expr, in_t, out_t, relu, x.dtype), x.layout)

    def op_Relu(self, node, x: _Val, in_t, out_t):
        z = self.const(0, storage(in_t))
        return _Val(self.emit(relax.op.maximum(x.expr, z)), x.layout)

    def op_Conv(self, node, x: _Val, in_t, out_t):
        at = attrs_of(node)
        w = self.g.const(node.inputs[1])
        wt = self.g.values[node.inputs[1]].type
        if in_t.is_float or wt.is_float:
            raise UnsupportedOpError([f"{node.name}: float Conv (the CPU build is fixed point)"])
        acc = acc_dtype(out_t)
        # operands in their storage types; mixed (uint8 x int8) products widen to ``acc``
        wdt = storage(wt) if storage(wt) != "uint8" or storage(in_t) == "uint8" else "int16"
        xin = self.to_layout(x, "NHWC")
        w_hwio = np.ascontiguousarray(np.transpose(w, (2, 3, 1, 0)))
        y = self.emit(relax.op.nn.conv2d(
            xin, self.const(w_hwio, wdt), strides=tuple(at["strides"]),
            padding=tuple(at["pads"]), dilation=tuple(at["dilations"]), groups=at["groups"],
            data_layout="NHWC", kernel_layout="HWIO", out_dtype=acc))
        if len(node.inputs) > 2:
            b = self.g.const(node.inputs[2]).astype(np.int64)
            y = self.emit(relax.op.add(y, self.const(b, acc)))
        return _Val(y, "NHWC")

    def op_Pool(self, node, x: _Val, in_t, out_t):
        at = attrs_of(node)
        kind = at["kind"]
        if in_t.is_float or kind not in ("max", "avg"):
            raise UnsupportedOpError([f"{node.name}: {kind} pooling of {in_t} is not supported "
                                      "by the CPU build"])
        xin = self.to_layout(x, "NHWC")
        dt = storage(in_t)
        n, c, h, w = self.part_values.get(node.inputs[0], self.g.values.get(node.inputs[0])).shape
        if at["global_"]:
            if kind == "max":
                return _Val(self.emit(relax.op.max(xin, axis=[1, 2], keepdims=True)), "NHWC")
            s = self.emit(relax.op.sum(self.cast(xin, dt, "int64"), axis=[1, 2], keepdims=True))
            q = self.div_round(s, self.const(h * w, "int64"), "int64")
            return _Val(self.cast(q, "int64", dt), "NHWC")
        if kind == "max":
            y = self.emit(relax.op.nn.max_pool2d(
                xin, tuple(at["kernel"]), tuple(at["strides"]), tuple(at["pads"]),
                tuple(at["dilations"]), bool(at["ceil_mode"]), layout="NHWC"))
            return _Val(y, "NHWC")
        return _Val(self.avg_pool(xin, dt, (h, w, c), at), "NHWC")

    def div_round(self, num: relax.Expr, den: relax.Expr, dt: str) -> relax.Expr:
        """``num / den`` (den > 0) rounded half to even (:func:`edgepool.ir.kernels.div_round`)."""
        q = self.emit(relax.op.floor_divide(num, den))
        r = self.emit(relax.op.subtract(num, self.emit(relax.op.multiply(q, den))))
        twice = self.emit(relax.op.add(r, r))
        gt = self.emit(relax.op.greater(twice, den))
        tie = self.emit(relax.op.logical_and(
            self.emit(relax.op.equal(twice, den)),
            self.emit(relax.op.equal(self.emit(relax.op.bitwise_and(q, self.const(1, dt))),
                                     self.const(1, dt)))))
        up = self.emit(relax.op.astype(self.emit(relax.op.logical_or(gt, tie)), dt))
        return self.emit(relax.op.add(q, up))

    def avg_pool(self, xin: relax.Expr, dt: str, hwc, at) -> relax.Expr:
        h, w, c = hwc
        (kh, kw), (sh, sw), (dh, dw) = at["kernel"], at["strides"], at["dilations"]
        pt, pl, pb, pr = at["pads"]
        oh = K.pool_output_size(h, kh, sh, pt, pb, dh, at["ceil_mode"])
        ow = K.pool_output_size(w, kw, sw, pl, pr, dw, at["ceil_mode"])
        # the ceil-mode overhang: extra zero rows/columns at the end (never counted)
        eb = max(0, (oh - 1) * sh + dh * (kh - 1) + 1 - (h + pt + pb))
        er = max(0, (ow - 1) * sw + dw * (kw - 1) + 1 - (w + pl + pr))
        wide = self.cast(xin, dt, "int32")
        ones = self.const(np.ones((kh, kw, 1, c)), "int32")
        s = self.emit(relax.op.nn.conv2d(wide, ones, (sh, sw), (pt, pl, pb + eb, pr + er),
                                         (dh, dw), groups=c, data_layout="NHWC",
                                         kernel_layout="HWIO", out_dtype="int32"))
        counts = self._pool_counts(h, w, at)       # element count per output position
        q = self.div_round(s, self.const(counts.reshape(1, oh, ow, 1), "int32"), "int32")
        return self.cast(q, "int32", dt)

    @staticmethod
    def _pool_counts(h: int, w: int, at) -> np.ndarray:
        """Divisor per output position: count over rows × count over columns."""
        def axis(size, k, s, pb, pe, d):
            n = K.pool_output_size(size, k, s, pb, pe, d, at["ceil_mode"])
            out = np.zeros(n, np.int64)
            for o in range(n):
                taps = [o * s - pb + i * d for i in range(k)]
                if at["count_include_pad"]:
                    out[o] = sum(1 for t in taps if -pb <= t < size + pe)
                else:
                    out[o] = sum(1 for t in taps if 0 <= t < size)
            return out

        (kh, kw), (sh, sw), (dh, dw) = at["kernel"], at["strides"], at["dilations"]
        pt, pl, pb, pr = at["pads"]
        return np.outer(axis(h, kh, sh, pt, pb, dh), axis(w, kw, sw, pl, pr, dw))

    def op_Flatten(self, node, x: _Val, in_t, out_t):
        out_shape = self.g.values[node.outputs[0]].shape
        if node.op == "Flatten" and attrs_of(node)["channels_last"]:
            # the lower-cpu phase permuted the consuming Gemms' weights to (H, W, C) order
            return _Val(self.emit(relax.op.reshape(self.to_layout(x, "NHWC"), out_shape)), "flat")
        e = self.to_layout(x, "NCHW")
        return _Val(self.emit(relax.op.reshape(e, out_shape)), "flat")

    op_Reshape = op_Flatten

    def op_Gemm(self, node, a: _Val, in_t, out_t):
        at = attrs_of(node)
        if in_t.is_float:
            raise UnsupportedOpError([f"{node.name}: float Gemm (the CPU build is fixed point)"])
        if not self.g.is_const(node.inputs[1]) or at["trans_a"]:
            raise UnsupportedOpError([f"{node.name}: Gemm needs a constant B and trans_a=0"])
        b = self.g.const(node.inputs[1])
        if not at["trans_b"]:
            b = b.T
        b = np.asarray(b)                                # (N, K): "dense" weight layout
        acc = acc_dtype(out_t)
        bt = self.g.values[node.inputs[1]].type
        bdt = storage(bt) if storage(bt) != "uint8" or storage(in_t) == "uint8" else "int16"
        wt = self.const(np.ascontiguousarray(b.T), bdt)  # (K, N)
        y = self.emit(relax.op.matmul(a.expr, wt, out_dtype=acc))
        if len(node.inputs) > 2:
            c = self.g.const(node.inputs[2]).astype(np.int64)
            y = self.emit(relax.op.add(y, self.const(c.reshape(1, -1) if c.ndim == 1 else c,
                                                     acc)))
        return _Val(y, "flat")

    def op_Add(self, node, a: _Val, in_t, out_t, b: _Val | None = None, b_t=None):
        if out_t.is_float:
            return _Val(self.emit(relax.op.add(a.expr, b.expr)), a.layout)
        dt = "int64" if out_t.bits > 31 else "int32"
        lay = "NHWC" if "NHWC" in (a.layout, b.layout) else a.layout
        ea = self.shift_round(self.cast(self.to_layout(a, lay), storage(in_t), dt),
                              in_t.frac - out_t.frac, dt)
        eb = self.shift_round(self.cast(self.to_layout(b, lay), storage(b_t), dt),
                              b_t.frac - out_t.frac, dt)
        y = self.emit(relax.op.add(ea, eb))
        return _Val(self.cast(y, dt, storage(out_t)), lay)

    def op_FusedConv(self, node, x: _Val, in_t, out_t):
        if attrs_of(node)["weight_layout"] != "OIHW":
            raise UnsupportedOpError([f"{node.name}: conv weights in "
                                      f"{attrs_of(node)['weight_layout']} order (the CPU build "
                                      "reads the canonical OIHW; lower with target 'cpu')"])
        return self.parts(node, x)

    def op_FusedGemm(self, node, x: _Val, in_t, out_t):
        return self.parts(node, x)

    def parts(self, node, x: _Val) -> _Val:
        """A fused node: its parts' op sequences in order (the composition it is defined as)."""
        for part, ins, outs in expand(node, [self.g.values[i] for i in node.inputs]):
            self.part_values.update((v.name, v) for v in ins + outs)
            x = getattr(self, f"op_{part.op}")(part, x, ins[0].type, outs[0].type)
        return x

    def layer(self, node, kind: str, x: _Val, in_t, out_t) -> _Val:
        """Emit ``node`` as a private function ``layer_<i>`` holding only its ops (attribute
        :data:`LAYER_ATTR` = ``kind``) and call it from the function being built. The input's
        layout change, if any, stays outside."""
        want = "flat" if kind.startswith("dense") else "NHWC"
        xin = x.expr if want == "flat" or kind == "requant" else self.to_layout(x, want)
        layout, dtype = (x.layout if kind == "requant" else want), None
        if kind == "requant" and storage(in_t) not in ("int32", "int64"):
            # the requantize kernels read int32 / int64: a narrower input is widened outside
            dtype = self.work_dtype(in_t, in_t.frac - out_t.frac)
            xin = self.cast(xin, storage(in_t), dtype)
        name = f"layer_{self.n_layers}"
        self.n_layers += 1
        outer, fbb = self.bb, relax.BlockBuilder()
        param = relax.Var("x", xin.ty)
        try:
            self.bb = fbb
            with fbb.function(name, [param], attrs={LAYER_ATTR: kind, "edgepool.node":
                                                    node.name}, private=True):
                with fbb.dataflow():
                    res = getattr(self, f"op_{node.op}")(node, _Val(param, layout, dtype), in_t,
                                                         out_t)
                    out = fbb.emit_output(res.expr)
                fbb.emit_func_output(out)
        finally:
            self.bb = outer
        gv = outer.add_func(fbb.get()[name], name)
        return _Val(self.emit(relax.Call(gv, [xin])), res.layout)

    # ------------------------------------------------------------------ driver
    def run(self, func_name: str = "main") -> tvm.IRModule:
        g = self.g
        problems = [f"{n.name}: op {n.op}" for n in g.nodes if n.op not in SUPPORTED]
        # float host ops: per-tensor constants only (a per-channel constant would need the
        # feature map's layout)
        problems += [f"{n.name}: {n.op} by a constant that is not a scalar" for n in g.nodes
                     if n.op in ("Mul", "Sub", "Div")
                     and not any(g.is_const(i) and g.const(i).size == 1 for i in n.inputs)]
        if problems:
            raise UnsupportedOpError(problems, "the CPU build supports " + ", ".join(SUPPORTED))
        params = []
        for name in g.inputs:
            v = g.values[name]
            p = relax.Var(_ident(name), relax.TensorType(tuple(v.shape), storage(v.type)))
            params.append(p)
            self.env[name] = _Val(p, "NCHW" if len(v.shape) == 4 else "flat")
        with self.bb.function(func_name, params):
            with self.bb.dataflow():
                for node in g.nodes:
                    ins = [i for i in node.inputs]
                    x = self.env[ins[0]]
                    in_t = g.values[ins[0]].type
                    out_t = g.values[node.outputs[0]].type
                    fn = getattr(self, f"op_{node.op}")
                    self._cur = node
                    kind = layer_kind(g, node)
                    if kind is not None:
                        res = self.layer(node, kind, x, in_t, out_t)
                    elif node.op == "Add":
                        if g.is_const(ins[1]) or g.is_const(ins[0]):
                            raise UnsupportedOpError([f"{node.name}: Add of a constant"])
                        res = fn(node, x, in_t, out_t, self.env[ins[1]], g.values[ins[1]].type)
                    else:
                        res = fn(node, x, in_t, out_t)
                    self.env[node.outputs[0]] = res
                outs = []
                for o in g.outputs:
                    v = self.env[o]
                    outs.append(self.to_layout(v, "NCHW") if v.layout == "NHWC" else v.expr)
                ret = outs[0] if len(outs) == 1 else relax.Tuple(outs)
                out = self.bb.emit_output(ret)
            self.bb.emit_func_output(out)
        return self.bb.get()


def _ident(name: str) -> str:
    s = "".join(c if c.isalnum() else "_" for c in name)
    return s if s and not s[0].isdigit() else "v_" + s


def graph_to_relax(g: Graph, layout: str = "NHWC") -> tvm.IRModule:
    """The Relax module of ``g`` (canonical IR; lowered here with target ``cpu``): ``main``
    takes the graph inputs as they are declared (float32 NCHW for a quantizing model) and
    returns the graph outputs (a tuple when there are several). ``layout`` ``"NHWC"`` (default)
    runs feature maps channels last; ``"NCHW"`` keeps ONNX order except around convolutions
    and pooling (which are emitted in NHWC)."""
    return _Importer(lower(g, "cpu"), layout).run()


def build_x86(mod: tvm.IRModule):
    """Compile with TVM's LLVM backend for the host; returns a Relax executable."""
    return relax.build(mod, tvm.target.Target({"kind": "llvm"}))


def run_vm(executable, *inputs: np.ndarray) -> list[np.ndarray]:
    """Run a Relax executable's ``main`` on the host, per sample (the module is batch 1)."""
    vm = relax.VirtualMachine(executable, tvm.cpu())
    n = inputs[0].shape[0]
    outs: list[list[np.ndarray]] = []
    for i in range(n):
        res = vm["main"](*[tvm.runtime.tensor(np.ascontiguousarray(a[i:i + 1])) for a in inputs])
        items = [r.numpy() for r in res] if isinstance(res, (list, tuple)) or (
            hasattr(res, "__len__") and not hasattr(res, "numpy")) else [res.numpy()]
        outs.append(items)
    return [np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))]
