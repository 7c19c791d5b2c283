# SPDX-License-Identifier: Apache-2.0
"""RTL generation: an :class:`~edgepool.accel.program.HwProgram` → a SystemVerilog top that
chains the hand-written streaming blocks of ``sim/rtl`` plus the weight / bias ``.hex`` files.

What the RTL supports (anything else raises :class:`~edgepool.errors.UnsupportedOpError`, all
problems listed at once):

* ``conv`` layers (fully connected = 1x1 conv on a 1x1 map): any kernel, stride (also kernel <
  stride), explicit zero padding, groups 1, dilation 1, signed weights up to 32 bits, an exact
  accumulator of at most 64 bits, requantize with round-half-to-even shift (left or right),
  ReLU, saturation (narrow types too), optional fused max / avg pool; or, for a layer with
  ``thresholds``, the exact accumulator into an ``ep_threshold`` comparator stage (at most 255
  thresholds per channel, the table clamped to the accumulator's range, in distributed ROM)
  before the optional pool.
* ``pool`` layers and fused pools: max or avg, any kernel / stride, padding smaller than the
  kernel, ``ceil_mode``, ``count_include_pad``, dilation 1.
* Activations: 1..32-bit signed or unsigned integers; the external streams carry one element
  per beat in the 8/16/32/64-bit container of :mod:`edgepool.accel.axis`. The program's
  output may be up to 64 bits wide (the final accumulator of 16-bit models, 64-bit words).

Parallelism per layer is a :class:`LayerFolding`: ``pe`` output channels and ``simd`` input
channels per cycle in the MAC array (``pe | OC``, ``simd | C``) and ``pool_simd`` channels per
cycle in the pool (``pool_simd | C``).

Names: a layer name from a model file never reaches the Verilog text or a path unfiltered:
instance and file names are ``l<index>_<name reduced to [a-z0-9_], 24 chars>``, comments carry
:func:`~edgepool.codegen.names.comment_text`, and the top is always named :data:`TOP_NAME`. The
top is rendered from ``templates/rtl/top.sv.j2`` through the one emitter environment
(:mod:`edgepool.codegen.emit`), whose ``finalize`` refuses any unsafe interpolated text.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..accel import regmap as R
from ..accel.axis import container_bits
from ..accel.engine import HlsConfig
from ..accel.folding import LayerFolding, accumulator_width, divisors, rtl_default_folding
from ..accel.manifest import RtlAccelSection, RtlFolding, RtlSection
from ..accel.program import HwLayer, HwProgram, PoolSpec, clamp_thresholds, threshold_codes
from ..dse.cost import RTL_DIV_BITS, dsp_packing_supported, estimate_rtl, rtl_uses_xnor
from ..errors import UnsupportedOpError
from ..ir.qtype import QType
from ..toolchain import REPO_ROOT
from .emit import render
from .names import comment_text

TOP_NAME = "ep_top"
#: the dataflow accelerator IP (AXI4-Lite + DMA-width AXI4-Stream) around ``ep_top``
ACCEL_TOP = R.RTL_ACCEL_TOP
#: hand-written modules of the IP shell, in dependency order
SHELL_LIBRARY = ("ep_axil_ctrl.sv", "ep_axis_unpack.sv", "ep_axis_pack.sv",
                 "ep_accel_shell.sv")
RTL_DIR = REPO_ROOT / "sim" / "rtl"
#: hand-written modules, in dependency order
LIBRARY = ("ep_ram_sdp.sv", "ep_rom.sv", "ep_ser.sv", "ep_swg.sv", "ep_requant.sv",
           "ep_mvau.sv", "ep_pool.sv", "ep_conv_layer.sv", "ep_pool_layer.sv",
           "ep_threshold.sv")
#: most thresholds per channel of an ``ep_threshold`` stage (8-bit codes)
MAX_THRESHOLDS = 255


@dataclass
class BlockInfo:
    """One instantiated layer block of the generated top."""

    inst: str
    kind: str                   # "conv" or "pool"
    layer: int                  # index of the HwLayer it belongs to
    src: str                    # input stream name
    dst: str                    # output stream name
    in_elems: int               # elements per frame in
    out_elems: int              # elements per frame out
    window_beats: int           # ep_swg output beats per frame (II = 1 → cycles per frame)
    params: dict = field(default_factory=dict)


@dataclass
class RtlDesign:
    """Files and structure of a generated design."""

    out_dir: Path
    top: str
    sources: list[Path]
    mem_files: list[Path]
    blocks: list[BlockInfo]
    streams: list[str]
    layer_names: list[str]
    layer_streams: list[tuple[str, str]]     # (in stream, out stream) of every HwLayer
    in_bits: int
    in_signed: bool
    out_bits: int
    out_signed: bool
    in_elems: int
    out_elems: int

    def to_json(self) -> dict:
        """JSON form; files inside ``out_dir`` are stored relative to it (a build directory
        can be moved), library modules of ``sim/rtl`` by absolute path."""

        def rel(p: Path) -> str:
            p = Path(p)
            try:
                return str(p.relative_to(self.out_dir))
            except ValueError:
                return str(p)

        d = asdict(self)
        d["out_dir"] = "."
        d["sources"] = [rel(p) for p in self.sources]
        d["mem_files"] = [rel(p) for p in self.mem_files]
        return d

    @staticmethod
    def from_json(d: Mapping, out_dir: str | Path) -> RtlDesign:
        """Inverse of :meth:`to_json`, relative paths resolved against ``out_dir``."""
        base = Path(out_dir)
        d = dict(d)
        d["out_dir"] = base
        d["sources"] = [base / p for p in d["sources"]]
        d["mem_files"] = [base / p for p in d["mem_files"]]
        d["blocks"] = [BlockInfo(**b) for b in d["blocks"]]
        d["layer_streams"] = [tuple(x) for x in d["layer_streams"]]
        return RtlDesign(**d)

    @staticmethod
    def load(out_dir: str | Path) -> RtlDesign:
        """The design written by :func:`generate_rtl` into ``out_dir`` (``design.json``)."""
        base = Path(out_dir)
        return RtlDesign.from_json(json.loads((base / "design.json").read_text()), base)


def sanitize(name: str, index: int) -> str:
    """A Verilog- and path-safe identifier for layer ``index`` named ``name``."""
    core = re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")[:24] or "layer"
    return f"l{index}_{core}"


def _label(text: str) -> str:
    """Text safe inside a ``//`` comment."""
    return comment_text(text)


