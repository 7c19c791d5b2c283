# SPDX-License-Identifier: Apache-2.0
"""Analytic cost model of the edgepool HLS library (``hls/include/edgepool``).

Iteration counts mirror the engines' loop structure EXACTLY (every loop is pipelined with II=1 and
counted in C simulation by ``EP_COUNT``); cycles add each loop's pipeline depth and, in overlay
mode, the DMA time. DSP / BRAM36 / LUT are first-order estimates; the formulas are documented in
``hls/README.md``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..accel.axis import container_bits
from ..accel.descriptor import (
    DESC_WORDS,
    check_layer,
    choose_tile_nf,
    output_bits,
    streams_weights,
)
from ..accel.engine import HlsConfig, OverlayParams
from ..accel.folding import accumulator_width, rtl_default_folding
from ..accel.program import HwLayer, HwProgram, PoolSpec

# --------------------------------------------------------------------------- loop structure


@dataclass(frozen=True)
class WindowGeom:
    """The run-time geometry of the sliding-window engine (``WinGeom`` in window.h)."""

    h: int
    w: int
    cf: int                      # packed words per pixel (channels / lanes)
    kh: int
    kw: int
    sh: int
    sw: int
    dh: int
    dw: int
    pt: int
    pl: int
    pb: int
    pr: int
    oh: int
    ow: int

    @property
    def line_rows(self) -> int:
        """Rows of the circular line buffer: dilated kernel height + stride."""
        return self.dh * (self.kh - 1) + 1 + self.sh

    @property
    def line_words(self) -> int:
        """Words the line buffer holds (its capacity must be at least this)."""
        return self.line_rows * self.w * self.cf

    def rows_ready(self, oy: int) -> int:
        """Input rows that must have arrived before output row ``oy`` (``H`` after the last)."""
        if oy >= self.oh:
            return self.h
        r = oy * self.sh - self.pt + self.dh * (self.kh - 1) + 1
        return min(max(r, 0), self.h)


@functools.lru_cache(maxsize=1 << 16)
def window_iterations(g: WindowGeom, steps_per_pixel: int) -> tuple[int, int]:
    """``(load, step)`` iteration counts of the window engine's two pipelined loops:
    ``load = ready(0)*W*CF`` and ``step = sum_oy max(OW*steps, (ready(oy+1)-ready(oy))*W*CF)``.
    A pure function of a frozen geometry: memoized, because an exploration asks for the same
    (geometry, steps) for most of its hundreds of candidates."""
    rw = g.w * g.cf
    load = g.rows_ready(0) * rw
    comp = g.ow * steps_per_pixel
    step = sum(max(comp, (g.rows_ready(oy + 1) - g.rows_ready(oy)) * rw) for oy in range(g.oh))
    return load, step


def conv_geom(layer: HwLayer, simd: int) -> WindowGeom:
    """Window geometry of a conv layer's convolution."""
    h, w, c = layer.in_shape
    oh, ow = layer.conv_out_hw
    return WindowGeom(h, w, c // simd, *layer.kernel, *layer.stride, *layer.dilation,
                      *layer.pads, oh, ow)


def pool_geom(pool: PoolSpec, in_hw: tuple[int, int], cf: int) -> WindowGeom:
    """Window geometry of a pool (standalone, or fused on a conv output of ``in_hw``)."""
    oh, ow = pool.out_hw(*in_hw)
    return WindowGeom(in_hw[0], in_hw[1], cf, *pool.kernel, *pool.stride, 1, 1, *pool.pads,
                      oh, ow)


def conv_iterations(layer: HwLayer, pe: int, simd: int, nf: int | None = None) -> dict[str, int]:
    """Iterations of conv_core (+ the fused pool_core) for ``nf`` output folds (default all)."""
    oc = layer.out_shape[2]
    nf = oc // pe if nf is None else nf
    g = conv_geom(layer, simd)
    load, step = window_iterations(g, nf * g.kh * g.kw * g.cf)
    it = {"conv.load": load, "conv.step": step}
    if layer.pool is not None:
        pg = pool_geom(layer.pool, layer.conv_out_hw, nf)
        pl, ps = window_iterations(pg, pg.cf * pg.kh * pg.kw)
        it.update({"pool.load": pl, "pool.step": ps})
    return it


