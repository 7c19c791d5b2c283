# SPDX-License-Identifier: Apache-2.0
"""BYOC: offload conv / pool / FC / requantize from a Relax module to the NEON kernel library.

Flow (TVM 0.27 Relax): ``FuseOpsByPattern(patterns(), annotate_codegen=True)`` groups the op
sequences that :mod:`edgepool.tvm.relax_import` emits for a layer into composite functions
(``"Composite": "edgepool_neon.<kind>"``), ``MergeCompositeFunctions`` merges neighbouring
composites into one external function (``"Codegen": "edgepool_neon"``) and ``RunCodegen`` hands
those to the global function ``relax.ext.edgepool_neon`` registered here. It emits C calling
``neon/include/edgepool_neon.h`` (weights, biases and kernel parameters as constants in the C;
weights packed once on the first call; intermediate tensors of a merged function in static
buffers) and returns a ``CSourceModule``; ``export_library`` compiles it with the kernel
sources into the model's shared library. Everything not matched is compiled by TVM's LLVM
backend.

Patterns (``edgepool_neon.<kind>``), each a composite: ``conv_requant_maxpool`` (the fused
``ep_conv_maxpool``), ``conv_requant``, ``conv`` (raw accumulators), ``dense_requant``,
``dense``, ``maxpool``, ``global_maxpool``, ``requant``. A check rejects matches the kernels
cannot run exactly (dtypes, accumulator width, unsupported pool attributes); those stay in TVM.

Unsigned 8-bit activations (``u8`` after a ReLU) feed the kernels' int8 arithmetic through an
exact offset: ``x = x' + 128`` with ``x' = x - 128`` in int8, so ``W·x + b = W·x' + (b + 128·ΣW)``;
the convolution's zero padding becomes explicit padding with ``-128`` (the generated C writes the
shifted, padded input into a scratch buffer). Accepted only when the bound
``128·Σ|W| + |b'|`` fits the kernel's int32 accumulators.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tvm
import tvm_ffi
from tvm import relax
from tvm.relax.dpl import is_const, is_op, wildcard

from ..ir.kernels import pool_output_size

CODEGEN = "edgepool_neon"
EP_DTYPE = {"int8": "EP_I8", "uint8": "EP_U8", "int16": "EP_I16", "uint16": "EP_U16",
            "int32": "EP_I32", "int64": "EP_I64", "float32": "EP_F32"}
C_TYPE = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "uint16": "uint16_t",
          "int32": "int32_t", "int64": "int64_t", "float32": "float"}
KERNEL_ACC = {"int8": "int32", "int16": "int64"}


# --------------------------------------------------------------------------- patterns
def _requant_variants(acc):
    """(name suffix, pattern) for every requantize sequence the importer can emit on ``acc``."""
    out = []
    for cast_out in (True, False):
        for relu in (True, False):
            for shift in ("pos", "neg", "zero"):
                for cast_in in (True, False):
                    a = is_op("relax.astype")(acc) if cast_in else acc
                    if shift == "pos":
                        odd = is_op("relax.bitwise_and")(is_op("relax.right_shift")(a, is_const()),
                                                         is_const())
                        t = is_op("relax.add")(is_op("relax.add")(a, odd), is_const())
                        y = is_op("relax.right_shift")(t, is_const())
                    elif shift == "neg":
                        y = is_op("relax.left_shift")(a, is_const())
                    else:
                        y = a
                    if relu:
                        y = is_op("relax.maximum")(y, is_const())
                    y = is_op("relax.clip")(y, wildcard(), wildcard())
                    if cast_out:
                        y = is_op("relax.astype")(y)
                    out.append(y)
    return out


def _conv_base(bias: bool):
    c = is_op("relax.nn.conv2d")(wildcard(), is_const())
    return is_op("relax.add")(c, is_const()) if bias else c


def _dense_base(bias: bool):
    m = is_op("relax.matmul")(wildcard(), is_const())
    return is_op("relax.add")(m, is_const()) if bias else m


def _threshold_variants():
    """Every sequence the importer emits for a ``Threshold`` (relax_import.op_Threshold):
    [astype] [× direction] → expand_dims → greater_equal(T) → astype → sum → × step + base →
    [astype]."""
    out = []
    for cast_in in (True, False):
        for direction in (True, False):
            for cast_out in (True, False):
                a = is_op("relax.astype")(wildcard()) if cast_in else wildcard()
                if direction:
                    a = is_op("relax.multiply")(a, is_const())
                hit = is_op("relax.astype")(
                    is_op("relax.greater_equal")(is_op("relax.expand_dims")(a), is_const()))
                y = is_op("relax.add")(
                    is_op("relax.multiply")(is_op("relax.sum")(hit), is_const()), is_const())
                out.append(is_op("relax.astype")(y) if cast_out else y)
    return out


@functools.cache
def patterns() -> list[relax.transform.FusionPattern]:
    """The fusion patterns, most specific first (order is priority)."""
    pats: list[tuple[str, Any]] = []
    for bias in (True, False):
        for rq in _requant_variants(_conv_base(bias)):
            pats.append(("conv_requant_maxpool", is_op("relax.nn.max_pool2d")(rq)))
    for bias in (True, False):
        for rq in _requant_variants(_conv_base(bias)):
            pats.append(("conv_requant", rq))
    for bias in (True, False):
        for rq in _requant_variants(_dense_base(bias)):
            pats.append(("dense_requant", rq))
    for bias in (True, False):
        pats.append(("conv", _conv_base(bias)))
        pats.append(("dense", _dense_base(bias)))
    pats += [("threshold", t) for t in _threshold_variants()]
    pats.append(("maxpool", is_op("relax.nn.max_pool2d")(wildcard())))
    pats.append(("global_maxpool", is_op("relax.max")(wildcard())))
    for rq in _requant_variants(wildcard()):
        pats.append(("requant", rq))
    return [relax.transform.FusionPattern(f"{CODEGEN}.{kind}", p, {}, _check)
            for kind, p in pats]


# --------------------------------------------------------------------------- parsing a match
class Unsupported(Exception):
    """A matched sequence the kernels cannot run exactly (stays in TVM)."""


@dataclass
class Layer:
    """One kernel call parsed from a composite: ``kind`` and everything the C call needs."""

    kind: str
    in_shape: tuple[int, ...]
    in_dtype: str
    out_shape: tuple[int, ...]
    out_dtype: str
    p: dict[str, Any] = field(default_factory=dict)


def _dtype(e: relax.Expr) -> str:
    return str(e.ty.dtype)


def _shape(e: relax.Expr) -> tuple[int, ...]:
    return tuple(int(s) for s in e.ty.shape)


def _op(e) -> str | None:
    return e.op.name if isinstance(e, relax.Call) and isinstance(e.op, tvm.ir.Op) else None


def _ints(a) -> tuple[int, ...]:
    return tuple(int(v) for v in a)


def _pv(e) -> int:
    """Integer of a PrimValue / IntImm argument."""
    v = e.value
    return int(v.value if hasattr(v, "value") else v)


def _cval(e) -> np.ndarray:
    if not isinstance(e, tvm.ir.expr.Constant):
        raise Unsupported("expected a constant")
    return e.value.numpy()


class _Parser:
    """Walks a matched op chain from its root (bindings resolve dataflow vars)."""

    def __init__(self, bindings) -> None:
        self.b = {k: v for k, v in bindings.items()}

    def val(self, e):
        while isinstance(e, relax.Var) and e in self.b:
            e = self.b[e]
        return e

    def parse(self, root) -> Layer:
        e = self.val(root)
        op = _op(e)
        if self.is_threshold(e):
            return self.threshold(e)
        if op == "relax.nn.max_pool2d":
            pool = self.pool_attrs(e)
            inner = self.val(e.args[0])
            if _op(inner) in ("relax.astype", "relax.clip"):
                lay = self.requant_chain(inner)
                if lay.kind != "conv_requant":
                    raise Unsupported("max pool after a non-conv requant")
                if pool["dh"] != 1 or pool["dw"] != 1:
                    raise Unsupported("fused pool with dilation")
                lay.kind = "conv_requant_maxpool"
                lay.p["pool"] = pool
                lay.out_shape = _shape(e)
                return lay
            return self.maxpool(e, pool)
        if op == "relax.max":
            return self.global_max(e)
        if op in ("relax.astype", "relax.clip"):
            return self.requant_chain(e)
        if op in ("relax.nn.conv2d", "relax.add", "relax.matmul"):
            lay = self.acc_source(e)
            if lay is None:
                raise Unsupported("not a conv/dense")
            acc = lay.out_dtype
            if KERNEL_ACC.get(lay.p["arith"]) != acc:
                raise Unsupported(f"raw accumulator {acc} differs from the kernel's")
            return lay
        raise Unsupported(f"unexpected root {op}")

    # thresholds
    def _threshold_add(self, e):
        """The ``× step + base`` add of a threshold chain rooted at ``e``, or None."""
        if _op(e) == "relax.astype":
            e = self.val(e.args[0])
        if _op(e) != "relax.add":
            return None
        m = self.val(e.args[0])
        if _op(m) != "relax.multiply" or _op(self.val(m.args[0])) != "relax.sum":
            return None
        return e

    def is_threshold(self, e) -> bool:
        return self._threshold_add(e) is not None

    def threshold(self, root) -> Layer:
        """``ep_threshold_i32``: channels-last int32 accumulators, (C, n) or (n,) table."""
        out_dtype = _dtype(root)
        add = self._threshold_add(root)
        base = int(_cval(add.args[1]))
        mul = self.val(add.args[0])
        step = int(_cval(mul.args[1]))
        hit = self.val(self.val(mul.args[0]).args[0])
        ge = self.val(hit.args[0])
        if _op(ge) != "relax.greater_equal":
            raise Unsupported("threshold without a comparison")
        t = _cval(ge.args[1]).astype(np.int64)
        a_e = self.val(ge.args[0]).args[0]                  # the expand_dims operand
        a = self.val(a_e)
        direction = None
        if _op(a) == "relax.multiply":
            direction = _cval(a.args[1]).astype(np.int64).reshape(-1)
            a_e = a.args[0]
            a = self.val(a_e)
        if _op(a) == "relax.astype":
            a_e = a.args[0]
        if _dtype(a_e) != "int32" or out_dtype not in ("int8", "uint8", "int16", "uint16",
                                                        "int32"):
            raise Unsupported("threshold dtypes")
        shape = _shape(a_e)
        c = shape[-1]
        if t.ndim == 1:
            t = np.repeat(t[None, :], c, axis=0)
        if t.ndim != 2 or t.shape[0] != c or (direction is not None
                                               and direction.size not in (1, c)):
            raise Unsupported("threshold table is not channels-last")
        if np.abs(t).max(initial=0) >= 2 ** 31:
            raise Unsupported("thresholds beyond int32")
        if direction is not None:
            direction = np.broadcast_to(direction, (c,))
        return Layer("threshold", shape, "int32", _shape(root), out_dtype,
                     {"t": t, "dir": direction, "base": base, "step": step})

    # pools
    def pool_attrs(self, e) -> dict[str, Any]:
        a = e.attrs
        if str(a.layout) != "NHWC" or (a.out_layout and str(a.out_layout) != "NHWC"):
            raise Unsupported("pool layout")
        kh, kw = _ints(a.pool_size)
        sh, sw = _ints(a.strides)
        dh, dw = _ints(a.dilation)
        pad = _ints(a.padding)
        pad = pad * 2 if len(pad) == 2 else pad
        return {"kh": kh, "kw": kw, "sh": sh, "sw": sw, "pt": pad[0], "pl": pad[1],
                "pb": pad[2], "pr": pad[3], "dh": dh, "dw": dw, "ceil": int(bool(a.ceil_mode))}

    def maxpool(self, e, pool) -> Layer:
        x = e.args[0]
        if _dtype(x) not in ("int8", "uint8", "int16", "uint16"):
            raise Unsupported("pool dtype")
        if pool["ceil"]:
            raise Unsupported("ceil_mode pooling (TVM's overhang rule differs in corner cases)")
        return Layer("maxpool", _shape(x), _dtype(x), _shape(e), _dtype(e), {"pool": pool})

    def global_max(self, e) -> Layer:
        x = e.args[0]
        axes = None if e.attrs.axis is None else _ints(e.attrs.axis)
        if (len(_shape(x)) != 4 or axes != (1, 2) or not bool(e.attrs.keepdims)
                or _dtype(x) not in ("int8", "uint8", "int16", "uint16")):
            raise Unsupported("global max")
        return Layer("global_maxpool", _shape(x), _dtype(x), _shape(e), _dtype(e))

    # requantization
    def requant_chain(self, e) -> Layer:
        out_dtype = _dtype(e)
        if _op(e) == "relax.astype":
            e = self.val(e.args[0])
        if _op(e) != "relax.clip":
            raise Unsupported("requant without clip")
        qmin, qmax = _pv(e.args[1]), _pv(e.args[2])
        y = self.val(e.args[0])
        relu = False
        if _op(y) == "relax.maximum":
            if int(_cval(y.args[1])) != 0:
                raise Unsupported("maximum with non-zero")
            relu, y = True, self.val(y.args[0])
        if _op(y) == "relax.right_shift":
            shift = int(_cval(y.args[1]))
            t = self.val(y.args[0])
            half = int(_cval(t.args[1]))
            t2 = self.val(t.args[0])
            acc_e = t2.args[0]
            odd = self.val(t2.args[1])
            rs = self.val(odd.args[0])
            if (half != (1 << (shift - 1)) - 1 or int(_cval(odd.args[1])) != 1
                    or int(_cval(rs.args[1])) != shift or self.val(rs.args[0]) is not
                    self.val(acc_e)):
                raise Unsupported("not a round-half-even shift")
        elif _op(y) == "relax.left_shift":
            shift = -int(_cval(y.args[1]))
            acc_e = y.args[0]
        else:
            shift, acc_e = 0, y
        a = self.val(acc_e)
        if _op(a) == "relax.astype":                     # widened accumulator
            acc_e = a.args[0]
            a = self.val(acc_e)
        acc_dtype = _dtype(acc_e)
        if acc_dtype not in ("int32", "int64"):
            raise Unsupported("requant of a non-accumulator")
        if out_dtype not in ("int8", "uint8", "int16", "uint16", "int32"):
            raise Unsupported("requant output dtype")
        info = np.iinfo(out_dtype)
        qmin, qmax = max(qmin, int(info.min)), min(qmax, int(info.max))
        if qmin > qmax:
            raise Unsupported("empty range")
        rq = {"shift": shift, "relu": int(relu), "qmin": qmin, "qmax": qmax, "out": out_dtype}
        src = self.acc_source(a) if _op(a) in ("relax.nn.conv2d", "relax.add",
                                               "relax.matmul") else None
        if src is not None:
            if src.out_dtype != acc_dtype or KERNEL_ACC[src.p["arith"]] not in (
                    acc_dtype, "int64"):
                raise Unsupported("accumulator dtype")
            if src.p["arith"] == "int8" and acc_dtype != "int32":
                raise Unsupported("int8 kernel with int64 accumulators")
            src.kind += "_requant"
            src.p["rq"] = rq
            src.out_dtype = out_dtype
            return src
        return Layer("requant", _shape(acc_e), acc_dtype, _shape(acc_e), out_dtype, {"rq": rq})

    # accumulator sources
    def acc_source(self, e) -> Layer | None:
        bias = None
        if _op(e) == "relax.add":
            if not isinstance(e.args[1], tvm.ir.expr.Constant):
                return None
            bias = _cval(e.args[1]).astype(np.int64).reshape(-1)
            e = self.val(e.args[0])
        if _op(e) == "relax.nn.conv2d":
            return self.conv(e, bias)
        if _op(e) == "relax.matmul":
            return self.dense(e, bias)
        return None

    @staticmethod
    def _arith(x_dtype: str, w: np.ndarray) -> tuple[str, bool]:
        """(kernel arithmetic, unsigned-offset) for an input dtype and integer weights."""
        if x_dtype == "int8" and w.dtype == np.int8:
            return "int8", False
        if x_dtype == "uint8" and w.dtype == np.int8 and int(w.min()) >= -128:
            return "int8", True
        if x_dtype in ("int8", "uint8", "int16") and w.dtype in (np.int8, np.int16):
            return "int16", False
        raise Unsupported(f"conv/dense of {x_dtype} by {w.dtype}")

    @staticmethod
    def _offset_bias(w_rows: np.ndarray, bias: np.ndarray | None, arith: str,
                     offset: bool) -> np.ndarray:
        """Bias (per output) with the unsigned-offset correction; checks the int32 bound."""
        m = w_rows.shape[0]
        b = np.zeros(m, np.int64) if bias is None else bias.astype(np.int64)
        if b.shape != (m,):
            raise Unsupported("bias shape")
        flat = w_rows.reshape(m, -1).astype(np.int64)
        if offset:
            b = b + 128 * flat.sum(axis=1)
            bound = 128 * np.abs(flat).sum(axis=1) + np.abs(b)
            if int(bound.max()) >= 2 ** 31:
                raise Unsupported("offset accumulator bound exceeds int32")
        if arith == "int8" and (int(np.abs(b).max(initial=0)) >= 2 ** 31):
            raise Unsupported("bias exceeds int32")
        return b

    def conv(self, e, bias) -> Layer:
        a = e.attrs
        if (str(a.data_layout) != "NHWC" or str(a.kernel_layout) != "HWIO"
                or str(a.out_layout) not in ("NHWC", "")):
            raise Unsupported("conv layout")
        x = e.args[0]
        w_hwio = _cval(e.args[1])
        n, h, wd, ic = _shape(x)
        if n != 1:
            raise Unsupported("batch")
        groups = int(a.groups)
        kh, kw, icg, oc = w_hwio.shape
        w = np.ascontiguousarray(np.transpose(w_hwio, (3, 0, 1, 2)))  # OHWI
        arith, offset = self._arith(_dtype(x), w)
        if offset and groups != 1:
            raise Unsupported("unsigned grouped conv")
        if arith == "int16":
            w = w.astype(np.int16)
        pad = _ints(a.padding)
        pad = pad * 2 if len(pad) == 2 else pad
        b = self._offset_bias(w, bias, arith, offset)
        sh, sw = _ints(a.strides)
        dh, dw = _ints(a.dilation)
        return Layer("conv", _shape(x), _dtype(x), _shape(e), _dtype(e), {
            "arith": arith, "offset": offset, "w": w, "bias": b if (bias is not None or offset)
            else None, "h": h, "w_": wd, "ic": ic, "oc": oc, "kh": kh, "kw": kw, "sh": sh,
            "sw": sw, "pt": pad[0], "pl": pad[1], "pb": pad[2], "pr": pad[3], "dh": dh,
            "dw": dw, "groups": groups})

    def dense(self, e, bias) -> Layer:
        x = e.args[0]
        wt = _cval(e.args[1])                          # (K, N)
        if len(_shape(x)) != 2 or _shape(x)[0] != 1 or wt.ndim != 2:
            raise Unsupported("dense shape")
        w = np.ascontiguousarray(wt.T)                 # (M=N, K) row-major
        arith, offset = self._arith(_dtype(x), w)
        if arith == "int16":
            w = w.astype(np.int16)
        b = self._offset_bias(w, bias, arith, offset)
        return Layer("dense", _shape(x), _dtype(x), _shape(e), _dtype(e), {
            "arith": arith, "offset": offset, "w": w,
            "bias": b if (bias is not None or offset) else None,
            "n": int(w.shape[1]), "m": int(w.shape[0])})


def _escapes(ctx) -> bool:
    """True when a value inside the match (other than its result) is used outside it: the
    kernels produce one output (a fused conv→pool cannot also deliver the pre-pool tensor)."""
    matched = list(ctx.matched_bindings.keys())
    root = ctx.value_to_bound_var.get(ctx.matched_expr)
    for v in matched:
        if root is not None and v.same_as(root):
            continue
        for u in ctx.var_usages.get(v, []):
            if not any(u.same_as(m) for m in matched):
                return True
    return False


def _check(ctx) -> bool:
    """FusionPattern check: accept only what the kernels run exactly, with one output."""
    if _escapes(ctx):
        return False
    try:
        _Parser(ctx.matched_bindings).parse(ctx.matched_expr)
    except (Unsupported, AttributeError, TypeError, ValueError, IndexError):
        return False
    return True


# --------------------------------------------------------------------------- C emission
def _c_array(name: str, a: np.ndarray, ctype: str) -> str:
    vals = a.reshape(-1).tolist()
    rows = [", ".join(str(int(v)) for v in vals[i:i + 24]) for i in range(0, len(vals), 24)]
    body = ",\n    ".join(rows)
    return (f"static const {ctype} {name}[{max(len(vals), 1)}] "
            f"__attribute__((aligned(16))) = {{\n    {body}\n}};\n")


class _Emitter:
    """C for the merged functions of one RunCodegen call (one translation unit)."""

    def __init__(self) -> None:
        self.decls: list[str] = []
        self.inits: list[str] = []
        self.scratch: list[str] = []
        self.funcs: list[str] = []
        self.n = 0
        self.layers: list[tuple[str, str]] = []         # (symbol, kind) for reports

    def fresh(self) -> int:
        self.n += 1
        return self.n

    def buffer(self, shape, dtype) -> str:
        i = self.fresh()
        count = max(int(np.prod(shape)), 1)
        self.decls.append(
            f"static {C_TYPE[dtype]} ep_t{i}[{count}] __attribute__((aligned(16)));\n")
        return f"ep_t{i}"

    def rq_struct(self, i: int, rq: dict[str, Any]) -> str:
        self.decls.append(
            f"static const ep_requant ep_rq{i} = {{.shift = {rq['shift']}, .relu = {rq['relu']}, "
            f".qmin = {rq['qmin']}, .qmax = {rq['qmax']}, .out = {EP_DTYPE[rq['out']]}}};\n")
        return f"&ep_rq{i}"

    def pool_struct(self, i: int, pool: dict[str, Any], hwc) -> str:
        h, w, c = hwc
        self.decls.append(
            f"static const ep_pool_params ep_pp{i} = {{.h = {h}, .w = {w}, .c = {c}, "
            f".kh = {pool['kh']}, .kw = {pool['kw']}, .sh = {pool['sh']}, .sw = {pool['sw']}, "
            f".pt = {pool['pt']}, .pl = {pool['pl']}, .pb = {pool['pb']}, .pr = {pool['pr']}, "
            f".dh = {pool['dh']}, .dw = {pool['dw']}, .ceil_mode = {pool['ceil']}, "
            f".count_include_pad = 0, .algo = EP_ALGO_AUTO}};\n")
        return f"&ep_pp{i}"

    def weights(self, i: int, p: dict) -> tuple[str, str]:
        """Declare layer ``i``'s weight (and bias, at the kernel's accumulator type) arrays;
        returns their C names (``"NULL"`` for an absent bias)."""
        t = p["arith"]
        wname, bname = f"ep_w{i}", f"ep_b{i}"
        self.decls.append(_c_array(wname, p["w"], C_TYPE[t]))
        if p["bias"] is None:
            return wname, "NULL"
        acc = KERNEL_ACC[t]
        self.decls.append(_c_array(bname, p["bias"].astype(acc), C_TYPE[acc]))
        return wname, bname

    def layer(self, lay: Layer, x: str, out: str) -> list[str]:
        """Statements computing ``out`` from ``x`` (C expressions of data pointers)."""
        i = self.fresh()
        k = lay.kind
        self.layers.append((k, lay.in_dtype))
        code: list[str] = []
        if k.startswith("conv"):
            p = lay.p
            t = p["arith"]
            wname, b = self.weights(i, p)
            h, wd, pads = p["h"], p["w_"], (p["pt"], p["pl"], p["pb"], p["pr"])
            if p["offset"]:                              # explicit -128 padding, shifted input
                hp, wp = h + pads[0] + pads[2], wd + pads[1] + pads[3]
                xp = self.buffer((hp, wp, p["ic"]), "int8")
                code.append(f"ep_offset_pad({x}, {h}, {wd}, {p['ic']}, {pads[0]}, {pads[1]}, "
                            f"{pads[2]}, {pads[3]}, {xp});")
                x, h, wd, pads = xp, hp, wp, (0, 0, 0, 0)
            elif t == "int16" and lay.in_dtype != "int16":
                xw = self.buffer(lay.in_shape, "int16")
                code.append(f"ep_widen_{lay.in_dtype}({x}, {int(np.prod(lay.in_shape))}, {xw});")
                x = xw
            self.decls.append(
                f"static const ep_conv_params ep_cp{i} = {{.h = {h}, .w = {wd}, .ic = {p['ic']}, "
                f".oc = {p['oc']}, .kh = {p['kh']}, .kw = {p['kw']}, .sh = {p['sh']}, "
                f".sw = {p['sw']}, .pt = {pads[0]}, .pl = {pads[1]}, .pb = {pads[2]}, "
                f".pr = {pads[3]}, .dh = {p['dh']}, .dw = {p['dw']}, .groups = {p['groups']}, "
                f".algo = EP_ALGO_SLIDING}};\n")
            self.decls.append(f"static void *ep_pk{i};\n")
            et = EP_DTYPE[t]
            self.inits.append(
                f"    ep_pk{i} = malloc(ep_conv_packed_bytes(&ep_cp{i}, {et}) + 16);\n"
                f"    if (!ep_pk{i} || ep_conv_pack(&ep_cp{i}, {et}, {wname}, ep_pk{i})) "
                f"return -1;\n")
            rq = self.rq_struct(i, p["rq"]) if "rq" in p else "NULL"
            if k == "conv_requant_maxpool":
                oh, ow = _conv_out(h, wd, p, pads)
                pp = self.pool_struct(i, p["pool"], (oh, ow, p["oc"]))
                self.scratch.append(f"ep_conv_maxpool_scratch_bytes(&ep_cp{i}, {et}, {pp}, {rq})")
                code.append(f"EP_CHECK(ep_conv_maxpool(&ep_cp{i}, {et}, {x}, ep_pk{i}, {b}, {rq}, "
                            f"{pp}, {out}, ep_scratch), {i});")
            else:
                self.scratch.append(f"ep_conv_scratch_bytes(&ep_cp{i}, {et})")
                code.append(f"EP_CHECK(ep_conv(&ep_cp{i}, {et}, {x}, ep_pk{i}, {b}, {rq}, {out}, "
                            "ep_scratch), " f"{i});")
            return code
        if k.startswith("dense"):
            p = lay.p
            t = p["arith"]
            wname, b = self.weights(i, p)
            if p["offset"]:
                xs = self.buffer((p["n"],), "int8")
                code.append(f"ep_offset_pad({x}, 1, {p['n']}, 1, 0, 0, 0, 0, {xs});")
                x = xs
            elif t == "int16" and lay.in_dtype != "int16":
                xw = self.buffer((p["n"],), "int16")
                code.append(f"ep_widen_{lay.in_dtype}({x}, {p['n']}, {xw});")
                x = xw
            rq = self.rq_struct(i, p["rq"]) if "rq" in p else "NULL"
            code.append(f"EP_CHECK(ep_fc({p['n']}, {p['m']}, {EP_DTYPE[t]}, {x}, {wname}, {b}, "
                        f"{rq}, {out}), {i});")
            return code
        if k == "maxpool":
            _, h, w, c = lay.in_shape
            pp = self.pool_struct(i, lay.p["pool"], (h, w, c))
            et = EP_DTYPE[lay.in_dtype]
            self.scratch.append(f"ep_maxpool_scratch_bytes({pp}, {et})")
            return [f"EP_CHECK(ep_maxpool({pp}, {et}, {x}, {out}, ep_scratch), {i});"]
        if k == "global_maxpool":
            _, h, w, c = lay.in_shape
            return [f"EP_CHECK(ep_global_maxpool({h}, {w}, {c}, {EP_DTYPE[lay.in_dtype]}, {x}, "
                    f"{out}), {i});"]
        if k == "threshold":
            p = lay.p
            c, n = p["t"].shape
            self.decls.append(_c_array(f"ep_th{i}", p["t"].T, "int32_t"))     # k-major
            d = "NULL"
            if p["dir"] is not None:
                self.decls.append(_c_array(f"ep_dir{i}", p["dir"], "int32_t"))
                d = f"ep_dir{i}"
            pixels = int(np.prod(lay.in_shape)) // c
            return [f"EP_CHECK(ep_threshold_i32({x}, {pixels}, {c}, ep_th{i}, {n}, {d}, "
                    f"{p['base']}, {p['step']}, {EP_DTYPE[lay.out_dtype]}, {out}), {i});"]
        if k == "requant":
            rq = self.rq_struct(i, lay.p["rq"])
            fn = "ep_requantize_i32" if lay.in_dtype == "int32" else "ep_requantize_i64"
            n = int(np.prod(lay.in_shape))
            return [f"EP_CHECK({fn}({x}, {n}, {rq}, {out}), {i});"]
        raise Unsupported(k)

    def function(self, func: relax.Function) -> str:
        """One merged (``Codegen``) function → a packed-convention C entry point."""
        sym = str(func.attrs["global_symbol"])
        params = list(func.params)
        names: dict[Any, str] = {}
        body: list[str] = []
        for j, prm in enumerate(params):
            names[prm] = f"ep_data(&args[{j}])"
        seq = func.body
        ret = seq.body
        rets = list(ret.fields) if isinstance(ret, relax.Tuple) else [ret]
        nin = len(params)
        out_of = {}
        for j, r in enumerate(rets):
            out_of[r] = f"ep_data(&args[{nin + j}])"
        locals_: dict[Any, relax.Function] = {}
        for block in seq.blocks:
            for bd in block.bindings:
                v = bd.value
                if isinstance(v, relax.Function):
                    locals_[bd.var] = v
                    continue
                if not isinstance(v, relax.Call):
                    raise Unsupported(f"{sym}: unexpected binding {type(v).__name__}")
                fn = locals_.get(v.op, v.op)
                if not isinstance(fn, relax.Function) or "Composite" not in fn.attrs:
                    raise Unsupported(f"{sym}: call of a non-composite")
                lay = parse_composite(fn)
                if len(v.args) != 1:
                    raise Unsupported(f"{sym}: composite with {len(v.args)} inputs")
                x = names[v.args[0]]
                if bd.var in out_of:
                    out = out_of[bd.var]
                else:
                    out = self.buffer(lay.out_shape, lay.out_dtype)
                names[bd.var] = out
                body.append(f"    /* {fn.attrs['Composite']} */")
                body += ["    " + s for s in self.layer(lay, x, out)]
        for r in rets:
            if names.get(r) != out_of[r]:
                raise Unsupported(f"{sym}: output is not computed in place")
        nargs = nin + len(rets)
        return (f"int32_t __tvm_ffi_{sym}(void *self, const TVMFFIAny *args, int32_t num_args,\n"
                f"                         TVMFFIAny *result) {{\n"
                f"    (void)self; (void)result;\n"
                f"    if (num_args != {nargs}) return ep_fail(\"{sym}: argument count\", "
                f"num_args);\n"
                f"    if (ep_init()) return ep_fail(\"{sym}: init\", -1);\n"
                + "\n".join(body) + "\n    return 0;\n}\n")


def _conv_out(h: int, w: int, p: dict[str, Any], pads) -> tuple[int, int]:

    return (pool_output_size(h, p["kh"], p["sh"], pads[0], pads[2], p["dh"], False),
            pool_output_size(w, p["kw"], p["sw"], pads[1], pads[3], p["dw"], False))


_PRELUDE = """\
// SPDX-License-Identifier: Apache-2.0
/* Generated by edgepool.tvm.byoc (relax.ext.edgepool_neon): the offloaded layers of the model
 * as calls into the NEON kernel library (neon/include/edgepool_neon.h). Weights, biases and
 * kernel parameters are constants; packed weights and scratch are set up on the first call. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tvm/ffi/c_api.h>

#include "edgepool_neon.h"

static DLTensor *ep_tensor(const TVMFFIAny *a) {
    if (a->type_index == kTVMFFIDLTensorPtr) return (DLTensor *)a->v_ptr;
    if (a->type_index == kTVMFFITensor)
        return (DLTensor *)((char *)a->v_obj + sizeof(TVMFFIObject));
    return NULL;
}

static void *ep_data(const TVMFFIAny *a) {
    DLTensor *t = ep_tensor(a);
    return t ? (char *)t->data + t->byte_offset : NULL;
}

static int32_t ep_fail(const char *what, int code) {
    char msg[256];
    snprintf(msg, sizeof msg, "edgepool_neon: %s (status %d)", what, code);
    TVMFFIErrorSetRaisedFromCStr("RuntimeError", msg);
    return -1;
}

#define EP_CHECK(call, layer)                                          \\
    do {                                                               \\
        int ep_rc_ = (call);                                           \\
        if (ep_rc_ != 0) return ep_fail("kernel of layer " #layer, ep_rc_); \\
    } while (0)

/* uint8 (h, w, c) -> int8 x - 128 with explicit padding of -128 (the offset of 0). */
static void __attribute__((unused)) ep_offset_pad(const void *src, int h, int w, int c,
                                                  int pt, int pl, int pb, int pr, int8_t *dst) {
    const uint8_t *s = (const uint8_t *)src;
    int wp = w + pl + pr, hp = h + pt + pb;
    memset(dst, -128, (size_t)hp * wp * c);
    for (int y = 0; y < h; y++) {
        int8_t *d = dst + ((size_t)(y + pt) * wp + pl) * c;
        const uint8_t *r = s + (size_t)y * w * c;
        for (int i = 0; i < w * c; i++) d[i] = (int8_t)(r[i] - 128);
    }
}