def _sv64(v: int) -> str:
    """A signed 64-bit literal (negative values as two's complement hex: -2^63 has no
    positive decimal counterpart in 64 bits)."""
    return f"64'sh{v & (2**64 - 1):016x}" if v < 0 else f"64'sd{v}"


def _check_type(t: QType, what: str, problems: list[str], max_bits: int = 32) -> None:
    if t.is_float or not 1 <= t.bits <= max_bits:
        problems.append(f"{what}: type {t} (the RTL streams 1..{max_bits}-bit integers here)")


def _check_pool(p: PoolSpec, c: int, lanes: int, what: str, problems: list[str]) -> None:
    if p.kind not in ("max", "avg"):
        problems.append(f"{what}: pool kind {p.kind!r} (max and avg only)")
    kh, kw = p.kernel
    if min(kh, kw, *p.stride) < 1:
        problems.append(f"{what}: kernel {p.kernel} / stride {p.stride} must be >= 1")
    pt, pl, pb, pr = p.pads
    if min(p.pads) < 0 or pt >= kh or pb >= kh or pl >= kw or pr >= kw:
        problems.append(f"{what}: pool pads {p.pads} must be >= 0 and smaller than the kernel "
                        f"{p.kernel}")
    if lanes < 1 or c % lanes:
        problems.append(f"{what}: pool_simd {lanes} does not divide {c} channels")


