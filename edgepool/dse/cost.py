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

from ..codegen.program import HwLayer, HwProgram, PoolSpec

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
