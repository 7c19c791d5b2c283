# SPDX-License-Identifier: Apache-2.0
"""Template contexts and rendering of the HLS sources (config structs, ROMs and glue only: the
engines live in ``hls/include/edgepool``).

The templates are ``edgepool/codegen/templates/hls/*.j2``, rendered through the one emitter
environment (:mod:`edgepool.codegen.emit`: ``StrictUndefined`` and the sanitizing
``finalize``). Contexts carry numbers, booleans and identifiers from
:mod:`edgepool.codegen.names` only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...accel.axis import container_bits
from ...accel.engine import OverlayParams
from ...accel.program import HwLayer, HwProgram, PoolSpec, clamp_thresholds, threshold_codes
from ...errors import ConfigError
from ...ir.qtype import QType
from .. import emit as _emit
from ..names import check_ident


def render(template: str, **ctx) -> str:
    """Render ``templates/hls/<template>`` through the one environment
    (:func:`edgepool.codegen.emit.render`)."""
    return _emit.render(f"hls/{template}", **ctx)


# --------------------------------------------------------------------------- literals
def ap_type(t: QType) -> str:
    """``ap_int<B>`` / ``ap_uint<B>`` of a fixed-point type's codes."""
    return f"ap_{'int' if t.signed else 'uint'}<{t.bits}>"


def c_int(v: int) -> str:
    """A C++ literal of a 64-bit integer (int64 min spelled without overflow)."""
    v = int(v)
    if v == -(1 << 63):
        return "(-9223372036854775807LL - 1)"
    if not -(1 << 63) <= v < (1 << 63):
        raise ConfigError(f"constant {v} does not fit 64 bits")
    return f"{v}LL" if not -(1 << 31) <= v < (1 << 31) else str(v)


def hex_word(values, bits: int) -> str:
    """Lanes (lane i in bits [i*bits, (i+1)*bits), two's complement) as a hex string."""
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return f"0x{word:x}"


