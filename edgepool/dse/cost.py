# SPDX-License-Identifier: Apache-2.0
"""Analytic cost model of the edgepool HLS library (``hls/include/edgepool``).

Iteration counts mirror the engines' loop structure EXACTLY (every loop is pipelined with II=1 and
counted in C simulation by ``EP_COUNT``); cycles add each loop's pipeline depth and, in overlay
mode, the DMA time. DSP / BRAM36 / LUT are first-order estimates; the formulas are documented in
``hls/README.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from ..codegen.hls_descriptor import DESC_WORDS, OverlayParams, check_layer, choose_tile_nf
from ..codegen.program import HwLayer, HwProgram, PoolSpec
from ..runtime.axis import container_bits

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


def window_iterations(g: WindowGeom, steps_per_pixel: int) -> tuple[int, int]:
    """``(load, step)`` iteration counts of the window engine's two pipelined loops:
    ``load = ready(0)*W*CF`` and ``step = sum_oy max(OW*steps, (ready(oy+1)-ready(oy))*W*CF)``."""
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
class HlsConfig:
    """A hardware configuration of the HLS library.

    ``pe`` / ``simd`` are one value (overlay, or every dataflow layer) or one per layer
    (dataflow). ``act_bits`` is the activation container of the overlay's DDR buffers; the
    dataflow engines use each layer's own types. ``depth`` is the pipeline depth charged per
    invocation of a pipelined loop (calibrate against Vitis' schedule report).
    """

    style: Literal["dataflow", "overlay"] = "dataflow"
    act_bits: int = 8
    act_frac: int = 6
    w_bits: int = 8
    w_frac: int = 7
    pe: int | tuple[int, ...] = 1
    simd: int | tuple[int, ...] = 1
    dma_bits: int = 64
    clock_mhz: float = 200.0
    acc_bits: int = 32
    lb_words: int = 8192
    wbuf_words: int = 4096
    max_tile_nf: int = 8
    plb_words: int = 4096
    splb_words: int = 4096
    sum_bits: int = 16
    int8_dsp_packing: bool = True
    depth: int = 10

    def pe_of(self, i: int) -> int:
        return self.pe if isinstance(self.pe, int) else self.pe[i]

    def simd_of(self, i: int) -> int:
        return self.simd if isinstance(self.simd, int) else self.simd[i]

    def overlay_params(self) -> OverlayParams:
        """The overlay capacities (for :mod:`edgepool.codegen.hls_descriptor`)."""
        if not (isinstance(self.pe, int) and isinstance(self.simd, int)):
            raise ValueError("the overlay has one PE and one SIMD")
        return OverlayParams(self.simd, self.pe, self.act_bits, self.w_bits, self.acc_bits,
                             self.lb_words, self.wbuf_words, self.max_tile_nf, self.plb_words,
                             self.splb_words, self.sum_bits)


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
    the C-simulation counters."""
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
    for t in range(0, nf_all, tile_nf):
        nf = min(tile_nf, nf_all - t)
        add({"ovl.wload": nf * kkcf, "ovl.bload": nf * p.pe, "ovl.rd": h * w * (c // p.simd)})
        add(conv_iterations(layer, p.pe, p.simd, nf))
        oh, ow = layer.conv_out_hw if layer.pool is None else layer.out_shape[:2]
        add({"ovl.wr": oh * ow * nf * (p.pe // p.simd)})
    return it


def overlay_layer_cost(layer: HwLayer, cfg: HlsConfig) -> LayerCost:
    """Cycles of one overlay layer: per tile, the weight/bias DMA, then the dataflow region
    (read, conv, pool, write run concurrently: the slowest stage), DMA-bound when the port
    moves fewer bits per cycle than a word."""
    p = cfg.overlay_params()
    check_layer(layer, p)
    it = overlay_iterations(layer, p)
    act_word = p.simd * p.act_bits
    rd_c = math.ceil(act_word / cfg.dma_bits)
    w_c = math.ceil(p.pe * p.simd * p.w_bits / cfg.dma_bits)
    b_c = math.ceil(64 / cfg.dma_bits)
    cycles = DESC_WORDS + cfg.depth
    h, w, c = layer.in_shape
    if layer.kind != "conv":
        pg = pool_geom(layer.pool, (h, w), c // p.simd)
        stages = [it["ovl.rd"] * rd_c, it["pool.load"] + it["pool.step"] + (1 + pg.oh) * cfg.depth,
                  it["ovl.wr"] * rd_c]
        cycles += max(stages) + cfg.depth
        return LayerCost(layer.name, it, cycles, 0, 0, 0)
    tile_nf = choose_tile_nf(layer, p)
    nf_all = layer.out_shape[2] // p.pe
    oh_conv, _ = layer.conv_out_hw
    for t in range(0, nf_all, tile_nf):
        nf = min(tile_nf, nf_all - t)
        ti = conv_iterations(layer, p.pe, p.simd, nf)
        kkcf = layer.kernel[0] * layer.kernel[1] * (c // p.simd)
        cycles += nf * kkcf * w_c + nf * p.pe * b_c + 2 * cfg.depth
        stages = [h * w * (c // p.simd) * rd_c,
                  ti["conv.load"] + ti["conv.step"] + (1 + oh_conv) * cfg.depth]
        oh, ow = layer.conv_out_hw
        if layer.pool is not None:
            pg = pool_geom(layer.pool, layer.conv_out_hw, nf)
            stages.append(ti["pool.load"] + ti["pool.step"] + (1 + pg.oh) * cfg.depth)
            oh, ow = pg.oh, pg.ow
        stages.append(oh * ow * nf * (p.pe // p.simd) * rd_c)
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
    lut = (3 * ENGINE_LUT + _mac_lut(p.pe, p.simd, p.act_bits, p.w_bits, p.acc_bits) + pool_lut
           + 5 * AXI_PORT_LUT)
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