static void __attribute__((unused)) ep_widen_int8(const void *src, size_t n, int16_t *dst) {
    for (size_t i = 0; i < n; i++) dst[i] = ((const int8_t *)src)[i];
}

static void __attribute__((unused)) ep_widen_uint8(const void *src, size_t n, int16_t *dst) {
    for (size_t i = 0; i < n; i++) dst[i] = ((const uint8_t *)src)[i];
}
"""


def parse_composite(fn: relax.Function) -> Layer:
    """The kernel call of one composite function (``"Composite": "edgepool_neon.*"``)."""
    bindings = {}
    for block in fn.body.blocks:
        for bd in block.bindings:
            bindings[bd.var] = bd.value
    lay = _Parser(bindings).parse(fn.body.body)
    kind = str(fn.attrs["Composite"]).split(".", 1)[1]
    if lay.kind != kind:
        raise Unsupported(f"composite {kind} parsed as {lay.kind}")
    return lay


def generate_c(funcs: list[relax.Function]) -> tuple[str, list[str], list[tuple[str, str]]]:
    """(C source, exported symbols, [(layer kind, input dtype)]) for merged functions."""
    em = _Emitter()
    bodies = [em.function(f) for f in funcs]
    syms = [str(f.attrs["global_symbol"]) for f in funcs]
    scratch = " \\\n        ".join(f"ep_max_sz(n, {s});" for s in em.scratch) or ""
    init = ("static void *ep_scratch;\n"
            "static int ep_ready;\n"
            "#define ep_max_sz(n, e) do { size_t s_ = (size_t)(e); if (s_ > (n)) (n) = s_; } "
            "while (0)\n"
            "static int ep_init(void) {\n"
            "    if (ep_ready) return 0;\n"
            "    size_t n = 16;\n"
            + (f"    {scratch}\n" if scratch else "")
            + "    ep_scratch = malloc(n + 16);\n    if (!ep_scratch) return -1;\n"
            + "".join(em.inits)
            + "    ep_ready = 1;\n    return 0;\n}\n")
    src = _PRELUDE + "\n" + "".join(em.decls) + "\n" + init + "\n" + "\n".join(bodies)
    return src, syms, em.layers


#: the last sources produced by the codegen (symbol list → C), for build directories
GENERATED: list[str] = []


@tvm_ffi.register_global_func(f"relax.ext.{CODEGEN}", override=True)
def _codegen(funcs, options, constant_names):
    """RunCodegen hook: merged functions → one C source runtime module."""
    src, syms, _ = generate_c(list(funcs))
    GENERATED.append(src)
    create = tvm.get_global_func("runtime.CSourceModuleCreate")
    return [create(src, "c", syms, [])]


# --------------------------------------------------------------------------- driver
def partition(mod: tvm.IRModule) -> tvm.IRModule:
    """Pattern-match, merge and annotate offloadable regions (no codegen yet). External
    functions get short deterministic symbols ``edgepool_neon_<i>`` (in ``main`` order)."""
    seq = tvm.transform.Sequential([
        relax.transform.FuseOpsByPattern(patterns(), bind_constants=True,
                                         annotate_codegen=False),
        relax.transform.MergeCompositeFunctions(),
    ])
    part = seq(mod)
    order = []
    for block in part["main"].body.blocks:
        for bd in block.bindings:
            v = bd.value
            if isinstance(v, relax.Call) and isinstance(v.op, tvm.ir.GlobalVar):
                f = part[v.op]
                if isinstance(f, relax.Function) and "Codegen" in f.attrs and v.op not in order:
                    order.append(v.op)
    for i, gv in enumerate(order):
        part[gv] = part[gv].with_attr("global_symbol", f"{CODEGEN}_{i}")
    return part


def offload_stats(partitioned: tvm.IRModule) -> dict[str, Any]:
    """Counts on a partitioned module: external functions, composites by kind, the Relax op
    calls left to TVM in ``main`` (excluding the calls of external functions)."""
    ext, comps, kinds = 0, 0, {}
    for f in partitioned.functions.values():
        if isinstance(f, relax.Function) and f.attrs is not None and "Codegen" in f.attrs:
            ext += 1
            for block in f.body.blocks:
                for bd in block.bindings:
                    v = bd.value
                    if isinstance(v, relax.Function) and "Composite" in v.attrs:
                        comps += 1
                        k = str(v.attrs["Composite"])
                        kinds[k] = kinds.get(k, 0) + 1
    tvm_ops: dict[str, int] = {}
    main = partitioned["main"]
    ext_calls = 0
    for block in main.body.blocks:
        for bd in block.bindings:
            v = bd.value
            if isinstance(v, relax.Call):
                if isinstance(v.op, tvm.ir.Op):
                    tvm_ops[v.op.name] = tvm_ops.get(v.op.name, 0) + 1
                else:
                    ext_calls += 1
    return {"external_functions": ext, "external_calls": ext_calls, "composites": comps,
            "composite_kinds": dict(sorted(kinds.items())),
            "tvm_ops": dict(sorted(tvm_ops.items())),
            "tvm_op_count": sum(tvm_ops.values())}


def offload(mod: tvm.IRModule) -> tuple[tvm.IRModule, dict[str, Any], str]:
    """Partition and run the codegen: (module with external calls, stats, generated C)."""
    part = partition(mod)
    stats = offload_stats(part)
    GENERATED.clear()
    out = relax.transform.RunCodegen()(part)
    if out.get_attr("const_name_to_constant") is not None:
        out = out.without_attr("const_name_to_constant")   # the weights live in the C
    src = "\n".join(GENERATED)
    return out, stats, src