def conv_weight_words(layer: HwLayer, pe: int, simd: int) -> list[str]:
    """Weight ROM words of a conv layer for (PE, SIMD) (layout of hls/include/edgepool/conv.h)."""
    wts = np.asarray(layer.weights, dtype=np.int64)
    oc, kh, kw, ic = wts.shape
    t = wts.reshape(oc // pe, pe, kh, kw, ic // simd, simd).transpose(0, 2, 3, 4, 1, 5)
    return [hex_word(r, layer.weight_type.bits) for r in t.reshape(-1, pe * simd)]


def pool_sum_bits(t: QType, kernel: tuple[int, int]) -> int:
    """Pool accumulator width: element + sign + log2(window) + 1."""
    return t.bits + 1 + int(np.ceil(np.log2(kernel[0] * kernel[1]))) + 1


# --------------------------------------------------------------------------- dataflow contexts
@dataclass(frozen=True)
class DataflowNames:
    """Identifiers of one dataflow layer's structs and ROMs."""

    cfg: str
    pcfg: str
    w: str
    b: str
    tcfg: str = ""        # threshold stage: config struct, table, directions
    t: str = ""
    d: str = ""


def index_names(n: int) -> list[DataflowNames]:
    """``L<i>``, ``P<i>``, ``L<i>_w``, ``L<i>_b`` (the README's naming)."""
    return [DataflowNames(f"L{i}", f"P{i}", f"L{i}_w", f"L{i}_b", f"T{i}", f"L{i}_t", f"L{i}_d")
            for i in range(n)]


#: PoolSpec.kind → the HLS library's PoolKind enumerator (hls/include/edgepool/pool.h)
POOL_KINDS = {"max": "POOL_MAX", "avg": "POOL_AVG"}


def pool_kind(kind: str) -> str:
    """The ``PoolKind`` enumerator of a pooling kind (:class:`ConfigError` if the HLS library
    has none)."""
    if kind not in POOL_KINDS:
        raise ConfigError(f"pool kind {kind!r} is not supported by the HLS library",
                          f"one of {', '.join(POOL_KINDS)}")
    return POOL_KINDS[kind]


def _pool_ctx(name: str, p: PoolSpec, in_hwc, lanes: int, t: QType) -> dict:
    oh, ow = p.out_hw(in_hwc[0], in_hwc[1])
    return dict(cfg=check_ident(name), in_h=in_hwc[0], in_w=in_hwc[1], c=in_hwc[2], lanes=lanes,
                ew=t.bits, signed=t.signed, kind=pool_kind(p.kind),
                count_pad=p.count_include_pad,
                kh=p.kernel[0], kw=p.kernel[1], sh=p.stride[0], sw=p.stride[1], pt=p.pads[0],
                pl=p.pads[1], pb=p.pads[2], pr=p.pads[3], out_h=oh, out_w=ow,
                sum_bits=pool_sum_bits(t, p.kernel))


def _threshold_ctx(layer: HwLayer, nm: DataflowNames, pe: int) -> dict:
    """The comparator stage of a threshold layer (hls/include/edgepool/threshold.h): table
    clamped to the ACC_BITS accumulator's range, TB = ACC_BITS + 1 bits."""
    ab = layer.acc_bits
    lo, hi = -(1 << (ab - 1)), (1 << (ab - 1)) - 1
    d = layer.directions()
    t = clamp_thresholds(layer.thresholds, d, lo, hi)
    base, step = threshold_codes(layer.out_type, layer.bipolar)
    if not (nm.tcfg and nm.t and nm.d):
        raise ConfigError(f"layer {layer.name!r}: no identifiers for its threshold stage",
                          "this is an edgepool bug: DataflowNames without tcfg / t / d")
    return dict(cfg=check_ident(nm.tcfg), t=check_ident(nm.t), d=check_ident(nm.d), ab=ab,
                tb=ab + 1, ob=layer.out_type.bits, n=int(t.shape[1]), c=int(t.shape[0]),
                pe=pe, base=base, step=step,
                rows=[[c_int(v) for v in row] for row in t], dirs=[int(v) for v in d])


def _conv_ctx(layer: HwLayer, nm: DataflowNames, pe: int, simd: int) -> dict:
    oh, ow = layer.conv_out_hw
    h, w, c = layer.in_shape
    codes_t = layer.out_type
    thr = layer.thresholds is not None
    # a threshold layer's conv passes its exact accumulator (identity requantize)
    out_t = QType(layer.acc_bits, True, layer.acc_frac) if thr else layer.out_type
    wide = not (-(1 << 31) <= out_t.min and out_t.max < (1 << 31))
    bias = layer.bias if layer.bias is not None else np.zeros(layer.out_shape[2], np.int64)
    if layer.groups != 1:
        raise ConfigError(f"layer {layer.name!r}: grouped convolution is not supported by the "
                          "HLS library", "use groups == 1")
    return dict(
        conv=True, cfg=check_ident(nm.cfg), w=check_ident(nm.w), b=check_ident(nm.b),
        in_h=h, in_w=w, in_c=c, out_c=layer.out_shape[2], kh=layer.kernel[0],
        kw=layer.kernel[1], sh=layer.stride[0], sw=layer.stride[1], dh=layer.dilation[0],
        dw=layer.dilation[1], pt=layer.pads[0], pl=layer.pads[1], pb=layer.pads[2],
        pr=layer.pads[3], out_h=oh, out_w=ow, simd=simd, pe=pe, acc_bits=layer.acc_bits,
        shift=layer.acc_frac - out_t.frac, relu=layer.relu, in_t=ap_type(layer.in_type),
        w_t=ap_type(layer.weight_type), out_t=ap_type(out_t), in_ew=layer.in_type.bits,
        out_ew=out_t.bits, w_bits=layer.weight_type.bits, in_signed=layer.in_type.signed,
        lim_t="long long" if wide else "int", out_lo=c_int(out_t.min), out_hi=c_int(out_t.max),
        weights=conv_weight_words(layer, pe, simd), bias=[c_int(b) for b in bias],
        thr=_threshold_ctx(layer, nm, pe) if thr else None, xnor=layer.xnor(),
        pool=(None if layer.pool is None else
              _pool_ctx(nm.pcfg, layer.pool, (oh, ow, layer.out_shape[2]), pe, codes_t)))


def dataflow_context(program: HwProgram, folding: list[tuple[int, int]], beat_bytes: int,
                     names: list[DataflowNames], *, src: str = "in", dst: str = "out",
                     labels: list[str] | None = None) -> dict:
    """Template context of a dataflow design: ``layers`` (config structs + ROMs) and ``ops``
    (the DATAFLOW chain from the input AXI stream ``src`` to the output stream ``dst``)."""
    layers, ops = [], []
    first = program.layers[0]
    lanes0 = folding[0][1]
    cont = container_bits(first.in_type.bits)
    ops.append(dict(kind="axis_in", src=src, dst="s0", width=lanes0 * first.in_type.bits,
                    lanes=lanes0, ew=first.in_type.bits, cont=cont, beat=beat_bytes,
                    n=int(np.prod(first.in_shape)) // lanes0))
    cur, cur_l = "s0", lanes0
    for i, (layer, (pe, simd), nm) in enumerate(zip(program.layers, folding, names,
                                                    strict=True)):
        eb = layer.in_type.bits
        if cur_l != simd:
            ops.append(dict(kind="repack", src=cur, dst=f"r{i}", width=simd * eb, ew=eb,
                            from_l=cur_l, to_l=simd,
                            n=int(np.prod(layer.in_shape)) // cur_l))
            cur = f"r{i}"
        out_l = pe if layer.kind == "conv" else simd
        width = out_l * layer.out_type.bits
        label = labels[i] if labels else ""
        if layer.kind == "conv":
            ctx = _conv_ctx(layer, nm, pe, simd)
            kind = "conv_thr" if layer.thresholds is not None else "conv"
            ops.append(dict(kind=kind + ("_pool" if layer.pool is not None else ""), src=cur,
                            dst=f"s{i + 1}", width=width, cfg=nm.cfg, pcfg=nm.pcfg, w=nm.w,
                            b=nm.b, tcfg=nm.tcfg, t=nm.t, d=nm.d))
        else:
            ctx = dict(conv=False, pool=_pool_ctx(nm.pcfg, layer.pool, layer.in_shape, simd,
                                                  layer.in_type))
            ops.append(dict(kind="pool", src=cur, dst=f"s{i + 1}", width=width, pcfg=nm.pcfg))
        ctx.update(index=i, label=label)
        layers.append(ctx)
        cur, cur_l = f"s{i + 1}", out_l
    last = program.layers[-1]
    ops.append(dict(kind="axis_out", src=cur, dst=dst, lanes=cur_l, ew=last.out_type.bits,
                    cont=container_bits(last.out_type.bits), beat=beat_bytes,
                    n=int(np.prod(last.out_shape)) // cur_l, signed=last.out_type.signed))
    return dict(layers=layers, ops=ops, beat=beat_bytes)


def emit_dataflow_top(program: HwProgram, ns: str, folding: list[tuple[int, int]],
                      beat_bytes: int, top_name: str | None = None) -> str:
    """One translation unit with a dataflow top for ``program`` (config structs and ROMs in
    namespace ``ns`` named as in hls/README.md, the global top ``top_name``, default
    ``<ns>_top``, using ``EP_TOP_INTERFACE``): used by the C-simulation tests of random
    programs and by ``hls/examples``."""
    ctx = dataflow_context(program, folding, beat_bytes, index_names(len(program.layers)))
    return render("dataflow_unit.cpp.j2", ns=check_ident(ns),
                  top=check_ident(top_name or f"{ns}_top"), **ctx)


def stream_sizes(program: HwProgram, beat_bytes: int) -> dict[str, int]:
    """Frame sizes of the dataflow design's AXI streams (accel/axis.py format)."""
    in_t, out_t = program.in_type, program.out_type
    in_elems, out_elems = int(np.prod(program.in_shape)), int(np.prod(program.out_shape))
    in_cont, out_cont = container_bits(in_t.bits), container_bits(out_t.bits)
    in_bytes = in_elems * in_cont // 8
    out_bytes = out_elems * out_cont // 8
    return dict(in_elems=in_elems, in_bits=in_t.bits, in_cont=in_cont,
                in_beats=math.ceil(in_bytes / beat_bytes), in_bytes=in_bytes,
                out_elems=out_elems, out_bits=out_t.bits, out_cont=out_cont,
                out_bytes=out_bytes, out_beats=math.ceil(out_bytes / beat_bytes))


def _macro(name: str):
    return _emit.macro("hls/_dataflow.j2", name)


def conv_struct(name: str, *, in_hwc, oc, kernel, stride, pads, dilation, simd, pe,
                in_t: QType, w_t: QType, out_t: QType, acc_bits: int, shift: int, relu: bool,
                out_hw) -> str:
    """C++ config struct of a dataflow conv layer (hls/include/edgepool/conv.h) from its
    parameters (the struct :func:`dataflow_context` emits for a layer)."""
    wide = not (-(1 << 31) <= out_t.min and out_t.max < (1 << 31))
    ctx = dict(cfg=check_ident(name), in_h=in_hwc[0], in_w=in_hwc[1], in_c=in_hwc[2], out_c=oc,
               kh=kernel[0], kw=kernel[1], sh=stride[0], sw=stride[1], dh=dilation[0],
               dw=dilation[1], pt=pads[0], pl=pads[1], pb=pads[2], pr=pads[3], out_h=out_hw[0],
               out_w=out_hw[1], simd=simd, pe=pe, acc_bits=acc_bits, shift=shift, relu=relu,
               in_t=ap_type(in_t), w_t=ap_type(w_t), out_t=ap_type(out_t), in_ew=in_t.bits,
               out_ew=out_t.bits, w_bits=w_t.bits, in_signed=in_t.signed,
               lim_t="long long" if wide else "int", out_lo=c_int(out_t.min),
               out_hi=c_int(out_t.max), xnor=False)
    return str(_macro("conv_struct")(ctx)).lstrip("\n")


def overlay_params_ctx(p: OverlayParams, name: str = "ovl_cfg") -> dict:
    """Template context of the overlay's ``OV`` config struct (``hls/_overlay.j2``)."""
    return dict(name=check_ident(name), simd=int(p.simd), pe=int(p.pe),
                act_bits=int(p.act_bits), out_bits=int(p.out_container), w_bits=int(p.w_bits),
                acc_bits=int(p.acc_bits), lb_words=int(p.lb_words),
                wbuf_words=int(p.wbuf_words), max_tile_nf=int(p.max_tile_nf),
                plb_words=int(p.plb_words), splb_words=int(p.splb_words),
                sum_bits=int(p.sum_bits))


def overlay_struct(p: OverlayParams, name: str = "ovl_cfg") -> str:
    """C++ config struct ``name`` of the overlay capacities ``p`` (hls/include/edgepool/
    overlay.h's ``OV`` parameter), as ``<model>_config.h`` holds it."""
    return str(_emit.macro("hls/_overlay.j2", "params_struct")(overlay_params_ctx(p, name)))


def pool_struct(name: str, *, in_hwc, lanes: int, t: QType, kind: str, count_pad: bool, kernel,
                stride, pads, out_hw) -> str:
    """C++ config struct of a pooling layer of ``kind`` (``"max"``, ``"avg"``; the
    :class:`~edgepool.accel.program.PoolSpec` kinds) for hls/include/edgepool/pool.h."""
    ctx = dict(cfg=check_ident(name), in_h=in_hwc[0], in_w=in_hwc[1], c=in_hwc[2], lanes=lanes,
               ew=t.bits, signed=t.signed, kind=pool_kind(kind), count_pad=count_pad,
               kh=kernel[0], kw=kernel[1], sh=stride[0], sw=stride[1], pt=pads[0], pl=pads[1],
               pb=pads[2], pr=pads[3], out_h=out_hw[0], out_w=out_hw[1],
               sum_bits=pool_sum_bits(t, kernel))
    return str(_macro("pool_struct")(ctx)).lstrip("\n")