def pool_iterations(layer: HwLayer, lanes: int) -> dict[str, int]:
    """Iterations of a standalone pool layer's pool_core."""
    h, w, c = layer.in_shape
    pg = pool_geom(layer.pool, (h, w), c // lanes)
    pl, ps = window_iterations(pg, pg.cf * pg.kh * pg.kw)
    return {"pool.load": pl, "pool.step": ps}


def global_pool_iterations(h: int, w: int, c: int, lanes: int) -> dict[str, int]:
    """Iterations of global_pool_layer: accumulate H*W*CF, then write CF words."""
    cf = c // lanes
    return {"gpool.step": h * w * cf, "gpool.out": cf}


# --------------------------------------------------------------------------- hardware config


@dataclass(frozen=True)
class Device:
    """Resources of a Zynq part (BRAM36 counts URAM as 8 BRAM36 each where present: no)."""

    name: str
    part: str
    dsp: int
    bram36: int
    lut: int


DEVICES = {
    "ultra96": Device("ultra96", "xczu3eg-sbva484-1-e", 360, 216, 70560),
    "zcu104": Device("zcu104", "xczu7ev-ffvc1156-2-e", 1728, 312, 230400),
    "pynq-z2": Device("pynq-z2", "xc7z020clg400-1", 220, 140, 53200),
}


@dataclass(frozen=True)
class LayerCost:
    """Cost of one layer: exact loop iterations, estimated cycles and resources."""

    name: str
    iterations: dict[str, int]
    cycles: int
    dsp: int
    bram36: int
    lut: int


@dataclass(frozen=True)
class ProgramCost:
    """Cost of a program. Dataflow: the layers run concurrently, ``interval_cycles`` is the
    slowest layer, ``cycles`` the latency bound (sum of layers); overlay: ``cycles`` is the sum
    of layers and resources are the single engine's (not per layer)."""

    style: str
    layers: tuple[LayerCost, ...]
    cycles: int
    interval_cycles: int
    dsp: int
    bram36: int
    lut: int
    clock_mhz: float
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.cycles / (self.clock_mhz * 1e6)

    def fits(self, device: Device | str) -> bool:
        d = DEVICES[device] if isinstance(device, str) else device
        return self.dsp <= d.dsp and self.bram36 <= d.bram36 and self.lut <= d.lut


# --------------------------------------------------------------------------- resource rules
_BRAM36_SHAPES = ((32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36),
                  (512, 72))


def bram36(depth: int, width: int) -> int:
    """BRAM36 blocks for a ``depth`` x ``width`` memory (best aspect ratio; arrays of at most
    1024 bits go to LUTRAM / registers and cost 0)."""
    if depth <= 0 or width <= 0 or depth * width <= 1024:
        return 0
    return min(math.ceil(width / w) * math.ceil(depth / d) for d, w in _BRAM36_SHAPES)


def dsp_per_mac(a_bits: int, w_bits: int, packing: bool) -> float:
    """DSP48E2 per multiply: two <= 8-bit products share one DSP with packing (they share the
    activation operand across PE lanes), else 1 per product up to 27 x 18 bits, beyond that
    ``ceil(a/27) * ceil(w/18)`` (16 x 16 Q2.14 -> 1 each)."""
    if a_bits <= 8 and w_bits <= 8:
        return 0.5 if packing else 1.0
    a, w = max(a_bits, w_bits), min(a_bits, w_bits)
    return float(math.ceil(a / 27) * math.ceil(w / 18))


def dsp_packing_supported(part: str) -> bool:
    """Two int8 MACs per DSP need the DSP48E2's 27-bit multiplier operand (UltraScale /
    UltraScale+: ``xczu``, ``xcku``, ``xcvu``...); the 7-series DSP48E1 (25 x 18, ``xc7``
    parts such as the PYNQ-Z2's xc7z020) cannot hold the 26-bit packed weight pair."""
    return not part.lower().startswith("xc7")


def _mac_dsp(pe: int, simd: int, a_bits: int, w_bits: int, packing: bool) -> int:
    per = dsp_per_mac(a_bits, w_bits, packing)
    if per == 0.5:
        return simd * math.ceil(pe / 2)
    return int(pe * simd * per)


def _mac_lut(pe: int, simd: int, a_bits: int, w_bits: int, acc_bits: int) -> int:
    # adder tree of SIMD products per PE lane + accumulator + requantize/saturate per PE lane
    prod = a_bits + w_bits
    return pe * (simd * (prod + 4) + acc_bits * 2 + 40)


ENGINE_LUT = 900            # window engine counters, address generation, control
AXI_PORT_LUT = 1500         # one m_axi adapter
AXI_PORT_BRAM = 2           # its read/write buffers


# --------------------------------------------------------------------------- dataflow layers
def dataflow_layer_cost(layer: HwLayer, pe: int, simd: int, cfg: HlsConfig) -> LayerCost:
    """Iterations, cycles and resources of one dataflow layer (its own engines and memories)."""
    in_bits, out_bits = layer.in_type.bits, layer.out_type.bits
    h, w, c = layer.in_shape
    if layer.kind == "conv":
        it = conv_iterations(layer, pe, simd)
        oh, _ = layer.conv_out_hw
        conv = it["conv.load"] + it["conv.step"] + (1 + oh) * cfg.depth
        g = conv_geom(layer, simd)
        wb = layer.weight_type.bits if layer.weight_type else cfg.w_bits
        oc = layer.out_shape[2]
        words = (oc // pe) * g.kh * g.kw * g.cf
        bram = bram36(g.line_words, simd * in_bits) + bram36(words, pe * simd * wb)
        bram += bram36(oc, layer.acc_bits)
        dsp = _mac_dsp(pe, simd, in_bits, wb, cfg.int8_dsp_packing)
        lut = ENGINE_LUT + _mac_lut(pe, simd, in_bits, wb, layer.acc_bits)
        stages = [conv]
        if layer.pool is not None:
            pg = pool_geom(layer.pool, layer.conv_out_hw, oc // pe)
            stages.append(it["pool.load"] + it["pool.step"] + (1 + pg.oh) * cfg.depth)
            bram += bram36(pg.line_words, pe * out_bits)
            lut += ENGINE_LUT + _pool_lut(pe, out_bits, layer.pool)
        cycles = max(stages)
    else:
        it = pool_iterations(layer, simd)
        pg = pool_geom(layer.pool, (h, w), c // simd)
        cycles = it["pool.load"] + it["pool.step"] + (1 + pg.oh) * cfg.depth
        bram = bram36(pg.line_words, simd * in_bits)
        dsp = 0
        lut = ENGINE_LUT + _pool_lut(simd, in_bits, layer.pool)
    return LayerCost(layer.name, it, cycles, dsp, bram, lut)


def _pool_lut(lanes: int, bits: int, pool: PoolSpec) -> int:
    sum_bits = bits + 1 + math.ceil(math.log2(pool.kernel[0] * pool.kernel[1]))
    per_lane = sum_bits * 3 + (sum_bits * sum_bits // 2 if pool.kind == "avg" else 0)
    return lanes * per_lane


# --------------------------------------------------------------------------- overlay layers
def overlay_iterations(layer: HwLayer, p: OverlayParams) -> dict[str, int]:
    """Iterations of overlay_run for one layer (summed over its output-channel tiles); equal to
    the C-simulation counters. Weight-streaming layers (:func:`streams_weights`) count
    ``ovl.ws`` instead of ``ovl.wload``; a fused pool adds the lane narrowing ``ovl.nar``; a
    wide output (``OUT_BITS``) writes ``OUT_BITS / ACT_BITS`` words per SIMD lanes."""
    it: dict[str, int] = {"ovl.desc": DESC_WORDS}
    h, w, c = layer.in_shape

    def add(d: dict[str, int]) -> None:
        for k, v in d.items():
            it[k] = it.get(k, 0) + v

    if layer.kind != "conv":
        pg = pool_geom(layer.pool, (h, w), c // p.simd)
        add(pool_iterations(layer, p.simd))
        add({"ovl.rd": h * w * pg.cf, "ovl.wr": pg.oh * pg.ow * pg.cf})
        return it
    tile_nf = choose_tile_nf(layer, p)
    nf_all = layer.out_shape[2] // p.pe
    kkcf = layer.kernel[0] * layer.kernel[1] * (c // p.simd)
    k = output_bits(layer, p) // p.act_bits
    wkey = "ovl.ws" if streams_weights(layer) else "ovl.wload"
    for t in range(0, nf_all, tile_nf):
        nf = min(tile_nf, nf_all - t)
        add({wkey: nf * kkcf, "ovl.bload": nf * p.pe, "ovl.rd": h * w * (c // p.simd)})
        add(conv_iterations(layer, p.pe, p.simd, nf))
        if layer.pool is not None:
            coh, cow = layer.conv_out_hw
            add({"ovl.nar": coh * cow * nf})
        oh, ow = layer.conv_out_hw if layer.pool is None else layer.out_shape[:2]
        add({"ovl.wr": oh * ow * nf * (p.pe // p.simd) * k})
    return it


def dma_cycles(words: int, word_bits: int, cfg: HlsConfig) -> int:
    """Cycles to move ``words`` words of ``word_bits`` over one m_axi port: ``ceil(word_bits /
    dma_bits)`` beats per word, and at least the bytes over the port's sustained DDR bandwidth
    (``cfg.ddr_port_gbps``, when set)."""
    cycles = words * math.ceil(word_bits / cfg.dma_bits)
    if cfg.ddr_port_gbps > 0 and words > 0:
        bytes_per_cycle = cfg.ddr_port_gbps * 1e9 / (cfg.clock_mhz * 1e6)
        cycles = max(cycles, math.ceil(words * word_bits / 8 / bytes_per_cycle))
    return cycles


def overlay_layer_cost(layer: HwLayer, cfg: HlsConfig) -> LayerCost:
    """Cycles of one overlay layer: per tile, the weight/bias DMA (weights only when they are
    buffered), then the dataflow region (read, [weight stream], conv, [narrow, pool], write run
    concurrently: the slowest stage), DMA-bound when the port moves fewer bits per cycle than a
    word or the DDR bandwidth (``ddr_port_gbps``) is lower."""
    p = cfg.overlay_params()
    check_layer(layer, p)
    it = overlay_iterations(layer, p)
    act_word = p.simd * p.act_bits
    w_word = p.pe * p.simd * p.w_bits
    cycles = DESC_WORDS + cfg.depth
    h, w, c = layer.in_shape
    if layer.kind != "conv":
        pg = pool_geom(layer.pool, (h, w), c // p.simd)
        stages = [dma_cycles(it["ovl.rd"], act_word, cfg),
                  it["pool.load"] + it["pool.step"] + (1 + pg.oh) * cfg.depth,
                  dma_cycles(it["ovl.wr"], act_word, cfg)]
        cycles += max(stages) + cfg.depth
        return LayerCost(layer.name, it, cycles, 0, 0, 0)
    tile_nf = choose_tile_nf(layer, p)
    nf_all = layer.out_shape[2] // p.pe
    oh_conv, _ = layer.conv_out_hw
    stream = streams_weights(layer)
    k = output_bits(layer, p) // p.act_bits
    for t in range(0, nf_all, tile_nf):
        nf = min(tile_nf, nf_all - t)
        ti = conv_iterations(layer, p.pe, p.simd, nf)
        kkcf = layer.kernel[0] * layer.kernel[1] * (c // p.simd)
        wload = 0 if stream else dma_cycles(nf * kkcf, w_word, cfg) + cfg.depth
        cycles += wload + dma_cycles(nf * p.pe, 64, cfg) + cfg.depth
        stages = [dma_cycles(h * w * (c // p.simd), act_word, cfg),
                  ti["conv.load"] + ti["conv.step"] + (1 + oh_conv) * cfg.depth]
        if stream:
            stages.append(dma_cycles(nf * kkcf, w_word, cfg))
        oh, ow = layer.conv_out_hw
        if layer.pool is not None:
            pg = pool_geom(layer.pool, layer.conv_out_hw, nf)
            stages.append(ti["pool.load"] + ti["pool.step"] + (1 + pg.oh) * cfg.depth)
            oh, ow = pg.oh, pg.ow
        stages.append(dma_cycles(oh * ow * nf * (p.pe // p.simd) * k, act_word, cfg))
        cycles += max(stages) + cfg.depth
    return LayerCost(layer.name, it, cycles, 0, 0, 0)


def overlay_resources(cfg: HlsConfig) -> tuple[int, int, int]:
    """(DSP, BRAM36, LUT) of the overlay engine for its synthesis-time capacities."""
    p = cfg.overlay_params()
    dsp = _mac_dsp(p.pe, p.simd, p.act_bits, p.w_bits, cfg.int8_dsp_packing)
    dsp += 6                        # run-time address arithmetic (oy*SH, ix*CF, slot*row_words)
    bram = (bram36(p.lb_words, p.simd * p.act_bits)
            + bram36(p.wbuf_words, p.pe * p.simd * p.w_bits)
            + bram36(p.plb_words, p.pe * p.act_bits)
            + bram36(p.splb_words, p.simd * p.act_bits)
            + 4 * AXI_PORT_BRAM)
    pool_lut = (p.pe + p.simd) * (p.sum_bits * 3 + p.sum_bits * p.sum_bits // 2)
    # requantize / saturate to OUT_BITS-wide lanes, narrowing and the write-side lane muxes
    out_lut = p.pe * p.out_container + p.simd * p.act_bits * (p.pe // p.simd)
    lut = (3 * ENGINE_LUT + _mac_lut(p.pe, p.simd, p.act_bits, p.w_bits, p.acc_bits) + pool_lut
           + out_lut + 5 * AXI_PORT_LUT)
    return dsp, bram, lut


# --------------------------------------------------------------------------- programs
def estimate(program: HwProgram, cfg: HlsConfig) -> ProgramCost:
    """Cost of ``program`` on the hardware ``cfg`` (see hls/README.md for the formulas)."""
    if cfg.style == "overlay":
        layers = tuple(overlay_layer_cost(layer, cfg) for layer in program.layers)
        dsp, bram, lut = overlay_resources(cfg)
        total = sum(lc.cycles for lc in layers)
        return ProgramCost("overlay", layers, total, total, dsp, bram, lut, cfg.clock_mhz)
    layers = tuple(dataflow_layer_cost(layer, cfg.pe_of(i), cfg.simd_of(i), cfg)
                   for i, layer in enumerate(program.layers))
    h, w, c = program.in_shape
    oh, ow, oc = program.out_shape
    adapters = {"axis_in": h * w * c // cfg.simd_of(0),
                "axis_out": oh * ow * oc // cfg.pe_of(len(layers) - 1)}
    lut = sum(lc.lut for lc in layers) + 400 * (len(layers) + 1)     # FIFOs, adapters
    return ProgramCost("dataflow", layers, sum(lc.cycles for lc in layers),
                       max([lc.cycles for lc in layers] + list(adapters.values())),
                       sum(lc.dsp for lc in layers), sum(lc.bram36 for lc in layers), lut,
                       cfg.clock_mhz, adapters)


def act_container(bits: int) -> int:
    """Activation container width (8, 16 or 32) of a ``bits``-wide type."""
    return container_bits(bits)


# --------------------------------------------------------------------------- RTL variant
# The hand-written RTL of ``sim/rtl`` (``edgepool.codegen.rtl``) is a different engine from the
# HLS library: one element per beat between layers, a line buffer of KH+SH rows that overlaps
# frames, a PE -> 1 serializer after the MAC array and its own pipeline depths. Its cycle counts
# are therefore modelled separately (the HLS formulas above stay equal to the C-simulation
# counters). Calibrated against Verilator (tests/rtl/test_rtl_lenet.py prints the comparison;
# sim/README.md has the table).

#: pipeline depths of the RTL blocks, in cycles (see the module docstrings in sim/rtl)
RTL_ROW_TO_ISSUE = 1       # last element of a row accepted -> first window read issued
RTL_ISSUE_TO_BEAT = 2      # window read issued -> beat leaves ep_swg (RAM read + FIFO)
RTL_MVAU_DEPTH = 6         # last beat of a window into ep_mvau -> result word (A M S C R out)
RTL_POOL_DEPTH = 1         # last tap into ep_pool -> result word valid (max pool)
RTL_THRESHOLD_DEPTH = 1    # accumulator word into ep_threshold -> code word (registered)
#: quotient bits per pipeline stage of the average pool's divider (ep_pool DIV_BITS; the
#: generator passes this value): it bounds the logic depth of a stage to DIV_BITS
#: subtract-compare steps of SUMW bits (see sim/README.md, Yosys ltp)
RTL_DIV_BITS = 2


def rtl_pool_depth(kind: str, bits: int, kk: int) -> int:
    """Cycles from a window's last tap into ``ep_pool`` to its result word: 1 for max; for avg
    the divider's ``ceil(SUMW / RTL_DIV_BITS)`` stages plus the load and rounding stages,
    ``SUMW = bits + clog2(kk + 1) + 1`` (the exact window sum with its sign)."""
    if kind != "avg":
        return RTL_POOL_DEPTH
    sumw = bits + (kk).bit_length() + 1          # $clog2(KK + 1) == (KK).bit_length()
    return -(-sumw // RTL_DIV_BITS) + 2


@dataclass(frozen=True)
class RtlBlockTiming:
    """Modelled timing of one RTL block (a conv's MAC array or a pool unit) for frame 0."""

    kind: str                    # "conv" or "pool"
    window_beats: int            # ep_swg beats per frame (exact; one per cycle when not starved)
    first_beat: int              # cycle of its first window beat (frame 0)
    last_beat: int               # cycle of its last window beat (frame 0)
    out_elems: int


@dataclass(frozen=True)
class RtlLayerCost:
    """Modelled cycles of one HwLayer on the RTL, in the chain fed one element per cycle."""

    name: str
    blocks: tuple[RtlBlockTiming, ...]
    first_in: int                # cycle its first input element is accepted (frame 0)
    last_out: int                # cycle its last output element leaves (frame 0)
    interval: int                # steady-state cycles per frame of its slowest block

    @property
    def latency(self) -> int:
        """First input element to last output element of frame 0, inclusive."""
        return self.last_out - self.first_in + 1


@dataclass(frozen=True)
class RtlCost:
    """Modelled cycles of a program on the RTL chain: per layer, the frame-0 latency and the
    steady-state interval (the slowest block: its window beats, or its input elements)."""

    layers: tuple[RtlLayerCost, ...]
    latency_cycles: int
    interval_cycles: int
    clock_mhz: float

    @property
    def frames_per_second(self) -> float:
        return self.clock_mhz * 1e6 / self.interval_cycles


def _rtl_window_block(avail: list[int], *, h: int, w: int, c: int, lanes: int, kh: int,
                      kw: int, sh: int, pt: int, oh: int, ow: int, repeat: int, depth: int,
                      out_lanes: int, in_lanes: int = 1, ser_lanes: int = 1
                      ) -> tuple[list[int], int, int, int]:
    """Element timing through ep_swg -> (MAC array | pool) -> ep_ser of one block.

    ``avail[k]``: first cycle input element k can be handed over. Returns the output elements'
    cycles (consumer always ready), the first input acceptance and the first / last window
    beat. ``repeat`` = OC/PE folds of a MAC array, 0 for a pool unit. Models the line buffer's
    write gate (a row may be written when it is less than KH+SH
    rows ahead of the window origin) and the serializer; a serializer slower than the windows
    (out_lanes > window beats) stalls the MAC array, which is not modelled. ``in_lanes``
    elements are accepted per cycle (a beat), the serializer emits ``ser_lanes`` per beat."""
    cs = c // lanes
    nrows = kh + sh
    row_elems = w * c
    if repeat:                               # MAC array: a word per (ox, fold), all of C
        wpf, words_per_row = cs * kh * kw, ow * repeat
    else:                                    # pool: a word per (ox, channel group)
        wpf, words_per_row = kh * kw, ow * cs
    accept = [0] * len(avail)
    k = 0
    prev = -1
    row_done: list[int] = []
    end_prev = 0                             # cycle after the previous output row's last issue
    row_end: list[int] = []                  # per output row: cycle after its last issue
    first_beat = last_beat = -1
    out: list[int] = []
    ser_free = -(10 ** 9)

    def y0c(oy: int) -> int:
        return max(oy * sh - pt, 0)

    def gate(r: int) -> int:
        """First cycle row r may be written: its slot is free once the window origin passed."""
        if r < nrows:
            return 0
        oy = next(o for o in range(oh + 1) if o == oh or y0c(o) > r - nrows)
        return row_end[oy - 1] if oy >= 1 and oy - 1 < len(row_end) else 0

    def take_rows(n_rows: int) -> None:
        nonlocal k, prev
        while len(row_done) < n_rows:
            r = len(row_done)
            g = gate(r)
            for _ in range(row_elems // in_lanes):
                t = max(avail[k + in_lanes - 1], prev + 1, g)
                accept[k:k + in_lanes] = [t] * in_lanes
                prev = t
                k += in_lanes
            row_done.append(prev)

    for oy in range(oh):
        need = min(oy * sh - pt + kh, h)
        take_rows(need)
        start = max(end_prev, row_done[need - 1] + RTL_ROW_TO_ISSUE)
        if oy == 0:
            first_beat = start + RTL_ISSUE_TO_BEAT
        for q in range(words_per_row):
            b_last = start + (q + 1) * wpf - 1 + RTL_ISSUE_TO_BEAT
            v = b_last + depth
            if out_lanes == ser_lanes:
                out.extend([v] * out_lanes)
            else:
                nb = out_lanes // ser_lanes
                acc = max(v, ser_free)
                ser_free = acc + nb
                out.extend(acc + 1 + p // ser_lanes for p in range(out_lanes))
        end_prev = start + words_per_row * wpf
        row_end.append(end_prev)
        last_beat = end_prev - 1 + RTL_ISSUE_TO_BEAT
    take_rows(h)                              # rows below the last window (drained)
    return out, accept[0], first_beat, last_beat


def estimate_rtl(program: HwProgram, folding=None, clock_mhz: float = 200.0) -> RtlCost:
    """Cycles of ``program`` on the generated RTL chain (``edgepool.codegen.rtl``) with
    ``folding`` (layer name -> object with ``pe``, ``simd``, ``pool_simd``; missing layers use
    ``edgepool.accel.folding.rtl_default_folding``), its input fed one element per cycle and its
    output never stalled. Per layer: frame-0 latency from its first input to its last output
    inside the chain (so a layer is paced by its producer, as in the hardware) and the
    steady-state interval of its slowest block (frames overlap in the line buffers)."""

    folding = folding or {}
    t = list(range(int(math.prod(program.in_shape))))
    layers = []
    for layer in program.layers:
        f = folding.get(layer.name) or rtl_default_folding(layer)
        h, w, c = layer.in_shape
        blocks = []
        out_beats = []                       # output beats per frame of each block
        first_in = None
        link = getattr(f, "link_lanes", 1) if layer.pool is not None else 1
        if layer.kind == "conv":
            oc = layer.out_shape[2]
            oh, ow = layer.conv_out_hw
            t, acc0, fb, lb = _rtl_window_block(
                t, h=h, w=w, c=c, lanes=f.simd, kh=layer.kernel[0], kw=layer.kernel[1],
                sh=layer.stride[0], pt=layer.pads[0], oh=oh, ow=ow, repeat=oc // f.pe,
                depth=RTL_MVAU_DEPTH + (RTL_THRESHOLD_DEPTH if layer.thresholds is not None
                                        else 0),
                out_lanes=f.pe, ser_lanes=link)
            first_in = acc0
            beats = oh * ow * (oc // f.pe) * layer.kernel[0] * layer.kernel[1] * (c // f.simd)
            blocks.append(RtlBlockTiming("conv", beats, fb, lb, oh * ow * oc))
            out_beats.append(oh * ow * oc // link)
            pool_in = (oh, ow, oc)
        else:
            pool_in = (h, w, c)
        if layer.pool is not None:
            p = layer.pool
            ph, pw, pc = pool_in
            lanes = f.pool_simd
            poh, pow_ = p.out_hw(ph, pw)
            pbits = layer.out_type.bits if layer.kind == "conv" else layer.in_type.bits
            t, acc0, fb, lb = _rtl_window_block(
                t, h=ph, w=pw, c=pc, lanes=lanes, kh=p.kernel[0], kw=p.kernel[1],
                sh=p.stride[0], pt=p.pads[0], oh=poh, ow=pow_, repeat=0,
                depth=rtl_pool_depth(p.kind, pbits, p.kernel[0] * p.kernel[1]),
                out_lanes=lanes, in_lanes=link if layer.kind == "conv" else 1)
            first_in = acc0 if first_in is None else first_in
            beats = poh * pow_ * p.kernel[0] * p.kernel[1] * (pc // lanes)
            blocks.append(RtlBlockTiming("pool", beats, fb, lb, poh * pow_ * pc))
            out_beats.append(poh * pow_ * pc)
        interval = max(max(b.window_beats, ob) for b, ob in zip(blocks, out_beats, strict=True))
        interval = max(interval, h * w * c)
        layers.append(RtlLayerCost(layer.name, tuple(blocks), first_in, t[-1], interval))
    return RtlCost(tuple(layers), t[-1] + 1, max(ly.interval for ly in layers), clock_mhz)


# --------------------------------------------------------------------------- RTL resources
# LUT / FF / DSP / BRAM of the hand-written RTL blocks (sim/rtl), per block from the block's
# parameters (the ones the generator passes; Yosys reports the same names), fitted to Yosys
# 0.23 ``synth_xilinx`` counts (benchmarks/rtl_synth.py; ``--fit`` redoes the fit). LUT and FF
# are linear in a few structural features (non-negative least squares over the blocks of the
# fitted designs); DSP and BRAM follow the mapping rules.

#: RAMB18 aspect ratios (depth, width); a memory of at most RTL_LUTMEM_DEPTH words stays in
#: LUTs (what Yosys 0.23 chose on every block measured: ROMs of 72 / 80 words and line buffers
#: of 64 words in LUTs, 288- and 512-word ones in block RAM)
_BRAM18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
RTL_LUTMEM_DEPTH = 256


def bram18(depth: int, width: int) -> int:
    """RAMB18 for a ``depth`` x ``width`` memory (0: shallow enough for LUTs)."""
    if depth <= RTL_LUTMEM_DEPTH or width <= 0:
        return 0
    return min(math.ceil(width / w) * math.ceil(depth / d) for d, w in _BRAM18_SHAPES)


def _clog2(n: int) -> int:
    return max(0, (int(n) - 1).bit_length())


@dataclass(frozen=True)
class RtlResources:
    """LUT / FF / DSP48 / BRAM (in RAMB36 equivalents) of RTL blocks."""

    lut: int
    ff: int
    dsp: int
    bram36: float

    def __add__(self, o: RtlResources) -> RtlResources:
        return RtlResources(self.lut + o.lut, self.ff + o.ff, self.dsp + o.dsp,
                            self.bram36 + o.bram36)

    def scaled(self, n: int) -> RtlResources:
        return RtlResources(self.lut * n, self.ff * n, self.dsp * n, self.bram36 * n)

    def as_dict(self) -> dict[str, float]:
        return {"LUT": self.lut, "FF": self.ff, "DSP": self.dsp, "BRAM36": self.bram36}


def _mul_dsp(a: int, b: int) -> int:
    """DSP48 per signed a x b multiply (27 x 18 on DSP48E2 / 25 x 18 on E1, the same count
    for the widths here)."""
    hi, lo = max(a, b), min(a, b)
    return math.ceil(hi / 27) * math.ceil(lo / 18)


def rtl_uses_xnor(layer: HwLayer) -> bool:
    """Whether the RTL generator builds ``layer``'s ``ep_mvau`` with ``XNOR = 1`` (a 1-bit
    layer with signed ±1 codes: sign-bit XNOR + popcount, no multiplier, no DSP packing)."""
    return layer.xnor() and layer.in_type.signed and layer.weight_type.signed


def _mvau(p: Mapping[str, int]) -> tuple[list[float], list[float], int, float]:
    pe, simd, idw, ww, accw = p["PE"], p["SIMD"], p["IDW"], p["WW"], p["ACCW"]
    nf, wpf, odw = p["NF"], p["WPF"], p.get("ODW", 8)
    xnor = bool(p.get("XNOR", 0))
    # XNOR: one registered agree bit per term instead of a product (not fitted: the features
    # of the multiplier path with 1-bit "products" and no DSP)
    pw = 1 if xnor else idw + 1 + ww
    npair = pe // 2 if (not xnor and p.get("DSP_PACK", 0) and idw <= 8 and ww <= 8) else 0
    dsp = 0 if xnor else simd * (npair + (pe - 2 * npair) * _mul_dsp(idw + 1, ww))
    wrom = (nf * wpf, pe * simd * ww)
    brom = (nf, pe * accw)
    bram = (bram18(*wrom) + bram18(*brom)) / 2
    lutrom = sum(d * w for d, w in (wrom, brom) if bram18(d, w) == 0) / 64
    lut = [1.0, pe * simd * pw, pe * accw, lutrom, npair * simd * pw]
    ff = [1.0, pe * accw, simd * idw + pe * odw, npair * simd * pw]
    return lut, ff, dsp, bram


def _swg(p: Mapping[str, int]) -> tuple[list[float], list[float], int, float]:
    simd, dw, c, w = p["SIMD"], p["DW"], p["C"], p["W"]
    depth = (p["KH"] + p["SH"]) * w * (c // simd)
    mem = bram18(depth, simd * dw)
    lutram = 0 if mem else depth * simd * dw / 64
    ctr = _clog2(depth) + _clog2(p["H"] + w + p["KH"] + p["KW"]) + _clog2(p.get("REPEAT", 1))
    return [1.0, simd * dw, lutram, ctr], [1.0, simd * dw, ctr], 0, mem / 2


def _pool(p: Mapping[str, int]) -> tuple[list[float], list[float], int, float]:
    simd, dw, kk = p["SIMD"], p["DW"], p["KK"]
    sumw = dw + _clog2(kk + 1) + 1
    avg = 1 if p.get("MODE", 0) else 0
    bps = max(1, p.get("DIV_BITS", 4))
    ns = -(-sumw // bps)
    return ([1.0, simd * sumw, avg * simd * sumw * ns], [1.0, simd * sumw,
                                                          avg * simd * sumw * ns], 0, 0.0)


def _ser(p: Mapping[str, int]) -> tuple[list[float], list[float], int, float]:
    n, dw = p["N"], p["DW"]
    return [1.0, n * dw if n > 1 else 0], [1.0, n * dw if n > 1 else 0], 0, 0.0


def _axis_pack(p: Mapping[str, int]) -> tuple[list[float], list[float], int, float]:
    beat = 8 * p["BEAT_BYTES"]
    return [beat * (p["BEAT_BYTES"] // p["EB"])], [beat], 0, 0.0


def _axis_unpack(p: Mapping[str, int]) -> tuple[list[float], list[float], int, float]:
    beat = 8 * p["BEAT_BYTES"]
    return [beat], [beat], 0, 0.0


def _axil(p: Mapping[str, int]) -> tuple[list[float], list[float], int, float]:
    return [1.0], [1.0], 0, 0.0


_RTL_FEATURES = {"ep_mvau": _mvau, "ep_swg": _swg, "ep_pool": _pool, "ep_ser": _ser,
                 "ep_axis_pack": _axis_pack, "ep_axis_unpack": _axis_unpack,
                 "ep_axil_ctrl": _axil}

#: fitted coefficients (LUT, FF) per block, in the order of the feature vectors above
RTL_COEF: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "ep_mvau": ((58.225, 0.0, 6.602, 1.637, 2.252), (43.628, 4.063, 1.059, 2.879)),
    "ep_swg": ((366.203, 5.816, 0.812, 9.57), (289.71, 2.024, 0.714)),
    "ep_pool": ((0.0, 2.911, 5.96), (0.0, 1.823, 2.419)),
    "ep_ser": ((0.414, 0.563), (1.346, 1.043)),
    # one sample each (the IP's shell): calibrated constants rather than a fit
    "ep_axis_pack": ((5.391,), (2.109,)),
    "ep_axis_unpack": ((0.594,), (1.172,)),
    "ep_axil_ctrl": ((34.0,), (24.0,)),
}


def rtl_features(block: str, params: Mapping[str, int]) -> tuple[list[float], list[float]]:
    """The LUT and FF feature vectors of ``block`` (for the fit)."""
    lut, ff, _, _ = _RTL_FEATURES[block](params)
    return lut, ff


def rtl_block_resources(block: str, params: Mapping[str, int]) -> RtlResources:
    """Estimated LUT / FF / DSP / BRAM36 of ONE instance of ``block`` (``ep_mvau``,
    ``ep_swg``, ``ep_pool``, ``ep_ser``, ``ep_axis_pack``, ``ep_axis_unpack``,
    ``ep_axil_ctrl``) with the generator's parameters ``params`` (SystemVerilog names)."""
    if block not in _RTL_FEATURES:
        raise KeyError(f"no RTL resource model for {block!r}")
    lut_x, ff_x, dsp, bram = _RTL_FEATURES[block](params)
    cl, cf = RTL_COEF[block]
    lut = sum(a * b for a, b in zip(cl, lut_x, strict=True))
    ff = sum(a * b for a, b in zip(cf, ff_x, strict=True))
    return RtlResources(round(lut), round(ff), dsp, bram)


def rtl_blocks(program: HwProgram, folding=None, dsp_pack: bool = True
               ) -> list[tuple[str, dict[str, int]]]:
    """The datapath blocks the RTL generator instantiates for ``program`` with their
    parameters (``folding``: {layer name: LayerFolding}, default rtl_default_folding)."""
    from_layer = folding or {}
    out: list[tuple[str, dict[str, int]]] = []

    def pool_blocks(pool: PoolSpec, h: int, w: int, c: int, bits: int, signed: bool,
                    lanes: int, in_lanes: int) -> None:
        oh, ow = pool.out_hw(h, w)
        out.append(("ep_swg", dict(DW=bits, H=h, W=w, C=c, SIMD=lanes, KH=pool.kernel[0],
                                   KW=pool.kernel[1], SH=pool.stride[0], SW=pool.stride[1],
                                   OH=oh, OW=ow, REPEAT=1, IN_LANES=in_lanes)))
        out.append(("ep_pool", dict(DW=bits, SIGNED=int(signed), SIMD=lanes,
                                    MODE=0 if pool.kind == "max" else 1,
                                    KK=pool.kernel[0] * pool.kernel[1],
                                    DIV_BITS=RTL_DIV_BITS)))
        out.append(("ep_ser", dict(DW=bits, N=lanes, M=1)))

    for layer in program.layers:
        f = from_layer.get(layer.name) or rtl_default_folding(layer)
        h, w, c = layer.in_shape
        if layer.kind == "conv":
            oc, kh, kw, _ = layer.weights.shape
            oh, ow = layer.conv_out_hw
            ot = layer.out_type
            xnor = rtl_uses_xnor(layer)
            # a threshold layer's MAC array passes its exact accumulator to ep_threshold
            # (whose comparators are not in this model)
            mac_odw = accumulator_width(layer) if layer.thresholds is not None else ot.bits
            out.append(("ep_swg", dict(DW=layer.in_type.bits, H=h, W=w, C=c, SIMD=f.simd,
                                       KH=kh, KW=kw, SH=layer.stride[0], SW=layer.stride[1],
                                       OH=oh, OW=ow, REPEAT=oc // f.pe)))
            out.append(("ep_mvau", dict(IDW=layer.in_type.bits, WW=layer.weight_type.bits,
                                        ACCW=accumulator_width(layer), PE=f.pe, SIMD=f.simd,
                                        NF=oc // f.pe, WPF=kh * kw * (c // f.simd),
                                        ODW=mac_odw, DSP_PACK=int(dsp_pack and not xnor),
                                        XNOR=int(xnor))))
            lanes = f.link_lanes if layer.pool is not None else 1
            out.append(("ep_ser", dict(DW=mac_odw, N=f.pe, M=lanes)))
            if layer.pool is not None:
                pool_blocks(layer.pool, oh, ow, oc, ot.bits, ot.signed, f.pool_simd, lanes)
        else:
            pool_blocks(layer.pool, h, w, c, layer.in_type.bits, layer.in_type.signed,
                        f.pool_simd, 1)
    return out


def rtl_resources(program: HwProgram, folding=None, dsp_pack: bool = True) -> RtlResources:
    """Estimated LUT / FF / DSP / BRAM36 of ``program``'s RTL datapath (sum of
    :func:`rtl_block_resources` over :func:`rtl_blocks`; the AXI shell of the IP adds
    ``ep_axil_ctrl`` and the two stream width converters)."""
    total = RtlResources(0, 0, 0, 0.0)
    for block, params in rtl_blocks(program, folding, dsp_pack):
        total = total + rtl_block_resources(block, params)
    return total
