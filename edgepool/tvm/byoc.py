# SPDX-License-Identifier: Apache-2.0
"""BYOC: offload conv / pool / FC / requantize from a Relax module to the NEON kernel library.

Flow (TVM 0.27 Relax): :mod:`edgepool.tvm.relax_import` emits every node a kernel may run — the
IR is already fused by the ``fuse`` / ``lower-cpu`` passes — as one private function with the
attribute ``"edgepool.layer": <kind>``. :func:`partition` keeps those the kernels run exactly
(:func:`accepts`: it parses the function into one kernel call) as composites
(``"Composite": "edgepool_neon.<kind>"``), inlines the others back into ``main``, and
``MergeCompositeFunctions`` merges neighbouring composites into one external function
(``"Codegen": "edgepool_neon"``); ``RunCodegen`` hands those to the global function
``relax.ext.edgepool_neon`` registered here. This module is the Relax side: it parses each
composite into a typed :class:`~edgepool.neon.glue.Layer` and each merged function into a
:class:`~edgepool.neon.glue.GlueFunction` (:func:`describe`); :mod:`edgepool.neon.glue` renders the
C calling ``neon/include/edgepool_neon.h``
(weights, biases and kernel parameters as constants in the C; weights packed once on the first
call; intermediate tensors of a merged function in static buffers) and returns a
``CSourceModule``; ``export_library`` compiles it with the kernel sources into the model's
shared library. Everything not offloaded is compiled by TVM's LLVM backend.

Kinds (``edgepool_neon.<kind>``), one per fused IR node: ``conv_requant_maxpool`` (the fused
``ep_conv_maxpool``), ``conv_requant``, ``conv`` (raw accumulators), ``dense_requant``,
``dense``, ``maxpool``, ``global_maxpool``, ``requant``. A layer the kernels cannot run exactly
(dtypes, accumulator width, unsupported pool attributes) stays in TVM.

Unsigned 8-bit activations (``u8`` after a ReLU) feed the kernels' int8 arithmetic through an
exact offset: ``x = x' + 128`` with ``x' = x - 128`` in int8, so ``W·x + b = W·x' + (b + 128·ΣW)``;
the convolution's zero padding becomes explicit padding with ``-128`` (the generated C writes the
shifted, padded input into a scratch buffer). Accepted only when the bound
``128·Σ|W| + |b'|`` fits the kernel's int32 accumulators.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tvm
import tvm_ffi
from tvm import relax

from ..neon import glue
from ..neon.glue import (
    KERNEL_ACC,
    Arg,
    ConvParams,
    DenseParams,
    GlueCall,
    GlueFunction,
    Layer,
    PoolWindow,
    Requant,
    Temp,
    ThresholdParams,
)
from .relax_import import LAYER_ATTR

CODEGEN = "edgepool_neon"


# --------------------------------------------------------------------------- parsing a match
class Unsupported(Exception):
    """A matched sequence the kernels cannot run exactly (stays in TVM)."""


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
                if pool.dh != 1 or pool.dw != 1:
                    raise Unsupported("fused pool with dilation")
                lay.kind = "conv_requant_maxpool"
                lay.pool = pool
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
            if KERNEL_ACC.get(lay.arith) != acc:
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
                     threshold=ThresholdParams(t, direction, base, step))

    # pools
    def pool_attrs(self, e) -> PoolWindow:
        a = e.attrs
        if str(a.layout) != "NHWC" or (a.out_layout and str(a.out_layout) != "NHWC"):
            raise Unsupported("pool layout")
        kh, kw = _ints(a.pool_size)
        sh, sw = _ints(a.strides)
        dh, dw = _ints(a.dilation)
        pad = _ints(a.padding)
        pad = pad * 2 if len(pad) == 2 else pad
        return PoolWindow(kh, kw, sh, sw, pad[0], pad[1], pad[2], pad[3], dh, dw,
                          bool(a.ceil_mode))

    def maxpool(self, e, pool: PoolWindow) -> Layer:
        x = e.args[0]
        if _dtype(x) not in ("int8", "uint8", "int16", "uint16"):
            raise Unsupported("pool dtype")
        if pool.ceil:
            raise Unsupported("ceil_mode pooling (TVM's overhang rule differs in corner cases)")
        return Layer("maxpool", _shape(x), _dtype(x), _shape(e), _dtype(e), pool=pool)

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
        rq = Requant(shift, relu, qmin, qmax, out_dtype)
        src = self.acc_source(a) if _op(a) in ("relax.nn.conv2d", "relax.add",
                                               "relax.matmul") else None
        if src is not None:
            if src.out_dtype != acc_dtype or KERNEL_ACC[src.arith] not in (acc_dtype, "int64"):
                raise Unsupported("accumulator dtype")
            if src.arith == "int8" and acc_dtype != "int32":
                raise Unsupported("int8 kernel with int64 accumulators")
            src.kind += "_requant"
            src.rq = rq
            src.out_dtype = out_dtype
            return src
        return Layer("requant", _shape(acc_e), acc_dtype, _shape(acc_e), out_dtype, rq=rq)

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
        if arith == "int16":
            w = w.astype(np.int16)
        pad = _ints(a.padding)
        pad = pad * 2 if len(pad) == 2 else pad
        b = self._offset_bias(w, bias, arith, offset)
        sh, sw = _ints(a.strides)
        dh, dw = _ints(a.dilation)
        return Layer("conv", _shape(x), _dtype(x), _shape(e), _dtype(e), conv=ConvParams(
            arith=arith, offset=offset, w=w, bias=b if (bias is not None or offset) else None,
            h=h, w_=wd, ic=ic, oc=oc, kh=kh, kw=kw, sh=sh, sw=sw, pt=pad[0], pl=pad[1],
            pb=pad[2], pr=pad[3], dh=dh, dw=dw, groups=groups))

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
        return Layer("dense", _shape(x), _dtype(x), _shape(e), _dtype(e), dense=DenseParams(
            arith=arith, offset=offset, w=w, bias=b if (bias is not None or offset) else None,
            n=int(w.shape[1]), m=int(w.shape[0])))


# --------------------------------------------------------------------------- to the glue
def describe(func: relax.Function) -> GlueFunction:
    """One merged (``Codegen``) function → the typed description the C glue generator
    (:mod:`edgepool.neon.glue`) renders: its symbol, arity, and per composite call the parsed
    layer with the tensor it reads and the one it writes."""
    sym = str(func.attrs["global_symbol"])
    params = list(func.params)
    names: dict[Any, Arg | Temp] = {prm: Arg(j) for j, prm in enumerate(params)}
    seq = func.body
    ret = seq.body
    rets = list(ret.fields) if isinstance(ret, relax.Tuple) else [ret]
    nin = len(params)
    out_of = {r: Arg(nin + j) for j, r in enumerate(rets)}
    locals_: dict[Any, relax.Function] = {}
    calls: list[GlueCall] = []
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
            dst = out_of.get(bd.var, Temp(len(calls)))
            calls.append(GlueCall(str(fn.attrs["Composite"]), lay, names[v.args[0]], dst))
            names[bd.var] = dst
    for r in rets:
        if names.get(r) != out_of[r]:
            raise Unsupported(f"{sym}: output is not computed in place")
    return GlueFunction(sym, nin, len(rets), calls)


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


def generate_c(funcs: list[relax.Function], threads: int = 1) -> glue.GlueSource:
    """The C glue (:func:`edgepool.neon.glue.generate_c`) of merged functions."""
    return glue.generate_c([describe(f) for f in funcs], threads)


#: the last sources produced by the codegen (symbol list → C), for build directories
GENERATED: list[str] = []
#: threads per kernel of the running :func:`offload` (RunCodegen's hook takes no options)
_THREADS = [1]


@tvm_ffi.register_global_func(f"relax.ext.{CODEGEN}", override=True)
def _codegen(funcs, options, constant_names):
    """RunCodegen hook: merged functions → one C source runtime module."""
    src = generate_c(list(funcs), _THREADS[0])
    GENERATED.append(src.text)
    create = tvm.get_global_func("runtime.CSourceModuleCreate")
    return [create(src.text, "c", src.symbols, [])]


# --------------------------------------------------------------------------- driver
def accepts(fn: relax.Function) -> bool:
    """Whether the NEON kernels run the layer function ``fn`` exactly (as one call of its kind).
    """
    kind = str(fn.attrs[LAYER_ATTR])
    try:
        parse_composite(fn.with_attr("Composite", f"{CODEGEN}.{kind}"))
    except (Unsupported, AttributeError, TypeError, ValueError, IndexError):
        return False
    return True


def partition(mod: tvm.IRModule) -> tvm.IRModule:
    """Offloadable layers become composites, merged and annotated (no codegen yet); the rest
    is inlined into ``main``. External functions get short deterministic symbols
    ``edgepool_neon_<i>`` (in ``main`` order)."""
    funcs, kept = {}, []
    for gv, f in mod.functions.items():
        if (isinstance(f, relax.Function) and f.attrs is not None and LAYER_ATTR in f.attrs
                and accepts(f)):
            # public for the moment, so that only the rejected layers are inlined below
            f = f.with_attrs({"Composite": f"{CODEGEN}.{f.attrs[LAYER_ATTR]}",
                              "Primitive": True, "global_symbol": gv.name_hint})
            kept.append(gv)
        funcs[gv] = f
    # the layers the kernels do not take go back into main, for TVM to compile
    inl = relax.transform.InlinePrivateFunctions()(tvm.IRModule(funcs, attrs=mod.attrs))
    for gv in kept:
        inl[gv] = inl[gv].without_attr("global_symbol")
    part = relax.transform.MergeCompositeFunctions()(inl)
    order = []
    for block in part["main"].body.blocks:
        for bd in block.bindings:
            v = bd.value
            if isinstance(v, relax.Call) and isinstance(v.op, tvm.ir.GlobalVar):
                f = part[v.op]
                if (isinstance(f, relax.Function) and f.attrs is not None
                        and f.attrs.get("Codegen") == CODEGEN and v.op not in order):
                    order.append(v.op)
    for i, gv in enumerate(order):
        part[gv] = part[gv].with_attr("global_symbol", f"{CODEGEN}_{i}")
    return part


def offload_stats(partitioned: tvm.IRModule) -> dict[str, Any]:
    """Counts on a partitioned module: external functions, composites by kind, the Relax op
    calls left to TVM in ``main`` (excluding the calls of external functions)."""
    ext, comps, kinds = 0, 0, {}
    for f in partitioned.functions.values():
        if isinstance(f, relax.Function) and f.attrs is not None and \
                f.attrs.get("Codegen") == CODEGEN:
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


def offload(mod: tvm.IRModule, threads: int = 1) -> tuple[tvm.IRModule, dict[str, Any], str]:
    """Partition and run the codegen: (module with external calls, stats, generated C); the
    NEON kernels split each layer over up to ``threads`` threads."""
    part = partition(mod)
    stats = offload_stats(part)
    GENERATED.clear()
    _THREADS[0] = threads
    out = relax.transform.RunCodegen()(part)
    if out.get_attr("const_name_to_constant") is not None:
        out = out.without_attr("const_name_to_constant")   # the weights live in the C
    src = "\n".join(GENERATED)
    return out, stats, src
