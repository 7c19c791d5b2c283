# SPDX-License-Identifier: Apache-2.0
"""ONNX / QONNX / QCDQ → edgepool IR.

The importer walks the ONNX graph once, in order, tracking for every ONNX tensor whether it is a
constant (float, or fixed-point codes with a :class:`QType`) or an IR value. Quantizers become
explicit integer semantics:

* ``Quant`` (QONNX) or ``QuantizeLinear → [Clip] → DequantizeLinear`` (QCDQ) on a constant folds
  into fixed-point codes; on a float value it becomes IR ``Quant``; on a fixed-point value (an
  accumulator) it becomes IR ``Requant``.
* Conv / Gemm / MatMul with fixed-point input and weights accumulate exactly; biases are aligned
  to the accumulator's fraction bits (exactly, or the import fails).
* ``BatchNormalization`` after a float ``Conv`` is folded into it; anywhere else it is a float
  op (``BatchNorm``), like constant ``Mul``/``Add``/``Sub``/``Div`` and ``Clip`` on activations.
* A quantizer whose scale is not a per-tensor power of two (any positive float, per channel,
  QONNX ``BipolarQuant``) keeps codes at frac 0 and its float scale beside them; a fixed-point
  value that meets a float op goes through an ``Affine`` (codes × exact real scale). The
  ``streamline`` pass then turns each ``Affine → float chain → Quant`` into exact integer
  thresholds and each float head into one float64 ``Affine``.
* A fixed-point graph output gets a ``Dequant`` so the graph computes what the ONNX file does.

The support check is part of the walk: every unsupported op, attribute, type, dynamic shape or
non-fixed-point quantizer is collected, and one :class:`UnsupportedOpError` lists them all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import QuantizationError, UnsupportedOpError
from ..ir import kernels as K
from ..ir.graph import Graph, GraphBuilder, Node, Value, unique_name
from ..ir.onnxfile import load_model
from ..ir.ops import OPS
from ..ir.qtype import FLOAT, MAX_QUANT_BITS, QType, frac_from_scale
from ..ir.verify import verify

SUPPORTED_OPS = (
    "Quant", "QuantizeLinear", "DequantizeLinear", "Clip", "Conv", "MaxPool", "AveragePool",
    "LpPool", "GlobalMaxPool", "GlobalAveragePool", "GlobalLpPool", "Gemm", "MatMul", "Relu",
    "Add", "Flatten", "Reshape", "BatchNormalization", "Identity", "Dropout", "Constant",
    "BipolarQuant", "Mul", "Sub", "Div", "Pow", "Sqrt", "Transpose",
)


# --------------------------------------------------------------------------- tracked tensors
@dataclass
class _Const:
    array: np.ndarray
    qtype: QType = FLOAT            # FLOAT: real values; else fixed-point codes
    clip: tuple[np.ndarray, np.ndarray] | None = None   # range of a folded QCDQ Clip
    # a float scale that is not a power of two or not per tensor (QONNX Quant / BipolarQuant):
    # real = codes · 2^-frac · scale (scale broadcasts against the array)
    scale: np.ndarray | None = None


@dataclass
class _Val:
    name: str                       # IR value name


@dataclass
class _State:
    b: GraphBuilder
    env: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    poisoned: set[str] = field(default_factory=set)

    def problem(self, node, msg: str) -> None:
        where = f"node {node.name!r} ({node.op_type})" if node is not None else "model"
        self.problems.append(f"{where}: {msg}")


def _attrs(node) -> dict[str, Any]:
    import onnx

    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def _quant_bits(st: _State, node, zp, bits) -> int | None:
    """The integer bit width of a quantizer with zero point 0, or None (problem recorded)."""
    if np.any(np.asarray(zp) != 0):
        st.problem(node, f"zero point {np.asarray(zp).ravel()[:4].tolist()} is not 0: edgepool's "
                         "fixed point is symmetric")
        return None
    bits_f = float(np.asarray(bits).ravel()[0])
    if bits_f != int(bits_f) or not 1 <= bits_f <= MAX_QUANT_BITS:
        st.problem(node, f"bit width {bits_f:g} is not an integer in 1..{MAX_QUANT_BITS}")
        return None
    return int(bits_f)


def _qtype_from_quant(st: _State, node, scale, zp, bits, signed: bool,
                      narrow: bool) -> QType | None:
    scale = np.asarray(scale, dtype=np.float64).ravel()
    if scale.size != 1 and not np.all(scale == scale[0]):
        st.problem(node, "per-channel scales are not supported; use per-tensor fixed-point "
                         "quantizers (e.g. Int8WeightPerTensorFixedPoint)")
        return None
    bits_i = _quant_bits(st, node, zp, bits)
    if bits_i is None:
        return None
    try:
        frac = frac_from_scale(float(scale[0]), f"node {node.name!r}")
    except QuantizationError as e:
        st.problems.append(f"node {node.name!r} ({node.op_type}): {e.message}; edgepool's fixed "
                           "point needs power-of-two scales (Brevitas *FixedPoint quantizers)")
        return None
    return QType(bits_i, bool(signed), frac, bool(narrow))


def _quant_spec(st: _State, node, scale, zp, bits, signed: bool, narrow: bool
                ) -> tuple[QType, np.ndarray | None] | None:
    """QONNX ``Quant`` parameters → ``(codes type, extra scale)``: a per-tensor power-of-two
    scale becomes fraction bits (extra None); any other positive finite scale (per channel,
    1/3, ...) is kept as a float64 array beside codes of frac 0."""
    sc = np.asarray(scale, dtype=np.float64)
    bits_i = _quant_bits(st, node, zp, bits)
    if bits_i is None:
        return None
    if not (np.all(np.isfinite(sc)) and np.all(sc > 0)):
        st.problem(node, "quantizer scale is not positive and finite")
        return None
    flat = sc.ravel()
    if np.all(flat == flat[0]):
        m, _ = math.frexp(float(flat[0]))
        if m == 0.5:
            return QType(bits_i, bool(signed), frac_from_scale(float(flat[0]), node.name),
                         bool(narrow)), None
    return QType(bits_i, bool(signed), 0, bool(narrow)), sc


def _emit(st: _State, name: str, op: str, inputs: list[str], outputs: list[str],
          attrs: dict[str, Any]) -> list[str]:
    """Add an IR node, inferring its outputs' shapes and types from the op's rule."""
    node = Node(unique_name(name or "node", {n.name for n in st.b.nodes}), op, tuple(inputs),
                tuple(outputs), dict(attrs))
    ins = [st.b.values[i] for i in inputs]
    inferred = OPS[op].infer(node, ins, [st.b.constants.get(i) for i in inputs])
    for o, (shape, qt) in zip(outputs, inferred):
        st.b.add_value(Value(o, tuple(int(d) for d in shape), qt))
    st.b.add_node(node)
    return outputs


def _const_value(st: _State, name: str, c: _Const) -> str:
    """Materialize a tracked constant as an IR constant value."""
    if name in st.b.values:
        return name
    if c.qtype.is_float:
        arr = np.asarray(c.array, dtype=np.float32)
    else:
        arr = np.asarray(c.array, dtype=np.int64)
    st.b.add_const(name, arr, c.qtype)
    return name


def _pads(st: _State, node, at: dict, spatial: tuple[int, int], kernel, strides, dil):
    auto = at.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        if at.get("ceil_mode", 0):
            st.problem(node, "ceil_mode with auto_pad is not defined by ONNX")
        return K.same_pads(spatial, kernel, strides, dil, auto)
    if auto == "VALID":
        return (0, 0, 0, 0)
    if auto != "NOTSET":
        st.problem(node, f"auto_pad={auto!r} is not an ONNX value")
    pads = tuple(int(p) for p in at.get("pads", (0, 0, 0, 0)))
    if len(pads) != 4:
        st.problem(node, f"pads {list(pads)} are not 2-D (need 4 values)")
        return (0, 0, 0, 0)
    if min(pads) < 0:
        st.problem(node, f"negative pads {list(pads)} are not supported")
    return pads


def _ints2(st, node, at, key, default):
    v = tuple(int(x) for x in at.get(key, default))
    if len(v) != 2:
        st.problem(node, f"{key}={list(v)}: only 2-D (NCHW) operators are supported")
        return tuple(default)
    return v


# --------------------------------------------------------------------------- the importer
class _Importer:
    def __init__(self, proto, name: str):
        self.proto = proto
        self.g = proto.graph
        self.st = _State(GraphBuilder(name))
        self.consumers: dict[str, list] = {}
        for n in self.g.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.skip: set[int] = set()         # ids of ONNX nodes folded into an earlier one
        # extra float scale of fixed-point IR values (real = code · 2^-frac · extra), float64
        # of shape (1,) per tensor or (C,) per channel (axis 1); absent means 1
        self.extra: dict[str, np.ndarray] = {}

    # ---- helpers
    def get(self, name: str):
        return self.st.env.get(name)

    def val(self, node, name: str) -> str | None:
        """IR value name for an ONNX tensor (constants materialized)."""
        t = self.get(name)
        if isinstance(t, _Val):
            return t.name
        if isinstance(t, _Const):
            return _const_value(self.st, name, t)
        self.st.problem(node, f"input {name!r} is not available")
        return None

    def is_int(self, name: str) -> bool:
        t = self.get(name)
        if isinstance(t, _Val):
            return not self.st.b.values[t.name].type.is_float
        return isinstance(t, _Const) and not t.qtype.is_float

    def const(self, node, name: str, what: str) -> _Const | None:
        t = self.get(name)
        if not isinstance(t, _Const):
            self.st.problem(node, f"{what} ({name!r}) must be a constant (initializer)")
            return None
        return t

    def real(self, c: _Const) -> np.ndarray:
        if c.qtype.is_float:
            return c.array
        r = c.array * c.qtype.scale
        return r if c.scale is None else r * c.scale

    def to_float(self, node, name: str) -> str:
        """IR value ``name`` as float: fixed-point codes go through an ``Affine`` by their exact
        real scale (streamlining later turns the float chain after it into thresholds)."""
        st = self.st
        v = st.b.values[name]
        if v.type.is_float:
            return name
        mul = self.extra.get(name, np.ones(1))
        mname = st.b.fresh(name + "_scale")
        st.b.add_const(mname, np.asarray(mul, np.float64))
        out = st.b.fresh(name + "_real")
        base = (node.name if node is not None else "") or name
        _emit(st, base + "_real", "Affine", [name, mname], [out], {})
        return out

    def float_operand(self, node, name: str) -> str | None:
        """An ONNX tensor as a float IR value (constants materialized as float32)."""
        t = self.get(name)
        if isinstance(t, _Const):
            if t.qtype.is_float:
                return _const_value(self.st, name, t)
            return _const_value(self.st, name + "_f",
                                _Const(np.asarray(self.real(t), np.float32)))
        x = self.val(node, name)
        return None if x is None else self.to_float(node, x)

    # ---- entry
    def run(self) -> Graph:
        import onnx
        from onnx import numpy_helper

        st = self.st
        for init in self.g.initializer:
            st.env[init.name] = _Const(numpy_helper.to_array(init))
        inits = {i.name for i in self.g.initializer}
        for inp in self.g.input:
            if inp.name in inits:
                continue
            tt = inp.type.tensor_type
            dims = []
            for d in tt.shape.dim:
                if d.HasField("dim_value") and d.dim_value > 0:
                    dims.append(int(d.dim_value))
                else:
                    dims.append(None)
            if not tt.HasField("shape") or None in dims:
                shown = [d if d is not None else "?" for d in dims]
                st.problems.append(
                    f"input {inp.name!r}: dynamic shape {shown} is not supported; re-export with "
                    "a fixed input shape (e.g. batch 1)")
                st.poisoned.add(inp.name)
                continue
            int_inputs = {onnx.TensorProto.UINT8: QType(8, False), onnx.TensorProto.INT8:
                          QType(8, True), onnx.TensorProto.UINT16: QType(16, False),
                          onnx.TensorProto.INT16: QType(16, True)}
            if tt.elem_type != onnx.TensorProto.FLOAT and tt.elem_type not in int_inputs:
                st.problems.append(f"input {inp.name!r}: element type "
                                   f"{onnx.TensorProto.DataType.Name(tt.elem_type)} is not "
                                   "supported (float32, or 8/16-bit integer codes)")
                st.poisoned.add(inp.name)
                continue
            # integer inputs are taken as codes (real value = code)
            st.b.add_value(Value(inp.name, tuple(dims), int_inputs.get(tt.elem_type, FLOAT)))
            st.b.inputs.append(inp.name)
            st.env[inp.name] = _Val(inp.name)

        for node in self.g.node:
            if id(node) in self.skip:
                continue
            if any(i in st.poisoned for i in node.input if i):
                st.poisoned.update(node.output)
                continue
            handler = getattr(self, f"op_{node.op_type}", None)
            if handler is None or (node.domain not in ("", "ai.onnx")
                                   and not node.domain.startswith("qonnx")
                                   and not node.domain.startswith("onnx.brevitas")):
                st.problem(node, f"op {node.domain + '.' if node.domain else ''}{node.op_type} is "
                                 f"not supported (supported: {', '.join(SUPPORTED_OPS)})")
                st.poisoned.update(node.output)
                continue
            before = len(st.problems)
            try:
                handler(node, _attrs(node))
            except (ValueError, KeyError, IndexError) as e:
                st.problem(node, f"cannot import: {e}")
            except (UnsupportedOpError, QuantizationError) as e:
                st.problem(node, e.message)
            if len(st.problems) > before:
                st.poisoned.update(node.output)

        for out in self.g.output:
            if out.name in st.poisoned:
                continue
            t = self.get(out.name)
            if isinstance(t, _Const) or t is None:
                st.problems.append(f"output {out.name!r} is not computed from the inputs")
                continue
            v = st.b.values[t.name]
            if not v.type.is_float and t.name in self.extra:
                # a float head: the accumulator times its float scale, on the host in float64
                t = _Val(self.to_float(None, t.name))
                v = st.b.values[t.name]
            if v.type.is_float:
                name = t.name
                if name != out.name and name not in st.b.inputs and out.name not in st.b.values:
                    name = self._rename(t.name, out.name)     # Identity / folded BN: keep name
                st.b.outputs.append(name)
            else:
                # the ONNX output name belongs to the float result: rename the codes
                codes = self._rename(t.name, st.b.fresh(t.name + "_q"))
                _emit(st, "dequant_" + out.name, "Dequant", [codes], [out.name], {})
                st.b.outputs.append(out.name)
        if st.problems:
            raise UnsupportedOpError(
                st.problems,
                "edgepool supports Conv, pooling (max/avg/lp/global), Gemm/MatMul, ReLU, Add, "
                "Flatten/Reshape, batch-norm, constant Mul/Add/Sub/Div, Clip and QONNX / QCDQ "
                "quantizers with zero point 0; see the README's 'Supported models' section")
        return verify(st.b.build({"source": "onnx",
                                  "producer": self.proto.producer_name or "",
                                  "opset": max((o.version for o in self.proto.opset_import
                                                if o.domain in ("", "ai.onnx")), default=0)}))

    def _rename(self, old: str, new: str) -> str:
        """Rename IR value ``old`` to ``new`` everywhere in the builder."""
        b = self.st.b
        v = b.values.pop(old)
        b.values[new] = Value(new, v.shape, v.type)
        ren = lambda names: tuple(new if n == old else n for n in names)  # noqa: E731
        b.nodes = [n.with_(inputs=ren(n.inputs), outputs=ren(n.outputs)) for n in b.nodes]
        b.inputs = list(ren(b.inputs))
        return new

    # ---- quantizers
    def _apply_quant(self, node, x: str, qt: QType, out: str, scale: np.ndarray | None = None,
                     bipolar: bool = False) -> None:
        """Quantize ONNX tensor ``x`` to ``qt`` (codes; real = code · 2^-frac · ``scale``)."""
        st = self.st
        t = self.get(x)
        if isinstance(t, _Const):
            real = np.asarray(self.real(t), np.float64)
            if bipolar:
                codes = np.where(real >= 0, 1, -1).astype(np.int64)
            elif scale is None:
                codes = K.quantize(real, qt)
            else:
                codes = K.saturate(np.round(real / scale * 2.0 ** qt.frac).astype(np.int64), qt)
            st.env[out] = _Const(codes, qt, scale=scale)
            return
        name = self.val(node, x)
        if name is None:
            return
        v = st.b.values[name]
        if (not v.type.is_float and name not in self.extra and scale is None and not bipolar):
            _emit(st, node.name or "requant", "Requant", [name], [out], {"type": qt})
            st.env[out] = _Val(out)
            return
        xf = self.to_float(node, name)
        inputs = [xf]
        vec = None
        if scale is not None:
            vec = self._channel_scale(node, scale, st.b.values[xf].shape)
            if vec is None:
                return
            sname = st.b.fresh(out + "_scale")
            st.b.add_const(sname, vec.astype(np.float32) if np.all(
                vec.astype(np.float32) == vec) else vec)
            inputs.append(sname)
        attrs: dict[str, Any] = {"type": qt}
        if bipolar:
            attrs["bipolar"] = True
        _emit(st, node.name or "quant", "Quant", inputs, [out], attrs)
        if vec is not None:
            self.extra[out] = vec
        st.env[out] = _Val(out)

    def _channel_scale(self, node, scale: np.ndarray, shape: tuple[int, ...]
                       ) -> np.ndarray | None:
        """A quantizer scale as a vector along channel axis 1 ((1,) per tensor)."""
        sc = np.asarray(scale, np.float64)
        flat = sc.ravel()
        if np.all(flat == flat[0]):
            return flat[:1].copy()
        nd = max(len(shape), sc.ndim)
        padded = (1,) * (nd - sc.ndim) + tuple(sc.shape)
        if any(d != 1 and ax != 1 for ax, d in enumerate(padded)) or len(shape) < 2 or \
                padded[1] != shape[1]:
            self.st.problem(node, f"scale of shape {tuple(sc.shape)} is neither per tensor nor "
                                  f"per channel (axis 1) of the {list(shape)} activation")
            return None
        return flat.copy()

    def _weight_scale(self, node, w: _Const, out_axis: int) -> np.ndarray | None:
        """Per-output-channel extra scale of weights ``w`` (None: 1), constant along every
        other (reduction) axis, else a problem."""
        if w.scale is None:
            return None
        sc = np.broadcast_to(np.asarray(w.scale, np.float64), w.array.shape)
        vec = np.moveaxis(sc, out_axis, 0).reshape(sc.shape[out_axis], -1)
        if not np.all(vec == vec[:, :1]):
            self.st.problem(node, "the weight scale varies along the reduction axis (only per "
                                  "output channel scales can be factored out of a sum)")
            return None
        return vec[:, 0].copy()

    def _acc_extra(self, node, x: str, wvec: np.ndarray | None) -> np.ndarray | None | bool:
        """Extra scale of a Conv/Gemm accumulator: input's (per tensor) × weights' (per output
        channel). False when the input scale is per channel (cannot be factored out)."""
        xe = self.extra.get(x)
        if xe is not None and xe.size != 1:
            self.st.problem(node, "the input's quantizer scale is per channel: a sum over "
                                  "channels cannot factor it out; quantize the input per tensor")
            return False
        if xe is None and wvec is None:
            return None
        return (np.ones(1) if xe is None else xe) * (np.ones(1) if wvec is None else wvec)

    def op_Quant(self, node, at):
        ins = list(node.input)
        scale = self.const(node, ins[1], "scale")
        zp = self.const(node, ins[2], "zero point")
        bits = self.const(node, ins[3], "bit width")
        if None in (scale, zp, bits):
            return
        rm = str(at.get("rounding_mode", "ROUND")).upper()
        if rm not in ("ROUND", "HALF_EVEN"):
            self.st.problem(node, f"rounding_mode={rm} is not supported (ROUND only)")
            return
        spec = _quant_spec(self.st, node, self.real(scale), zp.array, bits.array,
                           bool(at.get("signed", 1)), bool(at.get("narrow", 0)))
        if spec is not None:
            self._apply_quant(node, ins[0], spec[0], node.output[0], spec[1])

    def op_BipolarQuant(self, node, at):
        """QONNX BipolarQuant: +scale if x >= 0 else −scale; codes ±1 (type i2n)."""
        scale = self.const(node, node.input[1], "scale")
        if scale is None:
            return
        spec = _quant_spec(self.st, node, self.real(scale), 0, 2, True, True)
        if spec is not None:
            self._apply_quant(node, node.input[0], spec[0], node.output[0], spec[1],
                              bipolar=True)

    def _qdq_chain(self, node):
        """For QuantizeLinear: find [Clip] → DequantizeLinear after it; return (nodes, clip)."""
        chain, clip = [], None
        cur = node
        nxt = self.consumers.get(cur.output[0], [])
        if len(nxt) == 1 and nxt[0].op_type == "Clip":
            clip = nxt[0]
            chain.append(clip)
            cur = clip
            nxt = self.consumers.get(cur.output[0], [])
        if len(nxt) == 1 and nxt[0].op_type == "DequantizeLinear":
            chain.append(nxt[0])
            return chain, clip
        return None, None

    def _int_type_of(self, node, zp: np.ndarray, lo=None, hi=None) -> tuple[int, bool, bool] | None:
        kind = zp.dtype
        if kind not in (np.int8, np.uint8, np.int16, np.uint16, np.int32):
            self.st.problem(node, f"zero point dtype {kind} is not supported")
            return None
        info = np.iinfo(kind)
        signed = info.min < 0
        bits = info.bits
        narrow = False
        if lo is not None:
            lo_i, hi_i = int(lo), int(hi)
            if signed and lo_i == -hi_i:
                narrow = True
                bits = (hi_i + 1).bit_length()
            elif signed and lo_i == -hi_i - 1:
                bits = (hi_i + 1).bit_length()
            elif not signed and lo_i == 0:
                bits = hi_i.bit_length()
            else:
                self.st.problem(node, f"Clip range [{lo_i}, {hi_i}] is not a fixed-point range")
                return None
            if (1 << (bits - (1 if signed else 0))) - 1 != hi_i:
                self.st.problem(node, f"Clip upper bound {hi_i} is not 2^n - 1")
                return None
        return bits, signed, narrow

    def op_QuantizeLinear(self, node, at):
        ins = list(node.input)
        scale = self.const(node, ins[1], "scale")
        zp = self.const(node, ins[2], "zero point") if len(ins) > 2 and ins[2] else \
            _Const(np.zeros((), np.uint8))
        if scale is None or zp is None:
            return
        chain, clip = self._qdq_chain(node)
        if chain is None:
            self.st.problem(node, "QuantizeLinear must be followed by DequantizeLinear (QDQ "
                                  "form): integer tensors between ops are not supported")
            return
        lo = hi = None
        if clip is not None:
            lo_c = self.const(clip, clip.input[1], "Clip min")
            hi_c = self.const(clip, clip.input[2], "Clip max")
            if lo_c is None or hi_c is None:
                return
            lo, hi = lo_c.array, hi_c.array
        spec = self._int_type_of(node, zp.array, lo, hi)
        if spec is None:
            return
        qt = _qtype_from_quant(self.st, node, scale.array, zp.array, spec[0], spec[1], spec[2])
        if qt is None:
            return
        for n in chain:
            self.skip.add(id(n))
        self._apply_quant(node, ins[0], qt, chain[-1].output[0])

    def op_Clip(self, node, at):
        x = self.get(node.input[0])
        lo = (self.const(node, node.input[1], "Clip min")
              if len(node.input) > 1 and node.input[1] else None)
        hi = (self.const(node, node.input[2], "Clip max")
              if len(node.input) > 2 and node.input[2] else None)
        if isinstance(x, _Const) and lo is not None and hi is not None:
            # Clip on integer constants (QCDQ weights): fold, remembering the range
            self.st.env[node.output[0]] = _Const(np.clip(x.array, lo.array, hi.array), x.qtype,
                                                 (lo.array, hi.array))
            return
        if isinstance(x, _Val):
            # Clip / HardTanh on an activation: a float op (monotone: streamlining absorbs it)
            lo_v = at.get("min") if lo is None else float(np.asarray(self.real(lo)).ravel()[0])
            hi_v = at.get("max") if hi is None else float(np.asarray(self.real(hi)).ravel()[0])
            xf = self.float_operand(node, node.input[0])
            if xf is None:
                return
            attrs = {k: float(v) for k, v in (("min", lo_v), ("max", hi_v)) if v is not None}
            _emit(self.st, node.name or "clip", "Clip", [xf], [node.output[0]], attrs)
            self.st.env[node.output[0]] = _Val(node.output[0])
            return
        self.st.problem(node, "Clip needs constant bounds")

    def op_DequantizeLinear(self, node, at):
        ins = list(node.input)
        x = self.get(ins[0])
        if not isinstance(x, _Const):
            self.st.problem(node, "DequantizeLinear of a computed integer tensor is not "
                                  "supported (use QDQ pairs)")
            return
        scale = self.const(node, ins[1], "scale")
        zp = self.const(node, ins[2], "zero point") if len(ins) > 2 and ins[2] else \
            _Const(np.zeros((), x.array.dtype))
        if scale is None or zp is None:
            return
        spec = self._int_type_of(node, np.asarray(zp.array).astype(x.array.dtype),
                                 *(x.clip if x.clip is not None else (None, None)))
        if spec is None:
            return
        qt = _qtype_from_quant(self.st, node, scale.array, zp.array, spec[0], spec[1], spec[2])
        if qt is not None:
            self.st.env[node.output[0]] = _Const(np.asarray(x.array, np.int64), qt)

    # ---- compute ops
    def _int_operands(self, node, x: str, w: _Const, what: str) -> bool:
        """True when the op runs in fixed point; reports mixed float/fixed operands."""
        xi = self.is_int(x)
        if xi and w.qtype.is_float:
            self.st.problem(node, f"input is fixed point but {what} are float: quantize the "
                                  f"{what} too (Brevitas weight_quant)")
        return xi

    def _bias(self, node, b: _Const | None, acc_frac: int, int_mode: bool,
              extra: np.ndarray | None = None) -> _Const | None:
        if b is None:
            return None
        if not int_mode:
            return _Const(np.asarray(self.real(b), np.float32))
        if extra is not None:
            # accumulator scale 2^-acc_frac · extra: the bias must be an exact multiple of it
            codes_f = np.asarray(self.real(b), np.float64) * 2.0 ** acc_frac / extra
            codes = np.round(codes_f)
            if not np.array_equal(codes, codes_f):
                self.st.problem(node, "the bias is not an integer multiple of the accumulator's "
                                      "scale (input scale × weight scale): it cannot be added "
                                      "exactly (Brevitas Int32Bias quantizes it that way)")
                return None
            codes = codes.astype(np.int64)
            bits = max(int(np.abs(codes).max(initial=0)).bit_length() + 1, 2)
            return _Const(codes, QType(min(bits, 64), True, acc_frac))
        if b.qtype.is_float:
            self.st.problem(node, "bias is float in a fixed-point layer: quantize it at the "
                                  "accumulator scale (Brevitas Int32Bias)")
            return None
        codes = np.asarray(b.array, np.int64)
        shift = acc_frac - b.qtype.frac
        if shift >= 0:
            codes = codes << shift
        else:
            if np.any(codes % (1 << -shift)):
                self.st.problem(node, f"bias has {b.qtype.frac} fraction bits, more than the "
                                      f"accumulator's {acc_frac}: it cannot be added exactly "
                                      "(quantize the bias with scale = input scale × weight "
                                      "scale, e.g. Brevitas Int32Bias)")
                return None
            codes = codes >> -shift
        bits = max(int(np.abs(codes).max(initial=0)).bit_length() + 1, 2)
        return _Const(codes, QType(min(bits, 64), True, acc_frac))

    def op_Conv(self, node, at):
        st = self.st
        ins = list(node.input)
        x = self.val(node, ins[0])
        w = self.const(node, ins[1], "weights")
        if x is None or w is None:
            return
        xv = st.b.values[x]
        if len(xv.shape) != 4 or w.array.ndim != 4:
            st.problem(node, f"only 2-D convolution is supported (input rank {len(xv.shape)})")
            return
        kernel = tuple(w.array.shape[2:])
        if "kernel_shape" in at and tuple(at["kernel_shape"]) != kernel:
            st.problem(node, f"kernel_shape {at['kernel_shape']} differs from weights {kernel}")
        strides = _ints2(st, node, at, "strides", (1, 1))
        dil = _ints2(st, node, at, "dilations", (1, 1))
        pads = _pads(st, node, at, xv.shape[2:], kernel, strides, dil)
        int_mode = self._int_operands(node, ins[0], w, "weights")
        b = self.get(ins[2]) if len(ins) > 2 and ins[2] else None
        if b is not None and not isinstance(b, _Const):
            st.problem(node, "bias must be a constant")
            return
        acc_frac = xv.type.frac + w.qtype.frac if int_mode else 0
        extra = None
        if int_mode:
            extra = self._acc_extra(node, x, self._weight_scale(node, w, 0))
            if extra is False:
                return
            if extra is not None and extra.size not in (1, w.array.shape[0]):
                st.problem(node, "weight scale does not match the output channels")
                return
        bias = self._bias(node, b, acc_frac, int_mode, extra)
        if b is not None and bias is None:
            return
        wc = w if int_mode else _Const(np.asarray(self.real(w), np.float32))
        inputs = [x, _const_value(st, ins[1] if int_mode else ins[1] + "_f", wc)]
        if bias is not None:
            inputs.append(_const_value(st, (ins[2] or "bias") + "_acc", bias))
        _emit(st, node.name or "conv", "Conv", inputs, [node.output[0]],
              {"strides": strides, "pads": pads, "dilations": dil,
               "groups": int(at.get("group", 1))})
        if extra is not None:
            self.extra[node.output[0]] = extra
        st.env[node.output[0]] = _Val(node.output[0])

    def op_BatchNormalization(self, node, at):
        st = self.st
        x = self.get(node.input[0])
        prod = st.b.nodes[-1] if st.b.nodes else None
        params = [self.const(node, n, "batch-norm parameter") for n in node.input[1:5]]
        if None in params:
            return
        if (isinstance(x, _Val) and prod is not None and prod.op == "Conv"
                and prod.outputs[0] == x.name and len(self.consumers.get(node.input[0], [])) == 1
                and st.b.values[x.name].type.is_float):
            gamma, beta, mean, var = (np.asarray(self.real(p), np.float64) for p in params)
            eps = float(at.get("epsilon", 1e-5))
            k = gamma / np.sqrt(var + eps)
            wname = prod.inputs[1]
            w = st.b.constants[wname].astype(np.float64) * k[:, None, None, None]
            b0 = (st.b.constants[prod.inputs[2]].astype(np.float64) if len(prod.inputs) > 2
                  else np.zeros_like(k))
            bias = (b0 - mean) * k + beta
            st.b.constants[wname] = w.astype(np.float32)
            bname = st.b.fresh((prod.name or "conv") + "_bn_bias")
            st.b.add_const(bname, bias.astype(np.float32))
            st.b.nodes[-1] = prod.with_(inputs=(prod.inputs[0], wname, bname))
            st.env[node.output[0]] = x
            return
        # anywhere else: a float op (after a fixed-point layer its input goes through an Affine);
        # streamlining absorbs it into the next quantizer's thresholds or a float head
        xf = self.float_operand(node, node.input[0])
        if xf is None:
            return
        xs = st.b.values[xf].shape
        names = []
        for onnx_name, p, what in zip(node.input[1:5], params, ("scale", "bias", "mean", "var")):
            arr = np.asarray(self.real(p), np.float32).reshape(-1)
            if len(xs) < 2 or arr.size not in (1, xs[1]):
                st.problem(node, f"batch-norm {what} has {arr.size} entries for input {list(xs)}")
                return
            names.append(_const_value(st, st.b.fresh(onnx_name + "_bn"), _Const(arr)))
        _emit(st, node.name or "batchnorm", "BatchNorm", [xf] + names, [node.output[0]],
              {"epsilon": float(np.float32(at.get("epsilon", 1e-5)))})
        st.env[node.output[0]] = _Val(node.output[0])

    def _pool(self, node, at, kind: str, global_: bool):
        st = self.st
        x = self.val(node, node.input[0])
        if x is None:
            return
        xv = st.b.values[x]
        if len(node.output) > 1 and node.output[1]:
            st.problem(node, "the MaxPool Indices output is not supported")
            return
        if len(xv.shape) != 4:
            st.problem(node, f"only 2-D pooling (NCHW) is supported, input rank {len(xv.shape)}")
            return
        attrs: dict[str, Any] = {"kind": kind}
        if global_:
            attrs["global_"] = True
        else:
            kernel = _ints2(st, node, at, "kernel_shape", (1, 1))
            strides = _ints2(st, node, at, "strides", (1, 1))
            dil = _ints2(st, node, at, "dilations", (1, 1))
            attrs.update(kernel=kernel, strides=strides, dilations=dil,
                         pads=_pads(st, node, at, xv.shape[2:], kernel, strides, dil),
                         ceil_mode=bool(at.get("ceil_mode", 0)))
            if kind == "avg":
                attrs["count_include_pad"] = bool(at.get("count_include_pad", 0))
            if at.get("storage_order", 0):
                st.problem(node, "storage_order=1 is not supported")
        if kind == "lp":
            attrs["p"] = float(at.get("p", 2))
        if kind == "avg" and not xv.type.is_float and (
                x in self.extra or not self._avg_followed_by_same_quant(node, xv.type)):
            # a float average (e.g. the global-average head of an all-convolutional net): the
            # codes' exact real values, averaged on the host
            x = self.to_float(node, x)
        _emit(st, node.name or kind + "pool", "Pool", [x], [node.output[0]], attrs)
        if kind == "max" and x in self.extra:
            self.extra[node.output[0]] = self.extra[x]    # max commutes with a positive scale
        st.env[node.output[0]] = _Val(node.output[0])

    def _avg_followed_by_same_quant(self, node, t: QType) -> bool:
        nxt = self.consumers.get(node.output[0], [])
        if len(nxt) != 1 or nxt[0].op_type not in ("Quant", "QuantizeLinear"):
            return False
        scale = self.get(nxt[0].input[1])
        if not isinstance(scale, _Const):
            return False
        s = float(np.asarray(scale.array).ravel()[0])
        return s > 0 and math.isclose(s, t.scale, rel_tol=0, abs_tol=0)

    def op_MaxPool(self, node, at):
        self._pool(node, at, "max", False)

    def op_AveragePool(self, node, at):
        self._pool(node, at, "avg", False)

    def op_LpPool(self, node, at):
        self._pool(node, at, "lp", False)

    def op_GlobalMaxPool(self, node, at):
        self._pool(node, at, "max", True)

    def op_GlobalAveragePool(self, node, at):
        self._pool(node, at, "avg", True)

    def op_GlobalLpPool(self, node, at):
        self._pool(node, at, "lp", True)

    def _dense(self, node, a_name: str, b: _Const, c: _Const | None, trans_a: bool,
               trans_b: bool, alpha: float, beta: float):
        st = self.st
        a = self.val(node, a_name)
        if a is None:
            return
        if trans_a:
            st.problem(node, "transA=1 on a computed input is not supported")
            return
        int_mode = self._int_operands(node, a_name, b, "weights")
        av = st.b.values[a]
        acc_frac = av.type.frac + b.qtype.frac if int_mode else 0
        extra = None
        if int_mode:
            extra = self._acc_extra(node, a, self._weight_scale(node, b, 0 if trans_b else 1))
            if extra is False:
                return
        if int_mode and (alpha != 1.0 or beta != 1.0):
            # Y = alpha·(A·B) + beta·C: exact integer product, then a float affine on the host
            inputs = [a, _const_value(st, node.input[1], b)]
            acc = st.b.fresh(node.output[0] + "_acc")
            _emit(st, node.name or "gemm", "Gemm", inputs, [acc],
                  {"trans_b": bool(trans_b)})
            if extra is not None:
                self.extra[acc] = extra
            mul = alpha * (np.ones(1) if extra is None else extra)
            add = (np.zeros(1) if c is None
                   else beta * np.asarray(self.real(c), np.float64).reshape(-1))
            if add.size not in (1, st.b.values[acc].shape[1]):
                st.problem(node, f"bias of shape {c.array.shape} is not per output column")
                return
            mname, aname = st.b.fresh(acc + "_mul"), st.b.fresh(acc + "_add")
            st.b.add_const(mname, np.asarray(mul, np.float64))
            st.b.add_const(aname, np.asarray(add, np.float64))
            _emit(st, (node.name or "gemm") + "_affine", "Affine", [acc, mname, aname],
                  [node.output[0]], {})
            st.env[node.output[0]] = _Val(node.output[0])
            return
        bias = self._bias(node, c, acc_frac, int_mode, extra)
        if c is not None and bias is None:
            return
        if bias is not None and bias.array.ndim == 2 and bias.array.shape[0] == 1:
            bias = _Const(bias.array[0], bias.qtype)
        bc = b if int_mode else _Const(np.asarray(self.real(b), np.float32))
        inputs = [a, _const_value(st, node.input[1] if int_mode else node.input[1] + "_f", bc)]
        if bias is not None:
            inputs.append(_const_value(st, node.input[2] + "_acc", bias))
        _emit(st, node.name or "gemm", "Gemm", inputs, [node.output[0]],
              {"trans_b": bool(trans_b), "alpha": float(alpha), "beta": float(beta)})
        if extra is not None:
            self.extra[node.output[0]] = extra
        st.env[node.output[0]] = _Val(node.output[0])

    def op_Gemm(self, node, at):
        b = self.const(node, node.input[1], "weights")
        c = None
        if len(node.input) > 2 and node.input[2]:
            c = self.const(node, node.input[2], "bias")
            if c is None:
                return
        if b is None:
            return
        self._dense(node, node.input[0], b, c, bool(at.get("transA", 0)),
                    bool(at.get("transB", 0)), float(at.get("alpha", 1.0)),
                    float(at.get("beta", 1.0)))

    def op_MatMul(self, node, at):
        b = self.const(node, node.input[1], "weights (second MatMul operand)")
        if b is None:
            return
        a = self.get(node.input[0])
        if isinstance(a, _Val) and len(self.st.b.values[a.name].shape) != 2:
            self.st.problem(node, "MatMul is supported on 2-D activations only")
            return
        self._dense(node, node.input[0], b, None, False, False, 1.0, 1.0)

    def op_Relu(self, node, at):
        x = self.val(node, node.input[0])
        if x is not None:
            _emit(self.st, node.name or "relu", "Relu", [x], [node.output[0]], {})
            if x in self.extra:
                self.extra[node.output[0]] = self.extra[x]
            self.st.env[node.output[0]] = _Val(node.output[0])

    # ---- float elementwise ops with constants (host ops until streamlining absorbs them)
    _FOLD = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide,
             "Pow": np.power}

    def _binary_float(self, node, at=None) -> None:
        st = self.st
        ta, tb = (self.get(i) for i in node.input[:2])
        if isinstance(ta, _Const) and isinstance(tb, _Const):
            # constant folding in float32, as ONNX evaluates it
            fa = np.asarray(self.real(ta), np.float32)
            fb = np.asarray(self.real(tb), np.float32)
            with np.errstate(all="ignore"):
                st.env[node.output[0]] = _Const(np.asarray(self._FOLD[node.op_type](fa, fb),
                                                           np.float32))
            return
        if node.op_type == "Pow":
            st.problem(node, "Pow of a computed tensor is not supported (only of constants, as "
                             "in TensorNorm's sqrt(var + eps))")
            return
        a, b = (self.float_operand(node, i) for i in node.input[:2])
        if a is None or b is None:
            return
        _emit(st, node.name or node.op_type.lower(), node.op_type, [a, b], [node.output[0]], {})
        st.env[node.output[0]] = _Val(node.output[0])

    op_Mul = op_Sub = op_Div = op_Pow = _binary_float

    def op_Sqrt(self, node, at):
        t = self.get(node.input[0])
        if isinstance(t, _Const):
            self.st.env[node.output[0]] = _Const(np.sqrt(np.asarray(self.real(t), np.float32)))
            return
        self.st.problem(node, "Sqrt of a computed tensor is not supported (only of constants)")

    def op_Transpose(self, node, at):
        t = self.get(node.input[0])
        if not isinstance(t, _Const):
            self.st.problem(node, "Transpose of a computed tensor is not supported (only of "
                                  "weights, as QuantLinear exports them before MatMul)")
            return
        perm = at.get("perm", list(range(t.array.ndim))[::-1])
        scale = None
        if t.scale is not None:
            scale = np.transpose(np.broadcast_to(t.scale, t.array.shape), perm)
        self.st.env[node.output[0]] = _Const(np.transpose(t.array, perm), t.qtype, scale=scale)

    def op_Add(self, node, at):
        ts = [self.get(i) for i in node.input[:2]]
        if any(isinstance(t, _Const) for t in ts) or any(
                isinstance(t, _Val) and t.name in self.extra for t in ts):
            self._binary_float(node)
            return
        a, b = (self.val(node, i) for i in node.input[:2])
        if a is None or b is None:
            return
        ta, tb = self.st.b.values[a].type, self.st.b.values[b].type
        if ta.is_float != tb.is_float:
            self.st.problem(node, f"Add mixes {ta} and {tb}: quantize both operands")
            return
        _emit(self.st, node.name or "add", "Add", [a, b], [node.output[0]], {})
        self.st.env[node.output[0]] = _Val(node.output[0])

    def op_Flatten(self, node, at):
        x = self.val(node, node.input[0])
        if x is not None:
            _emit(self.st, node.name or "flatten", "Flatten", [x], [node.output[0]],
                  {"axis": int(at.get("axis", 1))})
            self._flat_extra(node, x, node.output[0])
            self.st.env[node.output[0]] = _Val(node.output[0])

    def _flat_extra(self, node, x: str, out: str) -> None:
        """Carry a value's extra scale through a flatten to (N, features)."""
        e = self.extra.get(x)
        if e is None:
            return
        src, dst = self.st.b.values[x].shape, self.st.b.values[out].shape
        if e.size == 1:
            self.extra[out] = e
        elif len(dst) == 2 and len(src) >= 2 and dst[0] == src[0] and e.size == src[1]:
            self.extra[out] = np.repeat(e, int(np.prod(src[2:])))   # NCHW flatten order
        else:
            self.st.problem(node, f"reshaping {list(src)} → {list(dst)} mixes channels with a "
                                  "per-channel scale")

    def op_Reshape(self, node, at):
        x = self.val(node, node.input[0])
        s = self.const(node, node.input[1], "target shape")
        if x is None or s is None:
            return
        src = self.st.b.values[x].shape
        target = [int(d) for d in np.asarray(s.array).ravel()]
        if not at.get("allowzero", 0):
            target = [src[i] if d == 0 else d for i, d in enumerate(target)]
        if target.count(-1) > 1:
            self.st.problem(node, "Reshape with more than one -1")
            return
        if -1 in target:
            known = int(np.prod([d for d in target if d != -1]))
            target[target.index(-1)] = int(np.prod(src)) // max(known, 1)
        if int(np.prod(target)) != int(np.prod(src)):
            self.st.problem(node, f"Reshape {list(src)} → {target} changes the element count")
            return
        _emit(self.st, node.name or "reshape", "Reshape", [x], [node.output[0]],
              {"shape": tuple(target)})
        self._flat_extra(node, x, node.output[0])
        self.st.env[node.output[0]] = _Val(node.output[0])

    def op_Identity(self, node, at):
        self.st.env[node.output[0]] = self.get(node.input[0])

    op_Dropout = op_Identity

    def op_Constant(self, node, at):
        from onnx import numpy_helper

        for a in node.attribute:
            if a.name == "value":
                self.st.env[node.output[0]] = _Const(numpy_helper.to_array(a.t))
                return
        self.st.problem(node, "Constant without a tensor `value` is not supported")


def _safe_graph_name(proto, fallback: str) -> str:
    return proto.graph.name or fallback


def import_onnx(model, name: str | None = None) -> Graph:
    """Import an ONNX model (path or ``ModelProto``) into a verified IR graph.

    Raises :class:`ModelLoadError` for unreadable files and :class:`UnsupportedOpError` listing
    every unsupported construct at once.
    """
    proto = load_model(model)
    if name is None:
        name = (Path(str(model)).stem if not hasattr(model, "graph")
                else (proto.graph.name or "model"))
    return _Importer(proto, name).run()
