# SPDX-License-Identifier: Apache-2.0
"""The NEON glue generator: typed layer descriptions → one C translation unit that calls the
NEON kernel library (``neon/include/edgepool_neon.h``) with TVM's packed calling convention.

The Relax side (:mod:`edgepool.tvm.byoc`) matches the op sequences of a layer, parses each
composite function into a :class:`Layer` and each merged external function into a
:class:`GlueFunction` (which layer reads which tensor). This module decides the C: weights,
biases and kernel parameters become constants, intermediate tensors static buffers, weights are
packed once on the first call (``ep_init``), and every entry point
``__tvm_ffi_<symbol>`` runs its layers in order. The text is rendered from typed contexts by
``edgepool/codegen/templates/neon/glue.c.j2`` through the one emitter environment
(:mod:`edgepool.codegen.emit`: ``StrictUndefined`` + the sanitizing ``finalize``), so nothing
from a model file reaches the C: symbols must be C identifiers, comments are reduced to
:func:`~edgepool.codegen.names.comment_text`.

Unsigned 8-bit activations feed the int8 kernels through an exact offset (``x' = x - 128``,
explicit ``-128`` padding; the bias carries ``128·ΣW``): layers with ``offset`` set get an
``ep_offset_pad`` into a scratch tensor before the kernel call; int16 kernels fed 8-bit inputs
get an ``ep_widen_<dtype>`` first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..codegen.emit import render
from ..codegen.names import check_ident, comment_text
from ..errors import ConfigError
from ..ir.kernels import pool_output_size
from .bridge import is_bipolar, pack_xnor

EP_DTYPE = {"int8": "EP_I8", "uint8": "EP_U8", "int16": "EP_I16", "uint16": "EP_U16",
            "int32": "EP_I32", "int64": "EP_I64", "float32": "EP_F32"}
C_TYPE = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "uint16": "uint16_t",
          "int32": "int32_t", "int64": "int64_t", "float32": "float"}
#: accumulator dtype of each kernel arithmetic
KERNEL_ACC = {"int8": "int32", "int16": "int64"}
#: values per line of a constant array
ROW = 24


# --------------------------------------------------------------------------- descriptions
@dataclass(frozen=True)
class Requant:
    """Requantization of accumulators (``ep_requant``): round-half-even shift right by
    ``shift`` (left by ``-shift``), optional ReLU, clip to ``[qmin, qmax]``, cast to ``out``."""

    shift: int
    relu: bool
    qmin: int
    qmax: int
    out: str


@dataclass(frozen=True)
class PoolWindow:
    """A max-pool window (``ep_pool_params`` without the input size); pads (t, l, b, r)."""

    kh: int
    kw: int
    sh: int
    sw: int
    pt: int
    pl: int
    pb: int
    pr: int
    dh: int
    dw: int
    ceil: bool


@dataclass
class ConvParams:
    """A convolution (``ep_conv_params``): weights OHWI in the kernel arithmetic's dtype,
    ``bias`` per output channel (``None``: no bias), ``offset``: the input is uint8 and enters
    the int8 kernel shifted by -128."""

    arith: str
    offset: bool
    w: np.ndarray
    bias: np.ndarray | None
    h: int
    w_: int
    ic: int
    oc: int
    kh: int
    kw: int
    sh: int
    sw: int
    pt: int
    pl: int
    pb: int
    pr: int
    dh: int
    dw: int
    groups: int


@dataclass
class DenseParams:
    """A fully connected layer (``ep_fc``): ``w`` is (m, n) row-major."""

    arith: str
    offset: bool
    w: np.ndarray
    bias: np.ndarray | None
    n: int
    m: int


@dataclass
class ThresholdParams:
    """A multi-threshold layer (``ep_threshold_i32``): ``t`` is the (C, n) table on int32
    accumulators, ``direction`` the optional per-channel ±1, output ``base + step·count``."""

    t: np.ndarray
    direction: np.ndarray | None
    base: int
    step: int


@dataclass
class Layer:
    """One kernel call: ``kind`` (``conv``, ``conv_requant``, ``conv_requant_maxpool``,
    ``dense``, ``dense_requant``, ``maxpool``, ``global_maxpool``, ``requant``, ``threshold``), the
    NHWC /
    flat shapes and dtypes of its input and output, and the parameters its kind needs."""

    kind: str
    in_shape: tuple[int, ...]
    in_dtype: str
    out_shape: tuple[int, ...]
    out_dtype: str
    conv: ConvParams | None = None
    dense: DenseParams | None = None
    rq: Requant | None = None
    pool: PoolWindow | None = None
    threshold: ThresholdParams | None = None

    @property
    def arith(self) -> str:
        """Kernel arithmetic (``int8`` / ``int16``) of a conv or dense layer."""
        mm = self.conv or self.dense
        if mm is None:
            raise ValueError(f"{self.kind} layer has no kernel arithmetic")
        return mm.arith


@dataclass(frozen=True)
class Arg:
    """Tensor argument ``index`` of the packed call (inputs first, then outputs)."""

    index: int


@dataclass(frozen=True)
class Temp:
    """A tensor computed and consumed inside one external function (a static buffer)."""

    id: int


@dataclass
class GlueCall:
    """``layer`` reads ``src`` and writes ``dst``; ``composite`` names the matched pattern."""

    composite: str
    layer: Layer
    src: Arg | Temp
    dst: Arg | Temp


@dataclass
class GlueFunction:
    """One external function: the C symbol suffix, its packed-call arity and its calls."""

    symbol: str
    n_inputs: int
    n_outputs: int
    calls: list[GlueCall] = field(default_factory=list)


@dataclass
class GlueSource:
    """The generated C, its exported symbols, and (layer kind, input dtype) per layer."""

    text: str
    symbols: list[str]
    layers: list[tuple[str, str]]


# --------------------------------------------------------------------------- planning
def _rows(a: np.ndarray) -> list[list[int]]:
    vals = [int(v) for v in np.asarray(a).reshape(-1).tolist()]
    return [vals[i:i + ROW] for i in range(0, len(vals), ROW)] or [[]]


def conv_out_hw(h: int, w: int, c: ConvParams, pads) -> tuple[int, int]:
    """Output (H, W) of ``c`` on an ``h`` x ``w`` input padded by ``pads`` (t, l, b, r)."""
    return (pool_output_size(h, c.kh, c.sh, pads[0], pads[2], c.dh, False),
            pool_output_size(w, c.kw, c.sw, pads[1], pads[3], c.dw, False))


class _Planner:
    """Typed contexts of one translation unit, in the order the C declares them."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self.decls: list[dict[str, Any]] = []
        self.inits: list[dict[str, Any]] = []
        self.scratch: list[dict[str, Any]] = []
        self.n = 0
        self.layers: list[tuple[str, str]] = []

    def fresh(self) -> int:
        self.n += 1
        return self.n

    def buffer(self, shape, dtype: str) -> str:
        i = self.fresh()
        name = f"ep_t{i}"
        self.decls.append(dict(kind="buffer", ctype=C_TYPE[dtype], name=name,
                               count=max(int(np.prod(shape)), 1)))
        return name

    def array(self, name: str, a: np.ndarray, dtype: str) -> None:
        self.decls.append(dict(kind="array", ctype=C_TYPE[dtype], name=name,
                               count=max(int(np.asarray(a).size), 1), rows=_rows(a)))

    def requant(self, i: int, rq: Requant) -> str:
        self.decls.append(dict(kind="requant", i=i, shift=int(rq.shift), relu=int(rq.relu),
                               qmin=int(rq.qmin), qmax=int(rq.qmax), out=EP_DTYPE[rq.out]))
        return f"&ep_rq{i}"

    def pool(self, i: int, p: PoolWindow, hwc) -> str:
        h, w, c = (int(v) for v in hwc)
        self.decls.append(dict(kind="pool", i=i, h=h, w=w, c=c, kh=p.kh, kw=p.kw, sh=p.sh,
                               sw=p.sw, pt=p.pt, pl=p.pl, pb=p.pb, pr=p.pr, dh=p.dh, dw=p.dw,
                               ceil=int(p.ceil)))
        return f"&ep_pp{i}"

    def weights(self, i: int, mm: ConvParams | DenseParams) -> tuple[str, str]:
        wname, bname = f"ep_w{i}", f"ep_b{i}"
        self.array(wname, mm.w, mm.arith)
        if mm.bias is None:
            return wname, "NULL"
        acc = KERNEL_ACC[mm.arith]
        self.array(bname, mm.bias.astype(acc), acc)
        return wname, bname

    def layer(self, lay: Layer, x: str, out: str) -> list[dict[str, Any]]:
        """Statements computing ``out`` from ``x`` (C expressions of data pointers)."""
        i = self.fresh()
        k = lay.kind
        self.layers.append((k, lay.in_dtype))
        code: list[dict[str, Any]] = []
        if k.startswith("conv") and lay.conv is not None:
            c = lay.conv
            wname, b = self.weights(i, c)
            h, wd, pads = c.h, c.w_, (c.pt, c.pl, c.pb, c.pr)
            if c.offset:                                 # explicit -128 padding, shifted input
                hp, wp = h + pads[0] + pads[2], wd + pads[1] + pads[3]
                xp = self.buffer((hp, wp, c.ic), "int8")
                code.append(dict(op="offset_pad", x=x, h=h, w=wd, c=c.ic, pt=pads[0],
                                 pl=pads[1], pb=pads[2], pr=pads[3], dst=xp))
                x, h, wd, pads = xp, hp, wp, (0, 0, 0, 0)
            elif c.arith == "int16" and lay.in_dtype != "int16":
                xw = self.buffer(lay.in_shape, "int16")
                code.append(dict(op="widen", dtype=lay.in_dtype, x=x,
                                 n=int(np.prod(lay.in_shape)), dst=xw))
                x = xw
            wbits, narrow = weight_bound(c.w) if c.arith == "int8" else (0, 0)
            threads = layer_threads(c, h, wd, pads, wbits, narrow, self.threads)
            self.decls.append(dict(kind="conv", i=i, h=h, w=wd, ic=c.ic, oc=c.oc, kh=c.kh,
                                   kw=c.kw, sh=c.sh, sw=c.sw, pt=pads[0], pl=pads[1],
                                   pb=pads[2], pr=pads[3], dh=c.dh, dw=c.dw, groups=c.groups,
                                   threads=threads, wbits=wbits, narrow=narrow))
            self.decls.append(dict(kind="packed", i=i))
            et = EP_DTYPE[c.arith]
            self.inits.append(dict(i=i, et=et, w=wname))
            rq = self.requant(i, lay.rq) if lay.rq is not None else "NULL"
            if k == "conv_requant_maxpool" and lay.pool is not None:
                oh, ow = conv_out_hw(h, wd, c, pads)
                pp = self.pool(i, lay.pool, (oh, ow, c.oc))
                self.scratch.append(dict(fn="conv_maxpool", i=i, et=et, pp=pp, rq=rq))
                code.append(dict(op="conv_maxpool", i=i, et=et, x=x, b=b, rq=rq, pp=pp,
                                 out=out))
            else:
                self.scratch.append(dict(fn="conv", i=i, et=et))
                code.append(dict(op="conv", i=i, et=et, x=x, b=b, rq=rq, out=out))
            return code
        if k.startswith("dense") and lay.dense is not None:
            d = lay.dense
            if d.arith == "int8" and not d.offset and is_bipolar(d.w):
                return self.dense_xnor(i, lay, x, out)
            wname, b = self.weights(i, d)
            if d.offset:
                xs = self.buffer((d.n,), "int8")
                code.append(dict(op="offset_pad", x=x, h=1, w=d.n, c=1, pt=0, pl=0, pb=0, pr=0,
                                 dst=xs))
                x = xs
            elif d.arith == "int16" and lay.in_dtype != "int16":
                xw = self.buffer((d.n,), "int16")
                code.append(dict(op="widen", dtype=lay.in_dtype, x=x, n=d.n, dst=xw))
                x = xw
            rq = self.requant(i, lay.rq) if lay.rq is not None else "NULL"
            code.append(dict(op="fc", i=i, n=d.n, m=d.m, et=EP_DTYPE[d.arith], x=x, w=wname,
                             b=b, rq=rq, out=out))
            return code
        if k == "maxpool" and lay.pool is not None:
            _, h, w, c_ = lay.in_shape
            pp = self.pool(i, lay.pool, (h, w, c_))
            et = EP_DTYPE[lay.in_dtype]
            self.scratch.append(dict(fn="maxpool", pp=pp, et=et))
            return [dict(op="maxpool", i=i, pp=pp, et=et, x=x, out=out)]
        if k == "global_maxpool":
            _, h, w, c_ = lay.in_shape
            return [dict(op="global_maxpool", i=i, h=h, w=w, c=c_, et=EP_DTYPE[lay.in_dtype],
                         x=x, out=out)]
        if k == "threshold" and lay.threshold is not None:
            th = lay.threshold
            c_, n_ = th.t.shape
            self.array(f"ep_th{i}", th.t.T, "int32")            # k-major rows
            d = "NULL"
            if th.direction is not None:
                self.array(f"ep_dir{i}", th.direction, "int32")
                d = f"ep_dir{i}"
            pixels = int(np.prod(lay.in_shape)) // c_
            return [dict(op="threshold", i=i, x=x, pixels=pixels, c=c_, n=n_, d=d,
                         base=int(th.base), step=int(th.step), et=EP_DTYPE[lay.out_dtype],
                         out=out)]
        if k == "requant" and lay.rq is not None:
            rq = self.requant(i, lay.rq)
            fn = "ep_requantize_i32" if lay.in_dtype == "int32" else "ep_requantize_i64"
            return [dict(op="requant", i=i, fn=fn, x=x, n=int(np.prod(lay.in_shape)), rq=rq,
                         out=out)]
        raise ConfigError(f"NEON glue: layer kind {k!r} without its parameters",
                          "this is an edgepool bug: the Relax parser built an incomplete layer")

    def dense_xnor(self, i: int, lay: Layer, x: str, out: str) -> list[dict[str, Any]]:
        """A dense layer with ±1 weights (a 1-bit layer): ``ep_fc_xnor`` on the weights packed
        one bit each here, at build time (XNOR-popcount for bipolar inputs, exact for any int8
        input)."""
        d = lay.dense
        wname, b = f"ep_w{i}", "NULL"
        self.array(wname, pack_xnor(d.w), "uint8")
        if d.bias is not None:
            b = f"ep_b{i}"
            self.array(b, d.bias.astype(np.int32), "int32")
        rq = self.requant(i, lay.rq) if lay.rq is not None else "NULL"
        return [dict(op="fc_xnor", i=i, n=d.n, m=d.m, x=x, w=wname, b=b, rq=rq, out=out)]

    def function(self, fn: GlueFunction) -> dict[str, Any]:
        """Context of one packed-convention C entry point."""
        sym = check_ident(fn.symbol)
        names: dict[Temp, str] = {}

        def ref(v: Arg | Temp) -> str:
            if isinstance(v, Arg):
                if not 0 <= v.index < fn.n_inputs + fn.n_outputs:
                    raise ConfigError(f"NEON glue {sym}: argument {v.index} out of range",
                                      "this is an edgepool bug")
                return f"ep_data(&args[{v.index}])"
            if v not in names:
                raise ConfigError(f"NEON glue {sym}: tensor {v.id} read before it is written",
                                  "this is an edgepool bug")
            return names[v]

        if not fn.calls:
            raise ConfigError(f"NEON glue {sym}: no layers", "this is an edgepool bug")
        steps = []
        for call in fn.calls:
            x = ref(call.src)
            if isinstance(call.dst, Temp):
                names[call.dst] = self.buffer(call.layer.out_shape, call.layer.out_dtype)
            out = ref(call.dst)
            steps.append(dict(comment=comment_text(call.composite),
                              stmts=self.layer(call.layer, x, out)))
        return dict(sym=sym, nargs=fn.n_inputs + fn.n_outputs, steps=steps)


