# SPDX-License-Identifier: Apache-2.0
"""Folding and engine configurations of the accelerator, defined once.

* the lane rules of the streaming engines (:func:`divisors`, :func:`lanes_ok`,
  :func:`beat_elems`) and the legality of a dataflow folding (:func:`folding_problems`), used by
  the HLS generator, the exploration and the tests alike;
* the default configurations used when no design-space exploration ran
  (:func:`default_config`, :func:`default_overlay_params`);
* the RTL engine's per-layer parallelism (:class:`LayerFolding`, :func:`rtl_default_folding`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..errors import ConfigError
from .axis import container_bits
from .descriptor import check_layer, layer_words, streams_weights
from .engine import HlsConfig, OverlayParams
from .program import HwLayer, HwProgram

#: largest PE / SIMD the default dataflow configuration uses per layer
DEFAULT_MAX_PAR = 8


def divisors(n: int) -> list[int]:
    """Divisors of ``n`` in increasing order."""
    return [d for d in range(1, n + 1) if n % d == 0]


def lanes_ok(a: int, b: int) -> bool:
    """Two stream lane counts can be re-packed into each other (one divides the other)."""
    return a % b == 0 or b % a == 0


def beat_elems(bits: int, beat_bytes: int) -> int:
    """Elements of a ``bits``-wide type per AXI-stream beat."""
    return 8 * beat_bytes // container_bits(bits)


def default_dataflow_folding(program: HwProgram, beat_bytes: int,
                             max_par: int = DEFAULT_MAX_PAR,
                             choose: Callable[[list[int]], int] = max) -> list[tuple[int, int]]:
    """(PE, SIMD) per layer: divisors of the channel counts up to ``max_par`` such that
    consecutive streams can be re-packed and the first / last words fit the AXI beat; ``choose``
    picks among the legal candidates (the largest by default; tests pass a random choice)."""
    out: list[tuple[int, int]] = []
    prev: int | None = None
    n = len(program.layers)
    for i, layer in enumerate(program.layers):
        c = layer.in_shape[2]
        cands = [d for d in divisors(c) if d <= max_par and (prev is None or lanes_ok(prev, d))]
        if i == 0:
            cands = [d for d in cands if lanes_ok(d, beat_elems(layer.in_type.bits, beat_bytes))]
        if not cands:
            raise ConfigError(f"layer {i}: no SIMD divides {c} channels and chains with the "
                              f"previous stream", "choose the folding explicitly (dse)")
        simd = choose(cands)
        if layer.kind == "conv":
            pc = [d for d in divisors(layer.out_shape[2]) if d <= max_par]
            if i == n - 1:
                pc = [d for d in pc if lanes_ok(d, beat_elems(layer.out_type.bits, beat_bytes))]
            pe = choose(pc)
        else:
            pe = simd
        prev = pe if layer.kind == "conv" else simd
        out.append((pe, simd))
    return out


def folding_problems(program: HwProgram, pe: tuple[int, ...], simd: tuple[int, ...],
                     beat_bytes: int | None = None) -> list[str]:
    """Every rule of the dataflow engines that the folding (PE, SIMD per layer) breaks:
    ``SIMD | IN_C``, ``PE | OC``, consecutive lane counts that cannot be re-packed into each other,
    no grouped conv and — with ``beat_bytes`` — the first / last words fitting the AXI beat.
    Empty when the folding is legal."""
    problems: list[str] = []
    if len(pe) != len(program.layers) or len(simd) != len(program.layers):
        return [f"{len(pe)} PE / {len(simd)} SIMD values for {len(program.layers)} layers"]
    prev: int | None = None
    for i, layer in enumerate(program.layers):
        c = layer.in_shape[2]
        if simd[i] < 1 or c % simd[i]:
            problems.append(f"layer {i} ({layer.name}): SIMD {simd[i]} does not divide {c} "
                            "input channels")
        if prev is not None and simd[i] >= 1 and not lanes_ok(prev, simd[i]):
            problems.append(f"layer {i} ({layer.name}): SIMD {simd[i]} cannot be re-packed from "
                            f"{prev} lanes")
        if layer.kind == "conv":
            if layer.groups != 1:
                problems.append(f"layer {i} ({layer.name}): grouped / depthwise convolution is "
                                "not supported")
            if pe[i] < 1 or layer.out_shape[2] % pe[i]:
                problems.append(f"layer {i} ({layer.name}): PE {pe[i]} does not divide "
                                f"{layer.out_shape[2]} output channels")
        prev = pe[i] if layer.kind == "conv" else simd[i]
        if (beat_bytes is not None and i == 0 and simd[i] >= 1
                and not lanes_ok(simd[i], beat_elems(layer.in_type.bits, beat_bytes))):
            problems.append(f"layer 0: SIMD {simd[i]} does not fit the {beat_bytes}-byte beat")
    if beat_bytes is not None:
        last = program.layers[-1]
        if prev and not lanes_ok(prev, beat_elems(last.out_type.bits, beat_bytes)):
            problems.append(f"last layer: {prev} lanes do not fit the {beat_bytes}-byte beat")
        for t in (program.in_type, program.out_type):
            if container_bits(t.bits) > 8 * beat_bytes:
                problems.append(f"{t} elements are wider than the {8 * beat_bytes}-bit stream")
    return problems


def check_folding(program: HwProgram, folding: list[tuple[int, int]], beat_bytes: int) -> None:
    """Raise :class:`ConfigError` listing every problem :func:`folding_problems` finds."""
    if len(folding) != len(program.layers):
        raise ConfigError(f"{len(folding)} (PE, SIMD) pairs for {len(program.layers)} layers")
    problems = folding_problems(program, tuple(p for p, _ in folding),
                                tuple(s for _, s in folding), beat_bytes)
    if problems:
        raise ConfigError("dataflow configuration does not fit the program: "
                          + "; ".join(problems), "change PE/SIMD (dse) or the stream width")


def config_folding(program: HwProgram, cfg: HlsConfig) -> list[tuple[int, int]]:
    """(PE, SIMD) per layer from ``cfg`` (validated)."""
    folding = [(cfg.pe_of(i), cfg.simd_of(i)) for i in range(len(program.layers))]
    check_folding(program, folding, cfg.dma_bits // 8)
    return folding


def _act_bits(program: HwProgram) -> int:
    return max(container_bits(t.bits) for layer in program.layers
               for t in (layer.in_type, layer.out_type))


def default_overlay_params(program: HwProgram) -> OverlayParams:
    """Overlay capacities that fit ``program`` (largest power-of-two SIMD <= 8 dividing every
    input channel count, PE the largest multiple of it <= 16 dividing every conv's output
    channels; buffers sized for the largest layer, the weight buffer capped at 8192 words)."""
    ins = [layer.in_shape[2] for layer in program.layers]
    outs = [layer.out_shape[2] for layer in program.layers if layer.kind == "conv"]
    simd = max(s for s in (1, 2, 4, 8) if all(c % s == 0 for c in ins))
    pe = max(q for q in range(simd, 17, simd) if all(o % q == 0 for o in outs))
    # activations between layers in ACT_BITS; a wider final output (raw accumulator) in OUT_BITS
    act = max(container_bits(t.bits) for t in
              [program.in_type] + [layer.out_type for layer in program.layers[:-1]])
    last = container_bits(program.layers[-1].out_type.bits)
    convs = [layer for layer in program.layers if layer.kind == "conv"]
    wb = max(layer.weight_type.bits for layer in convs)
    acc = max(layer.acc_bits for layer in convs)
    lb = plb = splb = 1
    kkcf_max = need = 1
    tile = 1
    pool_k = 1
    for layer in program.layers:
        lw = layer_words(layer, simd, pe)
        lb, splb = max(lb, lw.lb), max(splb, lw.splb)
        pool_k = max(pool_k, lw.pool_window)
        if layer.kind == "conv":
            tile = max(tile, lw.nf)
            if not streams_weights(layer):          # 1-pixel layers stream their weights
                kkcf_max, need = max(kkcf_max, lw.kkcf), max(need, lw.kkcf * lw.nf)
            plb = max(plb, lw.plb_fold * lw.nf)
    wbuf = max(kkcf_max, min(need, 8192))
    sum_bits = act + 1 + math.ceil(math.log2(pool_k))
    p = OverlayParams(simd=simd, pe=pe, act_bits=act, w_bits=wb, acc_bits=acc, lb_words=lb,
                      wbuf_words=wbuf, max_tile_nf=min(tile, 64), plb_words=plb,
                      splb_words=splb, sum_bits=min(sum_bits, 64),
                      out_bits=last if last > act else 0)
    for layer in program.layers:
        check_layer(layer, p)
    return p


def default_config(program: HwProgram, clock_mhz: float, style: str = "dataflow",
                   dma_bits: int = 64) -> HlsConfig:
    """The configuration used when the dse stage did not choose one: a valid dataflow folding
    (see :func:`default_dataflow_folding`), or overlay capacities that fit the program."""
    if style == "dataflow":
        folding = default_dataflow_folding(program, dma_bits // 8)
        return HlsConfig(style="dataflow", pe=tuple(p for p, _ in folding),
                         simd=tuple(s for _, s in folding), dma_bits=dma_bits,
                         clock_mhz=float(clock_mhz), act_bits=_act_bits(program))
    if style != "overlay":
        raise ConfigError(f"unknown accelerator style {style!r}", "dataflow or overlay")
    p = default_overlay_params(program)
    return HlsConfig(style="overlay", act_bits=p.act_bits, w_bits=p.w_bits, pe=p.pe,
                     simd=p.simd, dma_bits=dma_bits, clock_mhz=float(clock_mhz),
                     acc_bits=p.acc_bits, lb_words=p.lb_words, wbuf_words=p.wbuf_words,
                     max_tile_nf=p.max_tile_nf, plb_words=p.plb_words, splb_words=p.splb_words,
                     sum_bits=p.sum_bits, out_bits=p.out_bits)


def with_clock(cfg: HlsConfig, clock_mhz: float) -> HlsConfig:
    """``cfg`` with another clock."""
    return replace(cfg, clock_mhz=float(clock_mhz))


# --------------------------------------------------------------------------- RTL engine folding
@dataclass(frozen=True)
class LayerFolding:
    """Parallelism of one RTL layer: MAC array ``pe`` x ``simd``, pool unit ``pool_simd`` lanes,
    and ``link_lanes``: elements per beat from a conv's MAC array into its fused pool (divides
    ``pe`` and ``pool_simd``; 1 = one element per cycle, which caps the pool's input at one
    element per cycle: lenet-digits' conv0 makes 1 024 elements per frame)."""

    pe: int = 1
    simd: int = 1
    pool_simd: int = 1
    link_lanes: int = 1


def rtl_default_folding(layer: HwLayer) -> LayerFolding:
    """Largest ``pe`` ≤ 4 dividing OC, largest ``simd`` ≤ 4 dividing C, pool lanes 1."""
    c = layer.in_shape[2]
    oc = layer.out_shape[2] if layer.kind == "conv" else c
    pe = max(d for d in divisors(oc) if d <= 4)
    simd = max(d for d in divisors(c) if d <= 4)
    return LayerFolding(pe if layer.kind == "conv" else 1, simd if layer.kind == "conv" else 1, 1)


def accumulator_width(layer: HwLayer) -> int:
    """Exact accumulator width: bound of |bias| + sum |w| * max |x| over every output channel."""
    t = layer.in_type
    xmax = max(abs(t.min), abs(t.max))
    w = np.asarray(layer.weights, dtype=object).reshape(layer.weights.shape[0], -1)
    b = (np.zeros(w.shape[0], dtype=object) if layer.bias is None
         else np.asarray(layer.bias, dtype=object))
    bound = max(int(abs(bi)) + sum(int(abs(x)) for x in row) * xmax
                for row, bi in zip(w, b, strict=True))
    return max(2, int(bound).bit_length() + 1)