def check_supported(program: HwProgram, folding: Mapping[str, LayerFolding] | None = None
                    ) -> None:
    """Raise :class:`UnsupportedOpError` listing every construct the RTL cannot build."""
    problems: list[str] = []
    if not program.layers:
        raise UnsupportedOpError(["the program has no layers"])
    folding = folding or {}
    prev: HwLayer | None = None
    for i, layer in enumerate(program.layers):
        what = f"layer {i} ({_label(layer.name)})"
        fold = folding.get(layer.name, rtl_default_folding(layer))
        _check_type(layer.in_type, what + " input", problems)
        # the program's output (a final accumulator) may use 64-bit words
        last = i == len(program.layers) - 1
        _check_type(layer.out_type, what + " output", problems,
                    64 if last and layer.kind == "conv" and layer.pool is None else 32)
        h, w, c = layer.in_shape
        if prev is not None:
            if int(np.prod(prev.out_shape)) != h * w * c:
                problems.append(f"{what}: input {layer.in_shape} does not follow the previous "
                                f"output {prev.out_shape}")
            if (prev.out_type.bits, prev.out_type.signed) != (layer.in_type.bits,
                                                              layer.in_type.signed):
                problems.append(f"{what}: input type {layer.in_type} differs from the previous "
                                f"output type {prev.out_type}")
        if layer.kind == "conv":
            if layer.groups != 1:
                problems.append(f"{what}: groups {layer.groups} (the MAC array does groups 1)")
            if tuple(layer.dilation) != (1, 1):
                problems.append(f"{what}: dilation {layer.dilation} (dilation 1 only)")
            if layer.weights is None or layer.weight_type is None:
                problems.append(f"{what}: conv without weights / weight type")
            else:
                oc, kh, kw, icg = layer.weights.shape
                wt = layer.weight_type
                if wt.is_float or wt.bits > 32 or not wt.signed:
                    problems.append(f"{what}: weight type {wt} (signed 2..32-bit weights only)")
                if icg != c or oc != layer.out_shape[2]:
                    problems.append(f"{what}: weights {layer.weights.shape} for input "
                                    f"{layer.in_shape} and output {layer.out_shape}")
                if min(*layer.stride, *layer.kernel) < 1 or min(layer.pads) < 0:
                    problems.append(f"{what}: stride {layer.stride} / pads {layer.pads}")
                if fold.pe < 1 or oc % fold.pe:
                    problems.append(f"{what}: pe {fold.pe} does not divide {oc} output channels")
                if fold.simd < 1 or c % fold.simd:
                    problems.append(f"{what}: simd {fold.simd} does not divide {c} channels")
                if accumulator_width(layer) > 64:
                    problems.append(f"{what}: the exact accumulator needs more than 64 bits")
                elif layer.thresholds is not None:
                    _check_thresholds(layer, what, problems)
            if layer.pool is not None:
                _check_pool(layer.pool, layer.out_shape[2], fold.pool_simd, what + " pool",
                            problems)
            lk = fold.link_lanes
            if lk != 1 and (layer.pool is None or lk < 1 or fold.pe % lk
                            or fold.pool_simd % lk):
                problems.append(f"{what}: link_lanes {lk} must divide pe {fold.pe} and the "
                                f"fused pool's pool_simd {fold.pool_simd} (and needs a fused "
                                "pool)")
        elif layer.kind == "pool":
            if fold.link_lanes != 1:
                problems.append(f"{what}: link_lanes {fold.link_lanes} on a pool layer (only a "
                                "conv's fused pool takes several elements per beat)")
            if layer.pool is None:
                problems.append(f"{what}: pool layer without a PoolSpec")
            else:
                _check_pool(layer.pool, c, fold.pool_simd, what, problems)
            if (layer.in_type.bits, layer.in_type.signed) != (layer.out_type.bits,
                                                              layer.out_type.signed):
                problems.append(f"{what}: pool changes the type {layer.in_type} → "
                                f"{layer.out_type}")
        else:
            problems.append(f"{what}: layer kind {layer.kind!r}")
        prev = layer
    if problems:
        raise UnsupportedOpError(problems, "see edgepool/codegen/rtl.py for what the RTL "
                                           "supports; unsupported layers can run on the CPU")


def _check_thresholds(layer: HwLayer, what: str, problems: list[str]) -> None:
    t = layer.thresholds
    oc = layer.out_shape[2]
    if t.ndim != 2 or t.shape[0] != oc or not 1 <= t.shape[1] <= MAX_THRESHOLDS:
        problems.append(f"{what}: threshold table of shape {t.shape} (needs ({oc}, 1..."
                        f"{MAX_THRESHOLDS}))")
    elif t.shape[1] > 1 and np.any(np.diff(t, axis=1) < 0):
        problems.append(f"{what}: threshold rows must be non-decreasing")
    if accumulator_width(layer) > 63:
        problems.append(f"{what}: a threshold stage compares accumulators of at most 63 bits")


def threshold_words(layer: HwLayer, lanes: int) -> tuple[list[list[int]], int]:
    """``(words, entry bits)`` of an ``ep_threshold`` table: word ``i`` holds channels
    ``i*lanes ..``; an entry is N thresholds of ``accumulator_width + 1`` bits (clamped to the
    accumulator's range) and the direction bit on top."""
    accw = accumulator_width(layer)
    tw = accw + 1
    lo, hi = -(1 << (accw - 1)), (1 << (accw - 1)) - 1
    d = layer.directions()
    t = clamp_thresholds(layer.thresholds, d, lo, hi)
    n = t.shape[1]
    mask = (1 << tw) - 1
    entries = []
    for c in range(t.shape[0]):
        e = int(d[c] < 0) << (n * tw)
        for k in range(n):
            e |= (int(t[c, k]) & mask) << (k * tw)
        entries.append(e)
    return [entries[i:i + lanes] for i in range(0, len(entries), lanes)], n * tw + 1