def weight_bound(w: np.ndarray) -> tuple[int, int]:
    """(``wbits``, ``narrow``) of ``ep_conv_params`` proven from the weights themselves: the
    smallest signed width holding every weight, and whether they are symmetric
    (|w| <= 2^(wbits-1) - 1). The kernels' accumulator bound is derived from these (AUTO picks
    no kernel that could overflow: ``EP_ERANGE``), and the packer refuses weights outside them."""
    lo, hi = int(np.min(w, initial=0)), int(np.max(w, initial=0))
    bits = 1
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits, int(lo > -(1 << (bits - 1)))


#: estimated aarch64 instructions of work a conv layer must have per thread before it is split
#: over one more: starting and joining a thread costs ~2,000 instructions (qemu counts of
#: ep_parallel) and tens of microseconds on a Cortex-A53, so a thread is worth it only for
#: work ~25x that; smaller layers (all of dwsep-mnist's) run on the calling thread
MIN_WORK_PER_THREAD = 50_000


def layer_threads(c: ConvParams, h: int, w: int, pads, wbits: int, narrow: bool,
                  threads: int) -> int:
    """Threads for one conv layer: at most ``threads``, one per MIN_WORK_PER_THREAD of the C
    cost model's estimate (``ep_conv_cost`` of the algorithm AUTO picks), at least one."""
    if threads <= 1:
        return 1
    from . import bridge

    dt = np.int16 if c.arith == "int16" else np.int8
    try:
        op = bridge.conv_op(np.zeros((h, w, c.ic), dt), np.zeros(c.w.shape, dt), None,
                            (c.sh, c.sw), tuple(pads), (c.dh, c.dw), c.groups, algo="auto",
                            wbits=wbits, narrow=bool(narrow))
        cost = bridge.conv_cost(op, bridge.conv_algo(op))
    except Exception:        # noqa: BLE001 - no native library here: keep the requested count
        return threads
    return max(1, min(threads, int(cost // MIN_WORK_PER_THREAD)))


def generate_c(functions: list[GlueFunction], threads: int = 1) -> GlueSource:
    """The C translation unit of the external functions of one ``RunCodegen`` call; conv
    kernels split their output over up to ``threads`` threads (the register-blocked kernels;
    per layer one thread per :data:`MIN_WORK_PER_THREAD` of estimated work)."""
    plan = _Planner(threads)
    funcs = [plan.function(f) for f in functions]
    text = render("neon/glue.c.j2", decls=plan.decls, inits=plan.inits, scratch=plan.scratch,
                  funcs=funcs)
    return GlueSource(text, [f["sym"] for f in funcs], plan.layers)
