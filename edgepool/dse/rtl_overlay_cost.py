# SPDX-License-Identifier: Apache-2.0
"""Cycle model of the RTL overlay IP (``sim/rtl/ep_ovl_core.sv`` behind ``ep_ovl_rd`` /
``ep_ovl_wr``), calibrated against its cycle-accurate simulation (the C++ Verilator harness,
DDR model with a first-beat latency ``latency`` and ``bytes_per_cycle``): the test
tests/rtl/test_rtl_overlay_cost.py holds every layer of several programs to 5 %.

A layer is a sum over its output-channel tiles: weight load (unless streamed), bias load, then
per conv output row: the new input rows (one DDR read), ``OW * nf * KH*KW*CF`` MAC steps, and
for a fused pool the pool rows that became ready (``OW' * nf * PKH*PKW`` steps each). From the
second row of a tile on, the row's input is prefetched while the previous row computes (weights
from WBUF): only the part of that read longer than the previous row's work (plus ``K_PF``) is
charged. A weight-streamed (1x1-output) layer runs at the rate its weight words arrive: over
``w_ports`` AXI read ports (one burst per word and port, ep_ovl_wst) at the DDR model's
per-port and shared caps. Words wider than a beat take one cycle per beat plus one (the
unpacker's hand-over); narrower words one cycle each. Output writes overlap the compute;
only the last run's drain is charged (at the layer end).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..accel.axis import container_bits
from ..accel.descriptor import choose_tile_nf, output_bits, streams_weights
from ..accel.engine import OverlayParams, rq_lanes
from ..accel.program import HwLayer, HwProgram

#: AXI data bytes per beat of the RTL overlay's m_axi_gmem (edgepool.codegen.rtl_overlay)
BEAT = 16
#: fixed costs, cycles: least-squares fit of every layer of four programs (VGG16 at 32x32 and
#: three small ones, DDR model latency 40, 16 B/cycle) against the harness (worst error 0.15 %),
#: then K_LAYER, K_ROW and the pool drain raised by the states and stages the area datapath
#: added (setup, products, requantizer passes, divider): tests/rtl/test_rtl_overlay_cost.py's
#: programs now err -1.9..+2.4 % per layer (one layer of the shared-cap DDR model +4.1 %),
#: VGG16 224 (benchmarks/results/rtl_overlay_vgg16.md) within 0.06 % per layer
K_LAYER = 7           # descriptor request, setup (two states), check, modulo, layer end
K_TILE = 0            # tile setup (hidden in the reads that follow)
K_READ = 6            # one DDR read command: request, AR handshake, unpacker hand-over
K_ROW = 6             # one conv row: row / load states, pipeline drain (issue, P, A, R1, R2)
K_PROW = 7            # one pool row: check, pipeline drain (plus the divider's, _pool_drain)
K_DRAIN = 0           # the last output run's write (overlaps the next descriptor fetch)
K_PF = 0              # a prefetched row read: issue after the row starts, landing to next row

#: read bursts one weight-streamer port keeps in flight (ep_ovl_top's MAX_OUT)
W_OUTSTANDING = 4


@dataclass(frozen=True)
class DdrModel:
    """The memory behind the AXI ports: first-beat ``latency``, ``bytes_per_cycle`` per port
    and ``total_bytes_per_cycle`` over all ports together (0: no shared cap)."""

    latency: int = 40
    bytes_per_cycle: float = 16.0
    total_bytes_per_cycle: float = 0.0


def _word_cycles(nbytes: int, ddr: DdrModel) -> float:
    """Cycles per word of ``nbytes`` delivered by the read path (unpacker + bandwidth)."""
    beats = nbytes / BEAT
    unpack = 1.0 if nbytes <= BEAT else beats + 1
    port = min(ddr.bytes_per_cycle, BEAT)
    if ddr.total_bytes_per_cycle:
        port = min(port, ddr.total_bytes_per_cycle)
    return max(unpack, nbytes / port)


def _read_cycles(words: int, nbytes: int, ddr: DdrModel) -> float:
    """Cycles of one DDR read of ``words`` words of ``nbytes`` (without its fixed K_READ)."""
    return ddr.latency + words * _word_cycles(nbytes, ddr)


def _stream_cycles(words: int, nbytes: int, ports: int, ddr: DdrModel) -> float:
    """Cycles of ``words`` streamed weight words of ``nbytes`` over ``ports`` read ports
    (ep_ovl_wst: port p fetches words p, p + ports, ... one burst each, W_OUTSTANDING in
    flight; the ports run side by side, together under the shared cap, a word out per cycle at
    most)."""
    beats = nbytes / BEAT
    lane = min(1.0, ddr.bytes_per_cycle / BEAT,
               W_OUTSTANDING * beats / (ddr.latency + beats + 2))     # beats per cycle
    t = max(-(-words // ports) * beats / lane, float(words))
    if ddr.total_bytes_per_cycle:
        t = max(t, words * nbytes / ddr.total_bytes_per_cycle)
    return ddr.latency + t


class _Acc:
    """Cycles: a variable part plus counts of the fixed-cost events (K_*)."""

    def __init__(self) -> None:
        self.var = 0.0
        self.n = dict.fromkeys(("K_LAYER", "K_TILE", "K_READ", "K_ROW", "K_PROW", "K_DRAIN"), 0)

    def read(self, words: int, nbytes: int, ddr: DdrModel) -> None:
        if words:
            self.n["K_READ"] += 1
            self.var += _read_cycles(words, nbytes, ddr)

    def total(self, k: dict[str, float] | None = None) -> int:
        k = k or {name: globals()[name] for name in self.n}
        return int(round(self.var + sum(k[name] * c for name, c in self.n.items())))


def _ready(o: int, oh: int, h: int, s: int, p: int, d: int, k: int) -> int:
    if o >= oh:
        return h
    return min(max(o * s - p + d * (k - 1) + 1, 0), h)


def _out_hw(size: int, k: int, s: int, p0: int, p1: int, ceil: bool) -> int:
    span = size + p0 + p1 - k
    o = (-(-span // s) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= size + p0:
        o -= 1
    return o


def _passes(p: OverlayParams) -> int:
    """Requantizer / divider passes per output word (PE / rq_lanes)."""
    return p.pe // rq_lanes(p)


def _pool_drain(p: OverlayParams) -> int:
    """Extra drain of a pool row: the sums' hold register, ep_ovl_avgdiv's ACT_BITS + 3 stages
    (one of which the pool's old result register was) and the divider's further passes."""
    return p.act_bits + 3 + _passes(p) - 1


def layer_events(layer: HwLayer, p: OverlayParams, ddr: DdrModel = DdrModel()) -> _Acc:
    """The variable cycles and fixed-cost event counts of one (padded) layer."""
    awb = p.simd * container_bits(p.act_bits) // 8
    wwb = p.pe * p.simd * p.w_bits // 8
    h, w, c = layer.in_shape
    cf = c // p.simd
    rw = w * cf
    a = _Acc()
    a.n["K_LAYER"] = a.n["K_DRAIN"] = 1
    a.var += ddr.latency + 40                                # 40 descriptor words
    pool = layer.pool
    if layer.kind != "conv":
        kh, kw = pool.kernel
        sh = pool.stride[0]
        oh, ow = layer.out_shape[:2]
        loaded = 0
        for py in range(oh):
            r = _ready(py, oh, h, sh, pool.pads[0], 1, kh)
            a.n["K_PROW"] += 1
            a.read((r - loaded) * rw, awb, ddr)
            loaded = r
            a.var += ow * cf * max(kh * kw, _passes(p)) + _pool_drain(p)
        return a
    kh, kw = layer.kernel
    sh, dh = layer.stride[0], layer.dilation[0]
    kkcf = kh * kw * cf
    coh, cow = layer.conv_out_hw
    nf_all = layer.out_shape[2] // p.pe
    tile_nf = choose_tile_nf(layer, p)
    wst = streams_weights(layer)
    k = output_bits(layer, p) // p.act_bits
    ns = _passes(p)
    for t in range(0, nf_all, tile_nf):
        nf = min(tile_nf, nf_all - t)
        a.n["K_TILE"] += 1
        if not wst:
            a.read(nf * kkcf, wwb, ddr)
        a.read(nf * p.pe, 8, ddr)
        loaded = 0
        py = 0
        prev_work = None             # cycles of the previous row's MAC steps and pool rows
        for oy in range(coh):
            r = _ready(oy, coh, h, sh, layer.pads[0], dh, kh)
            a.n["K_ROW"] += 1
            words = (r - loaded) * rw
            if prev_work is None or wst:
                a.read(words, awb, ddr)
            elif words:
                a.var += max(0.0, _read_cycles(words, awb, ddr) + K_READ + K_PF - prev_work)
            loaded = r
            start = a.total()
            steps = cow * nf * kkcf
            if wst and p.w_ports > 1:
                a.n["K_READ"] += 1
                a.var += _stream_cycles(steps, wwb, p.w_ports, ddr)
            elif wst:
                a.read(steps, wwb, ddr)
                a.var += 0 if _word_cycles(wwb, ddr) >= 1 else steps
            else:
                # the writer drains PE/SIMD*k words per output word, one per cycle; the
                # requantizers take PE/rq_lanes cycles per output word
                per_out = (p.pe // p.simd) * k if pool is None else 0
                a.var += max(cow * nf * max(kkcf, ns), cow * nf * per_out)
            a.var += ns - 1                  # the last output word's requantizer passes
            if pool is not None:
                pkh, pkw = pool.kernel
                psh = pool.stride[0]
                poh, pow_ = layer.out_shape[:2]
                while py < poh and _ready(py, poh, coh, psh, pool.pads[0], 1, pkh) <= oy + 1:
                    a.n["K_PROW"] += 1
                    a.var += pow_ * nf * max(pkh * pkw, ns) + _pool_drain(p)
                    py += 1
            prev_work = a.total() - start
    return a


def layer_cycles(layer: HwLayer, p: OverlayParams, ddr: DdrModel = DdrModel()) -> int:
    """Estimated cycles of one (padded) layer on the RTL overlay ``p``."""
    return layer_events(layer, p, ddr).total()


def program_cycles(program: HwProgram, p: OverlayParams, ddr: DdrModel = DdrModel()
                   ) -> list[int]:
    """Estimated cycles of every layer of a (padded: :func:`~edgepool.accel.descriptor.
    plan_program`) program."""
    return [layer_cycles(layer, p, ddr) for layer in program.layers]


#: LUT / FF of the RTL overlay IP = the weight-port part (:func:`weight_port_resources`) + a
#: linear function of :func:`resource_features` (1, PE, MACs x operand bits / 16): least squares
#: of Yosys 0.23 ``synth_xilinx -family xcup`` of the overlays marked ``fit`` in
#: benchmarks/results/rtl_synth_overlay.md (``rtl_synth_overlay.py`` prints the fit; the 8-bit
#: VGG16 overlay is held out); synthesized, not placed. The constant is the control (its 32-bit
#: counters and 64-bit pointers), the shared requantizers and divider, the AXI engines.
LUT_COEF = (13779.0, 234.94, 54.89)
FF_COEF = (6829.0, 134.75, 35.41)
#: wider than 8-bit operands: the fitted part times these (LUT, FF), the ratio Yosys / fit of the
#: one 16-bit overlay synthesized (VGG16 16-bit: 48-bit accumulators, 64-bit output containers,
#: 33-bit products); one run, not validated on another
WIDE_SCALE = (1.708, 1.095)
#: DSP48E2 of the overlay's control (its run-time address and size products, each narrowed to
#: one 17 x 26-bit DSP): 46 in the Yosys 0.23 runs of every overlay but the smallest (40: its
#: buffers' narrower addresses let Yosys map some products to LUTs)
ADDRESS_DSP = 46
#: (depth, width) of a RAMB18E2 / RAMB36E2 in simple dual-port mode
_RAMB18 = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
_RAMB36 = ((512, 72), (1024, 36), (2048, 18), (4096, 9), (8192, 4), (16384, 2), (32768, 1))


def _bram36(depth: int, width: int) -> float:
    """Block RAM of a ``depth`` x ``width`` buffer in RAMB36 units (a RAMB18 is 0.5): the best
    aspect ratio of either primitive; 1024 bits or less stay in LUT RAM."""
    if depth * width <= 1024:
        return 0.0
    return min(min(-(-width // w) * -(-depth // d) * 0.5 for d, w in _RAMB18),
               min(-(-width // w) * -(-depth // d) * 1.0 for d, w in _RAMB36))


def mac_dsp(p: OverlayParams, dsp_pack: bool = True) -> int:
    """DSP48E2 of the MAC array: one per product, two <= 8-bit lanes per DSP with packing."""
    macs = p.pe * p.simd
    if dsp_pack and p.act_bits <= 8 and p.w_bits <= 8 and p.pe % 2 == 0:
        return macs // 2
    return macs


def resource_features(p: OverlayParams) -> tuple[float, float, float]:
    """(1, PE, PE x SIMD x (ACT_BITS + W_BITS) / 16): what the fitted LUT / FF terms scale with
    (PE lanes: accumulators, bias memories, output words; the MAC array's product and adder-tree
    bits, relative to 8-bit operands)."""
    return (1.0, float(p.pe), p.pe * p.simd * (p.act_bits + p.w_bits) / 16)


def weight_port_resources(p: OverlayParams) -> tuple[float, float]:
    """(LUT, FF) of the FC weight ports beyond the first (from the structure of ep_ovl_wst and
    ep_ovl_rd): a word register per port, a W_PORTS:1 word multiplexer (one LUT6 per bit and
    three extra ports), one read engine (~330 LUT / 172 FF, measured) per extra port."""
    if p.w_ports <= 1:
        return 0.0, 0.0
    ww = p.pe * p.simd * p.w_bits
    extra = p.w_ports - 1
    return ww * -(-extra // 3) + 330.0 * extra, float(ww * p.w_ports) + 172.0 * extra


def rtl_overlay_resources(p: OverlayParams, dsp_pack: bool = True) -> dict[str, float]:
    """LUT, FF, DSP and BRAM36 of the RTL overlay IP with capacities ``p`` (ESTIMATED: DSPs, block
    RAM and the weight ports from the structure, the rest of LUT / FF fitted to Yosys runs, see
    LUT_COEF)."""
    macs = p.pe * p.simd
    bram = (_bram36(p.lb_words, p.simd * p.act_bits)
            + _bram36(p.wbuf_words, macs * p.w_bits)
            + _bram36(max(p.plb_words, p.splb_words), p.pe * p.act_bits))
    f = resource_features(p)
    port_lut, port_ff = weight_port_resources(p)
    lut_k, ff_k = WIDE_SCALE if max(p.act_bits, p.w_bits) > 8 else (1.0, 1.0)
    return {"LUT": round(lut_k * sum(c * x for c, x in zip(LUT_COEF, f, strict=True)) + port_lut),
            "FF": round(ff_k * sum(c * x for c, x in zip(FF_COEF, f, strict=True)) + port_ff),
            "DSP": mac_dsp(p, dsp_pack) + ADDRESS_DSP, "BRAM36": bram}


def seconds(cycles: int, clock_mhz: float) -> float:
    """``cycles`` at ``clock_mhz``."""
    return cycles / (clock_mhz * 1e6)


__all__ = ["DdrModel", "layer_cycles", "mac_dsp", "program_cycles", "resource_features",
           "rtl_overlay_resources", "seconds", "weight_port_resources"]