def _hex_lines(words: list[list[int]], lane_bits: int) -> str:
    """One line per word; lane 0 in the least significant bits, two's complement."""
    digits = max(1, -(-lane_bits * len(words[0]) // 4))
    mask = (1 << lane_bits) - 1
    out = []
    for lanes in words:
        v = 0
        for j, x in enumerate(lanes):
            v |= (int(x) & mask) << (j * lane_bits)
        out.append(f"{v:0{digits}x}")
    return "\n".join(out) + "\n"


def weight_words(layer: HwLayer, pe: int, simd: int) -> list[list[int]]:
    """Weight ROM words in ep_swg loop order (nf, cs, ky, kx), lane pe*SIMD+s."""
    wts = np.asarray(layer.weights, dtype=np.int64)        # OC, KH, KW, C
    oc, kh, kw, c = wts.shape
    words = []
    for nf in range(oc // pe):
        for cs in range(c // simd):
            for ky in range(kh):
                for kx in range(kw):
                    words.append([int(wts[nf * pe + p, ky, kx, cs * simd + s])
                                  for p in range(pe) for s in range(simd)])
    return words


def bias_words(layer: HwLayer, pe: int) -> list[list[int]]:
    oc = layer.weights.shape[0]
    b = np.zeros(oc, dtype=np.int64) if layer.bias is None else np.asarray(layer.bias, np.int64)
    return [[int(b[nf * pe + p]) for p in range(pe)] for nf in range(oc // pe)]


def _pool_params(p: PoolSpec, h: int, w: int, c: int, t: QType, lanes: int,
                 in_lanes: int = 1) -> dict:
    oh, ow = p.out_hw(h, w)
    pt, pl, pb, pr = p.pads
    return dict(idw=t.bits, in_signed=int(t.signed), h=h, w=w, c=c, kh=p.kernel[0],
                kw=p.kernel[1], sh=p.stride[0], sw=p.stride[1], pt=pt, pl=pl, pb=pb, pr=pr,
                oh=oh, ow=ow, simd=lanes, mode=0 if p.kind == "max" else 1,
                count_pad=int(p.count_include_pad), div_bits=RTL_DIV_BITS, in_lanes=in_lanes)


def generate_rtl(program: HwProgram, out_dir: str | Path,
                 folding: Mapping[str, LayerFolding] | None = None, *,
                 copy_library: bool = False, dsp_pack: bool = True) -> RtlDesign:
    """Write ``<out_dir>/ep_top.sv``, the ``.hex`` ROM images and ``design.json``; return the
    design (sources = library modules + top, in compile order). ``copy_library`` copies the
    hand-written modules of ``sim/rtl`` next to the top (a self-contained directory, as the
    build's ``rtl/``); otherwise the design refers to them in place. ``dsp_pack``: two <= 8-bit
    MACs per DSP48E2 in ``ep_mvau`` (off for 7-series parts:
    :func:`edgepool.dse.cost.dsp_packing_supported`)."""
    check_supported(program, folding)
    folding = folding or {}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    streams = [{"name": "st0", "dw": program.in_type.bits}]
    blocks: list[BlockInfo] = []
    mem_files: list[Path] = []
    layer_streams: list[tuple[str, str]] = []

    def new_stream(dw: int) -> str:
        name = f"st{len(streams)}"
        streams.append({"name": name, "dw": dw})
        return name

    for i, layer in enumerate(program.layers):
        ident = sanitize(layer.name, i)
        fold = folding.get(layer.name, rtl_default_folding(layer))
        src = streams[-1]["name"]
        first_src = src
        h, w, c = layer.in_shape
        if layer.kind == "conv":
            oc, kh, kw, _ = layer.weights.shape
            oh, ow = layer.conv_out_hw
            pt, pl, pb, pr = layer.pads
            accw = accumulator_width(layer)
            wfile, bfile = f"{ident}_w.hex", f"{ident}_b.hex"
            (out / wfile).write_text(_hex_lines(weight_words(layer, fold.pe, fold.simd),
                                                layer.weight_type.bits))
            (out / bfile).write_text(_hex_lines(bias_words(layer, fold.pe), accw))
            mem_files += [out / wfile, out / bfile]
            ot = layer.out_type
            params = dict(idw=layer.in_type.bits, in_signed=int(layer.in_type.signed), h=h, w=w,
                          c=c, oc=oc, kh=kh, kw=kw, sh=layer.stride[0], sw=layer.stride[1],
                          pt=pt, pl=pl, pb=pb, pr=pr, oh=oh, ow=ow, pe=fold.pe, simd=fold.simd,
                          ww=layer.weight_type.bits, accw=accw, odw=ot.bits,
                          shift=layer.acc_frac - ot.frac, relu=int(layer.relu),
                          omin=_sv64(ot.min), omax=_sv64(ot.max), wfile=wfile, bfile=bfile,
                          out_lanes=fold.link_lanes if layer.pool is not None else 1, thr=0,
                          xnor=int(rtl_uses_xnor(layer)))
            # an XNOR layer has no multipliers: DSP packing does not apply (never both)
            params["dsp_pack"] = int(dsp_pack and not params["xnor"])
            if layer.thresholds is not None:
                # the MAC array passes its exact accumulator (identity requantize) to the
                # comparator stage, which makes the codes
                tfile = f"{ident}_t.hex"
                words, ew = threshold_words(layer, params["out_lanes"])
                (out / tfile).write_text(_hex_lines(words, ew))
                mem_files.append(out / tfile)
                base, step = threshold_codes(ot, layer.bipolar)
                params.update(odw=accw, shift=0, relu=0, omin=_sv64(-(1 << (accw - 1))),
                              omax=_sv64((1 << (accw - 1)) - 1), thr=1, thr_odw=ot.bits,
                              thr_n=layer.n_thresholds, thr_tw=accw + 1, thr_base=_sv64(base),
                              thr_step=step, tfile=tfile)
            dst = new_stream(ot.bits * params["out_lanes"])
            blocks.append(BlockInfo(f"u_{ident}", "conv", i, src, dst, h * w * c, oh * ow * oc,
                                    oh * ow * oc * kh * kw // fold.pe * c // fold.simd, params))
            if layer.pool is not None:
                pp = _pool_params(layer.pool, oh, ow, oc, ot, fold.pool_simd,
                                  fold.link_lanes)
                src, dst = dst, new_stream(ot.bits)
                blocks.append(BlockInfo(f"u_{ident}_pool", "pool", i, src, dst, oh * ow * oc,
                                        pp["oh"] * pp["ow"] * oc,
                                        pp["oh"] * pp["ow"] * pp["kh"] * pp["kw"] * oc
                                        // fold.pool_simd, pp))
        else:
            pp = _pool_params(layer.pool, h, w, c, layer.in_type, fold.pool_simd)
            dst = new_stream(layer.out_type.bits)
            blocks.append(BlockInfo(f"u_{ident}", "pool", i, src, dst, h * w * c,
                                    pp["oh"] * pp["ow"] * c,
                                    pp["oh"] * pp["ow"] * pp["kh"] * pp["kw"] * c
                                    // fold.pool_simd, pp))
        layer_streams.append((first_src, streams[-1]["name"]))
        if tuple(program.layers[i].out_shape) != (blocks[-1].params["oh"],
                                                  blocks[-1].params["ow"],
                                                  layer.out_shape[2]):
            raise UnsupportedOpError([f"layer {i} ({_label(layer.name)}): declared output "
                                      f"{layer.out_shape} differs from the RTL's"])

    bdicts = []
    for b in blocks:
        comment = (f"layer {b.layer} {_label(program.layers[b.layer].name)}: {b.kind}, "
                   f"{b.in_elems} -> {b.out_elems} elements per frame")
        bdicts.append(dict(b.params, kind=b.kind, inst=b.inst, src=b.src, dst=b.dst,
                           comment=comment))
    o = streams[-1]
    pad = container_bits(program.out_type.bits) - o["dw"]
    ext = f"{o['name']}_tdata[{o['dw'] - 1}]" if program.out_type.signed else "1'b0"
    out_assign = f"{{{{{pad}{{{ext}}}}}, {o['name']}_tdata}}" if pad else f"{o['name']}_tdata"
    text = render("rtl/top.sv.j2", out_assign=out_assign, program_label=_label(program.name),
                  top=TOP_NAME, in_cbits=container_bits(program.in_type.bits),
                  out_cbits=container_bits(program.out_type.bits),
                  out_signed=program.out_type.signed, streams=streams, blocks=bdicts)
    top_path = out / f"{TOP_NAME}.sv"
    top_path.write_text(text)
    library = [RTL_DIR / f for f in LIBRARY]
    if copy_library:
        for f in library:
            shutil.copyfile(f, out / f.name)
        library = [out / f.name for f in library]
    design = RtlDesign(
        out_dir=out, top=TOP_NAME,
        sources=library + [top_path], mem_files=mem_files, blocks=blocks,
        streams=[s["name"] for s in streams], layer_names=[ly.name for ly in program.layers],
        layer_streams=layer_streams, in_bits=program.in_type.bits,
        in_signed=program.in_type.signed, out_bits=program.out_type.bits,
        out_signed=program.out_type.signed, in_elems=int(np.prod(program.in_shape)),
        out_elems=int(np.prod(program.out_shape)))
    (out / "design.json").write_text(json.dumps(design.to_json(), indent=1))
    return design


@dataclass
class AccelDesign:
    """The generated dataflow IP: ``ep_accel`` around the datapath design ``datapath``."""

    datapath: RtlDesign
    top: str
    sources: list[Path]           # library + shell + datapath top + IP top, compile order
    beat_bytes: int
    in_container_bits: int
    out_container_bits: int
    registers: dict[str, dict[str, Any]]
    params: dict[str, int]        # the ap_ctrl_hs parameters emitted as localparams

    @property
    def in_beats(self) -> int:
        """DMA beats per input frame (zero-padded)."""
        k = self.beat_bytes * 8 // self.in_container_bits
        return -(-self.datapath.in_elems // k)

    @property
    def out_beats(self) -> int:
        """DMA beats per output frame (zero-padded, TLAST on the last)."""
        k = self.beat_bytes * 8 // self.out_container_bits
        return -(-self.datapath.out_elems // k)

    def to_json(self) -> dict:
        """``accel.json``: what the benches and the simulated device need."""
        return {"top": self.top, "beat_bytes": self.beat_bytes,
                "sources": [Path(p).name for p in self.sources],
                "in_container_bits": self.in_container_bits,
                "out_container_bits": self.out_container_bits, "in_beats": self.in_beats,
                "out_beats": self.out_beats, "registers": self.registers, "params": self.params}


def generate_accel(program: HwProgram, out_dir: str | Path,
                   folding: Mapping[str, LayerFolding] | None = None, *,
                   beat_bytes: int = 8, registers: Mapping[str, Mapping[str, Any]] | None = None,
                   copy_library: bool = False, dsp_pack: bool = True) -> AccelDesign:
    """The dataflow accelerator IP of ``program``: :func:`generate_rtl`'s datapath plus
    ``<out_dir>/ep_accel.sv`` (AXI4-Lite ap_ctrl_hs control with the offsets / bits of
    ``registers``, default :func:`edgepool.accel.regmap.default_regmap`'s RTL dataflow map;
    AXI4-Stream ports of ``beat_bytes`` bytes in the :mod:`edgepool.accel.axis` format) and
    ``accel.json``."""
    in_cb, out_cb = container_bits(program.in_type.bits), container_bits(program.out_type.bits)
    if beat_bytes < 1 or beat_bytes & (beat_bytes - 1) or beat_bytes * 8 < max(in_cb, out_cb):
        raise UnsupportedOpError([f"DMA beat of {beat_bytes} bytes: a power of two holding at "
                                  f"least one {max(in_cb, out_cb)}-bit element is needed"],
                                 "build with dma_bits 64 (or wider)")
    regs = {k: dict(v) for k, v in (registers or R.default_regmap(
        "dataflow", control="ap_ctrl_hs")["accel"]["registers"]).items()}
    params = R.ap_ctrl_hs_params(regs)
    design = generate_rtl(program, out_dir, folding, copy_library=copy_library,
                          dsp_pack=dsp_pack)
    out = Path(out_dir)
    shell = [RTL_DIR / f for f in SHELL_LIBRARY]
    if copy_library:
        for f in shell:
            shutil.copyfile(f, out / f.name)
        shell = [out / f.name for f in shell]
    text = render(
        "rtl/accel.sv.j2",
        top=ACCEL_TOP, datapath=design.top, program_label=_label(program.name),
        regparams=sorted(params.items()), aw=params["AW"], beat_bytes=beat_bytes,
        n_in=design.in_elems, n_out=design.out_elems, in_eb=in_cb // 8, out_eb=out_cb // 8,
        in_per_beat=beat_bytes * 8 // in_cb, out_per_beat=beat_bytes * 8 // out_cb)
    top_path = out / f"{ACCEL_TOP}.sv"
    top_path.write_text(text)
    srcs = design.sources[:-1] + shell + [design.sources[-1], top_path]
    accel = AccelDesign(design, ACCEL_TOP, srcs, beat_bytes, in_cb, out_cb, regs, params)
    (out / "accel.json").write_text(json.dumps(accel.to_json(), indent=1))
    return accel


#: Vivado IP identity of the RTL accelerator (``vendor:library:name:version``; defined in
#: :mod:`edgepool.accel.regmap`, which the register map and the driver read)
IP_VENDOR, IP_LIBRARY, IP_VERSION = R.RTL_IP_VENDOR, R.RTL_IP_LIBRARY, R.RTL_IP_VERSION
_TCL_SAFE = re.compile(r"[A-Za-z0-9_.\-]+")


def ip_vlnv(name: str = ACCEL_TOP) -> str:
    """The VLNV ``package_ip.tcl`` gives the IP (what ``bd.tcl``'s ``create_bd_cell`` names)."""
    return R.RTL_ACCEL_VLNV.format(top=name)


def ip_package_tcl(accel: AccelDesign, part: str, program_label: str = "model") -> Path:
    """Write ``package_ip.tcl`` beside the (self-contained, ``copy_library``) IP sources:
    ``ipx::`` commands that package ``ep_accel`` as the Vivado IP :func:`ip_vlnv` in
    ``<dir>/ip`` with its AXI4-Lite / AXI4-Stream / clock / reset / interrupt interfaces and
    the register map of ``accel.registers``. Returns the script's path. (Not run here: no
    Vivado on this machine; ``vivado -mode batch -source package_ip.tcl`` on one that has it.)
    """
    out = Path(accel.datapath.out_dir)
    for p in list(accel.sources) + list(accel.datapath.mem_files):
        if Path(p).parent.resolve() != out.resolve():
            raise UnsupportedOpError([f"IP source {p} is outside {out}"],
                                     "generate with copy_library=True (the build's rtl/)")
    if not _TCL_SAFE.fullmatch(part):
        raise UnsupportedOpError([f"part {part!r} is not a plain Vivado part name"])
    regs = [dict(name=n, offset=f"0x{int(r['offset']):02X}", bits=int(r["bits"]))
            for n, r in sorted(accel.registers.items(), key=lambda kv: kv[1]["offset"])]
    for r in regs:
        if not _TCL_SAFE.fullmatch(r["name"]):
            raise UnsupportedOpError([f"register name {r['name']!r} is not Tcl-safe"])
    text = render(
        "rtl/package_ip.tcl.j2",
        top=accel.top, vlnv=ip_vlnv(accel.top), vendor=IP_VENDOR, library=IP_LIBRARY,
        name=accel.top, version=IP_VERSION, part=part, program_label=_label(program_label),
        beat_bytes=accel.beat_bytes, sources=[Path(p).name for p in accel.sources],
        mem_files=[Path(p).name for p in accel.datapath.mem_files], registers=regs,
        range=f"0x{1 << accel.params['AW']:X}")
    path = out / "package_ip.tcl"
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- build stage
def _largest_divisor(n: int, cap: int) -> int:
    """Largest divisor of ``n`` that is at most ``max(cap, 1)``."""
    return max(d for d in divisors(n) if d <= max(1, cap))


def folding_from_config(program: HwProgram, cfg: Any | None
                        ) -> tuple[dict[str, LayerFolding], list[str]]:
    """Per-layer RTL folding from an :class:`edgepool.accel.engine.HlsConfig` (``None``: the
    :func:`~edgepool.accel.folding.rtl_default_folding`), and notes on every value that had to
    be changed.

    Dataflow configs give PE / SIMD per layer (or one value for all); an overlay config's single
    PE / SIMD is applied to every layer (the RTL is a dataflow chain). Each value is clamped to the
    largest divisor of the layer's OC (PE) / C (SIMD) not above it. Pool lanes follow the HLS
    engines: a fused pool gets ``PE`` lanes (the HLS ``conv_pool_layer`` uses LANES = PE) and a
    ``PE``-wide link from the MAC array (``link_lanes`` = PE: the pool takes a whole output word
    per beat, so it never caps the conv at one element per cycle), a standalone pool the layer's
    SIMD clamped to a divisor of C.
    """
    folds: dict[str, LayerFolding] = {}
    notes: list[str] = []
    for i, layer in enumerate(program.layers):
        c = layer.in_shape[2]
        if cfg is None:
            f = rtl_default_folding(layer)
            folds[layer.name] = f
            continue
        pe_req, simd_req = int(cfg.pe_of(i)), int(cfg.simd_of(i))
        label = f"layer {i} ({_label(layer.name)})"
        if layer.kind == "conv":
            oc = layer.out_shape[2]
            pe, simd = _largest_divisor(oc, pe_req), _largest_divisor(c, simd_req)
            if pe != pe_req:
                notes.append(f"{label}: PE {pe_req} -> {pe} (must divide OC {oc})")
            if simd != simd_req:
                notes.append(f"{label}: SIMD {simd_req} -> {simd} (must divide C {c})")
            fused = layer.pool is not None
            f = LayerFolding(pe, simd, pe if fused else 1, pe if fused else 1)
        else:
            lanes = _largest_divisor(c, simd_req)
            if lanes != simd_req:
                notes.append(f"{label}: pool lanes {simd_req} -> {lanes} (must divide C {c})")
            f = LayerFolding(1, 1, lanes)
        folds[layer.name] = f
    return folds, notes


#: above this many weights the rtl stage records "too large" instead of writing ROM images
RTL_MAX_WEIGHTS = 4_000_000


def _rtl_folding(f: LayerFolding) -> RtlFolding:
    """The manifest's record of a layer's folding (``link_lanes`` only when not 1)."""
    return RtlFolding(f.pe, f.simd, f.pool_simd, f.link_lanes if f.link_lanes != 1 else None)


def build_rtl(program: HwProgram, build_dir: Path, cfg: HlsConfig | None,
              default_mhz: float | None = None, part: str | None = None
              ) -> tuple[RtlSection, list[str]]:
    """The build's ``rtl`` step: ``build_dir/rtl/`` gets the generated datapath top, the
    dataflow IP around it (``ep_accel.sv``, ``accel.json``, and with the board's ``part``
    ``package_ip.tcl``), the ROM ``.hex`` images, the library modules and ``design.json``;
    returns the manifest's ``rtl`` section
    (the files, the folding used — from ``cfg`` when the dse step chose one —, the top name
    and whether the program is supported) and the notes. An unsupported program is recorded
    (section + notes), not a build failure: the other backends still work. The clock is the
    configuration's, else ``default_mhz`` (the board's default)."""
    build_dir = Path(build_dir)
    notes: list[str] = []
    n_weights = sum(int(np.prod(layer.weights.shape)) for layer in program.layers
                    if layer.weights is not None)
    if n_weights > RTL_MAX_WEIGHTS:
        reason = (f"too large for RTL simulation: {n_weights:,} weights > {RTL_MAX_WEIGHTS:,} "
                  "(every weight would be a ROM .hex line; the HLS overlay runs it)")
        notes.append(f"rtl: not generated, {reason}")
        return RtlSection(dir="rtl", top=TOP_NAME, supported=False, reason=(reason,), files=(),
                          weights=n_weights), notes
    try:
        folds, fold_notes = folding_from_config(program, cfg)
    except (AttributeError, IndexError, TypeError, ValueError) as e:
        folds, fold_notes = folding_from_config(program, None)
        fold_notes = [f"hls_config unusable for the RTL ({e}); default folding"]
        cfg = None
    if cfg is not None and cfg.style != "dataflow":
        fold_notes.insert(0, f"hls_config style {cfg.style!r}: the RTL is a dataflow chain, "
                             "its PE / SIMD applied to every layer")
    folding = dict(
        folding_source="hls_config" if cfg is not None else "default",
        folding={ly.name: _rtl_folding(folds[ly.name]) for ly in program.layers},
        folding_notes=tuple(fold_notes))
    dma_bits = int(cfg.dma_bits) if cfg is not None else 64
    try:
        accel = generate_accel(program, build_dir / "rtl", folds, beat_bytes=dma_bits // 8,
                               copy_library=True,
                               dsp_pack=dsp_packing_supported(part) if part else True)
        design = accel.datapath
    except UnsupportedOpError as e:
        notes.append("rtl: not generated, the program is not supported by the RTL: "
                     + "; ".join(e.problems))
        return RtlSection(dir="rtl", top=TOP_NAME, supported=False, reason=tuple(e.problems),
                          files=(), **folding), notes
    package = ip_package_tcl(accel, part, program.name) if part else None
    files = tuple(sorted(str(p.relative_to(build_dir))
                         for p in build_dir.joinpath("rtl").iterdir()))
    # the chain's steady-state interval is its slowest block: window beats *or* input elements
    # (one per cycle into each layer), as the RTL cycle model counts it (estimated)
    interval = estimate_rtl(program, folds).interval_cycles
    mhz = _clock_mhz(cfg, default_mhz)
    section = RtlSection(
        dir="rtl", top=TOP_NAME, supported=True, reason=(), files=files,
        design="rtl/design.json", sources=tuple(f"rtl/{p.name}" for p in design.sources),
        window_beats={b.inst: b.window_beats for b in design.blocks},
        interval_cycles=interval, in_bits=design.in_bits, out_bits=design.out_bits,
        out_container_bits=container_bits(design.out_bits), clock_mhz=mhz,
        accel=RtlAccelSection(
            top=accel.top, vlnv=ip_vlnv(accel.top),
            sources=tuple(f"rtl/{p.name}" for p in accel.sources),
            beat_bytes=accel.beat_bytes, registers=accel.registers,
            package_tcl=f"rtl/{package.name}" if package else None),
        **folding)
    fps = f", ~{mhz * 1e6 / interval:,.0f} frames/s at {mhz:g} MHz" if mhz else ""
    notes.append(f"rtl: {len(design.blocks)} blocks in rtl/{TOP_NAME}.sv, "
                 f"{interval} cycles/frame at steady state (estimate_rtl){fps}"
                 + (f" ({'; '.join(fold_notes)})" if fold_notes else ""))
    return section, notes


def _clock_mhz(cfg: HlsConfig | None, default_mhz: float | None) -> float | None:
    """The build's clock: the chosen config's, else the target's default, else None."""
    for v in (cfg.clock_mhz if cfg is not None else None, default_mhz):
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
            return float(v)
    return None
