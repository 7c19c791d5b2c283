# SPDX-License-Identifier: Apache-2.0
"""The design space of the HLS accelerator for one program on one board.

* :func:`skeleton` strips the weights (the cost model needs shapes only, and worker processes
  must not receive VGG16's 1.1 GB of int64 weights);
* :func:`pad_channels` zero-pads channel counts to multiples of SIMD / PE (exact: padded input
  channels meet zero weights, padded output channels are dropped by the host), e.g. VGG16's
  3 input channels for the overlay;
* :func:`overlay_configs` enumerates overlay PE x SIMD, DMA width, tile size (buffer sizes are
  derived from the program) and clocks;
* :func:`folding_trajectory` is the FINN-style folding of the dataflow style: start fully folded
  (PE = SIMD = 1), repeatedly raise the parallelism of the bottleneck layer while the design
  still fits the device; every step is a candidate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from ..accel.axis import container_bits
from ..accel.descriptor import layer_words, streams_weights
from ..accel.engine import MAX_W_PORTS, W_PORT_MIN_WORD_BYTES, HlsConfig
from ..accel.folding import divisors, folding_problems
from ..accel.program import HwLayer, HwProgram
from ..accel.regmap import RTL_OVERLAY_AXI_BITS
from ..targets import Board
from .cost import Device, dataflow_layer_cost, dsp_packing_supported

CLOCKS_MHZ = (100, 150, 200, 250, 300)


@dataclass(frozen=True)
class WeightShape:
    """Stands in for a weight array in a :func:`skeleton` program (``.shape`` only)."""

    shape: tuple[int, ...]


@dataclass(frozen=True)
class DseSpace:
    """What :func:`edgepool.dse.explore.explore` enumerates.

    ``margin`` is the usable fraction of every resource (DSP, BRAM36, LUT); ``clocks_mhz`` the
    clocks evaluated (capped at the board's ``clocks.max_mhz``); the default choice only takes
    clocks up to :func:`closure_mhz` (above it a configuration is shown, flagged as a timing
    risk, never chosen). ``tie`` is the relative latency within which candidates count as tied
    (then fewer resources win).
    """

    styles: tuple[str, ...] = ("dataflow", "overlay")
    pe: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    simd: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    dma_bits: tuple[int, ...] = (64, 128)
    tile_nf: tuple[int, ...] = (1, 2, 4, 8, 16)
    clocks_mhz: tuple[int, ...] = CLOCKS_MHZ
    margin: float = 0.85
    tie: float = 0.01
    max_macs_per_cycle: int = 2048
    max_fold_steps: int = 400
    clock_cap_mhz: int | None = None

    def cap(self, board: Board) -> int:
        """The highest clock the default choice may use on ``board``."""
        return int(self.clock_cap_mhz) if self.clock_cap_mhz else closure_mhz(board)


def device_of(board: Board) -> Device:
    """The cost model's :class:`Device` of a board (resources from ``hw/boards/*.toml``)."""
    r = board.resources
    return Device(board.name, board.part, int(r["dsp"]), int(r["bram36"]), int(r["lut"]))


def closure_mhz(board: Board) -> int:
    """The highest clock the default choice uses: what HLS designs with pipelined DSP48E2s and
    wide BRAM words close on the part's speed grade (UltraScale+ -1: 250 MHz, -2/-3: 300 MHz;
    7-series -1: 150 MHz, faster grades 200 MHz), never above the board's ``clocks.max_mhz``."""
    m = re.search(r"-(\d)(?:-[a-z])?$", board.part)
    grade = int(m.group(1)) if m else 1
    if board.family == "zynquplus":
        cap = 250 if grade <= 1 else 300
    else:
        cap = 150 if grade <= 1 else 200
    return int(min(cap, float(board.clocks.get("max_mhz", cap))))


def board_clocks(board: Board, space: DseSpace) -> tuple[int, ...]:
    """The clocks of ``space`` the board offers (``<= clocks.max_mhz``)."""
    mx = float(board.clocks.get("max_mhz", max(space.clocks_mhz)))
    return tuple(c for c in space.clocks_mhz if c <= mx)


def ddr_port_gbps(board: Board) -> float:
    """Sustained DDR bandwidth of one HP port: ``memory.ddr_gbps / memory.hp_ports`` (Ultra96:
    4.2 GB/s measured over 4 ports -> 1.05 GB/s per m_axi port)."""
    mem = board.memory
    return float(mem.get("ddr_gbps", 0.0)) / max(1, int(mem.get("hp_ports", 1)))


# --------------------------------------------------------------------------- programs
def skeleton(program: HwProgram) -> HwProgram:
    """``program`` without weight and bias arrays (shapes kept): what the cost model reads."""
    layers = tuple(
        layer.with_(weights=None if layer.weights is None
                    else WeightShape(tuple(int(x) for x in layer.weights.shape)), bias=None)
        for layer in program.layers)
    return HwProgram(program.name, layers)


def _ceil_to(x: int, m: int) -> int:
    return -(-x // m) * m


def pad_channels(program: HwProgram, pe: int, simd: int) -> tuple[HwProgram, list[str]]:
    """``program`` (a skeleton) with every conv's input channels padded to a multiple of
    ``simd`` and output channels to a multiple of ``pe`` (pool layers to ``simd``), and the list
    of paddings made (``"conv: in 3->8"``). The padding is exact: zero weights on padded inputs,
    padded outputs dropped by the host."""
    layers: list[HwLayer] = []
    notes: list[str] = []
    prev_out: tuple[int, int, int] | None = None
    for layer in program.layers:
        h, w, c = layer.in_shape
        if prev_out is not None:
            if layer.is_fc and prev_out[:2] != (1, 1):
                c = prev_out[0] * prev_out[1] * prev_out[2]
            else:
                c = prev_out[2]
        if layer.kind == "conv":
            cin = _ceil_to(c, simd)
            oc = layer.out_shape[2]
            oc2 = _ceil_to(oc, pe)
            new = layer
            if (cin, oc2) != (layer.in_shape[2], oc):
                kh, kw = layer.kernel
                new = layer.with_(in_shape=(h, w, cin), out_shape=(*layer.out_shape[:2], oc2),
                                  weights=WeightShape((oc2, kh, kw, cin)))
            if cin != layer.in_shape[2]:
                notes.append(f"{layer.name}: input channels {layer.in_shape[2]}->{cin}")
            if oc2 != oc:
                notes.append(f"{layer.name}: output channels {oc}->{oc2}")
        else:
            cin = _ceil_to(c, simd)
            new = layer
            if cin != layer.in_shape[2]:
                new = layer.with_(in_shape=(h, w, cin), out_shape=(*layer.out_shape[:2], cin))
                notes.append(f"{layer.name}: channels {layer.in_shape[2]}->{cin}")
        layers.append(new)
        prev_out = new.out_shape
    return HwProgram(program.name, tuple(layers)), notes


def is_accumulator_output(layer: HwLayer) -> bool:
    """Whether a conv layer outputs its raw accumulator (a final Gemm/Conv without Requant)."""
    return (layer.kind == "conv" and layer.out_type.frac == layer.acc_frac
            and layer.out_type.bits >= 32 and not layer.relu)


def activation_container(program: HwProgram) -> int:
    """The overlay's DDR activation container: the widest activation between layers (the
    program input and every layer output but a final raw accumulator)."""
    types = [program.in_type] + [layer.out_type for layer in program.layers[:-1]]
    last = program.layers[-1]
    if not is_accumulator_output(last):
        types.append(last.out_type)
    return container_bits(max(t.bits for t in types))


def output_container(program: HwProgram, act_bits: int) -> int:
    """The overlay's ``OUT_BITS`` for ``program``: the final layer's output container when it
    is wider than the activation container (a raw accumulator: i32 at 8 bits, i64 at 16 bits,
    written by the overlay's wide output path), else 0 (= ``act_bits``)."""
    c = container_bits(program.layers[-1].out_type.bits)
    return c if c > act_bits else 0


# --------------------------------------------------------------------------- overlay space
def overlay_buffers(program: HwProgram, pe: int, simd: int, tile_nf: int) -> dict[str, int]:
    """Capacities (words) of an overlay for ``program`` (padded to ``pe``/``simd``): the
    largest line buffer; a weight buffer holding ``tile_nf`` folds of the largest convolution
    (layers with a single output pixel, e.g. FC, stream their weights from DDR and need none);
    the fused pool line buffer of ``tile_nf`` folds. Rounded up to 512 (a BRAM36's depth at
    72 bits)."""
    lb = wbuf = plb = splb = 0
    for layer in program.layers:
        lw = layer_words(layer, simd, pe)
        lb, splb = max(lb, lw.lb), max(splb, lw.splb)
        folds = min(tile_nf, lw.nf)
        if layer.kind == "conv" and not streams_weights(layer):
            wbuf = max(wbuf, folds * lw.kkcf)
        plb = max(plb, lw.plb_fold * folds)
    return {"lb_words": _ceil_to(max(lb, 1), 512), "wbuf_words": _ceil_to(max(wbuf, 1), 512),
            "plb_words": _ceil_to(max(plb, 1), 512), "splb_words": _ceil_to(max(splb, 64), 64)}


def pool_sum_bits(program: HwProgram, act_bits: int) -> int:
    """Pool sum width: ``act_bits + 1 + ceil(log2(largest window))``."""
    win = 1
    for layer in program.layers:
        if layer.pool is not None:
            win = max(win, layer.pool.kernel[0] * layer.pool.kernel[1])
    return act_bits + 1 + math.ceil(math.log2(win))


def overlay_configs(program: HwProgram, board: Board, space: DseSpace,
                    device: Device) -> list[tuple[HlsConfig, HwProgram, tuple[str, ...]]]:
    """Every overlay configuration of ``space`` with the padded skeleton it runs and the
    padding notes (deterministic order: PE, SIMD, DMA width, tile, clock)."""
    act_bits = activation_container(program)
    wt = [layer.weight_type for layer in program.layers if layer.weight_type is not None]
    w_bits = container_bits(max(t.bits for t in wt)) if wt else 8
    w_frac = max((t.frac for t in wt), default=0)
    acc_bits = max(layer.acc_bits for layer in program.layers if layer.kind == "conv")
    acc_bits = min(64, _ceil_to(acc_bits, 8))
    out_bits = output_container(program, act_bits)
    clocks = board_clocks(board, space)
    hp = int(board.memory.get("hp_width_bits", 128))
    port = ddr_port_gbps(board)
    hp_ports = min(MAX_W_PORTS, int(board.memory.get("hp_ports", 1)))
    beat = RTL_OVERLAY_AXI_BITS // 8
    out = []
    for pe in space.pe:
        for simd in space.simd:
            if pe % simd or pe * simd > space.max_macs_per_cycle:
                continue
            padded, notes = pad_channels(program, pe, simd)
            # the RTL overlay streams FC weights over every HP port when its words are long
            wb = pe * simd * w_bits // 8
            w_ports = hp_ports if wb % beat == 0 and wb >= W_PORT_MIN_WORD_BYTES else 1
            for dma in space.dma_bits:
                if dma > hp:
                    continue
                for tile in space.tile_nf:
                    bufs = overlay_buffers(padded, pe, simd, tile)
                    for clk in clocks:
                        cfg = HlsConfig(style="overlay", act_bits=act_bits,
                                        act_frac=program.in_type.frac, w_bits=w_bits,
                                        w_frac=w_frac, pe=pe, simd=simd, dma_bits=dma,
                                        clock_mhz=float(clk), acc_bits=acc_bits,
                                        max_tile_nf=tile,
                                        sum_bits=pool_sum_bits(program, act_bits),
                                        ddr_port_gbps=port, out_bits=out_bits,
                                        int8_dsp_packing=dsp_packing_supported(board.part),
                                        w_ports=w_ports, **bufs)
                        out.append((cfg, padded, tuple(notes)))
    return out


# --------------------------------------------------------------------------- dataflow folding
def _options(layer: HwLayer) -> list[tuple[int, int]]:
    """(PE, SIMD) pairs of a layer ordered by parallelism, SIMD raised first (as FINN)."""
    c = layer.in_shape[2]
    if layer.kind == "conv":
        pairs = [(p, s) for p in divisors(layer.out_shape[2]) for s in divisors(c)]
    else:
        pairs = [(s, s) for s in divisors(c)]
    return sorted(pairs, key=lambda ps: (ps[0] * ps[1] if layer.kind == "conv" else ps[1],
                                         -ps[1], ps[0]))


def folding_trajectory(program: HwProgram, device: Device, base: HlsConfig,
                     max_steps: int = 400) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The folding trajectory ``[(pe per layer, simd per layer), ...]``: from all ones, each
    step raises the bottleneck layer (most cycles; the earliest on ties) to its next valid
    (PE, SIMD) with more parallelism, until the design exceeds the device, the bottleneck
    cannot be raised, or an AXI-stream adapter is the bottleneck."""
    n = len(program.layers)
    pe, simd = [1] * n, [1] * n
    out = [(tuple(pe), tuple(simd))]
    opts = [_options(layer) for layer in program.layers]
    h, w, c = program.in_shape
    for _ in range(max_steps):
        costs = [dataflow_layer_cost(layer, pe[i], simd[i], base)
                 for i, layer in enumerate(program.layers)]
        if (sum(lc.dsp for lc in costs) > device.dsp or sum(lc.bram36 for lc in costs)
                > device.bram36 or sum(lc.lut for lc in costs) > device.lut):
            break
        adapters = max(h * w * c // simd[0],
                       int(math.prod(program.out_shape)) // pe[-1])
        worst = max(range(n), key=lambda i: (costs[i].cycles, -i))
        if adapters >= costs[worst].cycles:
            break
        layer = program.layers[worst]
        cur = pe[worst] * simd[worst] if layer.kind == "conv" else simd[worst]
        moved = False
        for p, s in opts[worst]:
            par = p * s if layer.kind == "conv" else s
            if par <= cur:
                continue
            trial_pe, trial_simd = list(pe), list(simd)
            trial_pe[worst], trial_simd[worst] = p, s
            if folding_problems(program, tuple(trial_pe), tuple(trial_simd)):
                continue
            pe, simd = trial_pe, trial_simd
            moved = True
            break
        if not moved:
            break
        out.append((tuple(pe), tuple(simd)))
    return out


def dataflow_configs(program: HwProgram, board: Board, space: DseSpace,
                     device: Device) -> list[tuple[HlsConfig, HwProgram, tuple[str, ...]]]:
    """The dataflow candidates: every folding step at every clock."""
    acts = [program.in_type] + [layer.out_type for layer in program.layers]
    wt = [layer.weight_type for layer in program.layers if layer.weight_type is not None]
    base = HlsConfig(style="dataflow", act_bits=max(t.bits for t in acts),
                     act_frac=program.in_type.frac,
                     w_bits=max((t.bits for t in wt), default=8),
                     w_frac=max((t.frac for t in wt), default=0),
                     acc_bits=max(layer.acc_bits for layer in program.layers),
                     # PYNQ-Z2's DSP48E1 cannot pack two int8 MACs (cost and RTL agree)
                     int8_dsp_packing=dsp_packing_supported(board.part))
    out = []
    for pe, simd in folding_trajectory(program, device, base, space.max_fold_steps):
        for clk in board_clocks(board, space):
            cfg = replace(base, pe=pe, simd=simd, clock_mhz=float(clk))
            out.append((cfg, program, ()))
    return out
