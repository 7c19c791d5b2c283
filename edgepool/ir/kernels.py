# SPDX-License-Identifier: Apache-2.0
"""Reference kernels: the arithmetic of the golden model, in plain NumPy.

Every backend (NEON, HLS C-simulation, RTL simulation, the board) must reproduce these functions
bit for bit. They are written for clarity, not speed: each is a direct transcription of the
ONNX operator definition, with the integer rules below.

Integer rules
-------------
* Values are ``int64`` arrays holding ``real * 2**frac``.
* Rounding is **round half to even** everywhere (``torch.round``, ``np.round``, ONNX
  ``QuantizeLinear`` and QONNX ``Quant(rounding_mode=ROUND)`` all do this).
* Saturation clamps to the target type's range (:attr:`QType.min`, :attr:`QType.max`).
* Convolution and matrix products accumulate exactly (unbounded ``int64``), bias already at the
  accumulator's fraction bits.
* Average pooling divides the exact integer window sum by the element count, rounding half to even.

Layout is NCHW (ONNX); pads are ``(top, left, bottom, right)`` (ONNX ``pads`` order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .qtype import QType

Pads = tuple[int, int, int, int]


# --------------------------------------------------------------------------- rounding, saturation
def shift_round(x: np.ndarray, shift: int) -> np.ndarray:
    """``x * 2**-shift`` rounded half to even (exact left shift when ``shift <= 0``)."""
    x = np.asarray(x, dtype=np.int64)
    if shift <= 0:
        return x << (-shift)
    q = x >> shift                       # floor division by 2**shift
    r = x - (q << shift)                 # remainder in [0, 2**shift)
    half = np.int64(1) << (shift - 1)
    up = (r > half) | ((r == half) & ((q & 1) == 1))
    return q + up.astype(np.int64)


def div_round(num: np.ndarray, den: np.ndarray | int) -> np.ndarray:
    """``num / den`` (``den > 0``) rounded half to even, exactly, in integers."""
    num = np.asarray(num, dtype=np.int64)
    den = np.asarray(den, dtype=np.int64)
    q = np.floor_divide(num, den)
    r = num - q * den                    # in [0, den)
    twice = 2 * r
    up = (twice > den) | ((twice == den) & ((q & 1) == 1))
    return q + up.astype(np.int64)


def saturate(x: np.ndarray, t: QType) -> np.ndarray:
    """Clamp integers to the range of ``t``."""
    return np.clip(np.asarray(x, dtype=np.int64), t.min, t.max)


def quantize(x: np.ndarray, t: QType) -> np.ndarray:
    """Float → fixed point: ``clamp(round_half_even(x * 2**frac))`` (QONNX ``Quant`` semantics).

    The product is computed in float64 from float32 input, so it is exact for every float32 and
    every ``frac`` a QType can have.
    """
    scaled = np.asarray(x, dtype=np.float64) * (2.0 ** t.frac)
    if t.bits > 52:                      # the range bounds may not be exact float64 values
        return saturate(np.round(scaled).astype(np.int64), t)
    # the same result computed in place (clamping to integer bounds commutes with rounding):
    # no temporary int64 copies, which matters for VGG16's 138 M weights
    np.rint(scaled, out=scaled)          # round half to even, as np.round
    np.minimum(scaled, t.max, out=scaled)
    np.maximum(scaled, t.min, out=scaled)
    return scaled.astype(np.int64)


def dequantize(q: np.ndarray, t: QType) -> np.ndarray:
    """Fixed point → float32 (exact while the integer fits float32's 24-bit mantissa)."""
    return (np.asarray(q, dtype=np.float64) * t.scale).astype(np.float32)


def requantize(acc: np.ndarray, acc_frac: int, out: QType, relu: bool = False) -> np.ndarray:
    """Re-scale an accumulator with ``acc_frac`` fraction bits to ``out``: shift with
    round-half-even, optional ReLU, then saturate. (ReLU before or after rounding is the same.)"""
    y = shift_round(acc, acc_frac - out.frac)
    if relu:
        y = np.maximum(y, 0)
    return saturate(y, out)


def align(x: np.ndarray, frac: int, to_frac: int) -> np.ndarray:
    """Re-express integers with ``frac`` fraction bits at ``to_frac`` (rounding if bits drop)."""
    return shift_round(x, frac - to_frac)


# --------------------------------------------------------------------------- sliding windows
def pool_output_size(size: int, k: int, s: int, pad_begin: int, pad_end: int, dilation: int,
                     ceil_mode: bool) -> int:
    """ONNX / PyTorch output length of one spatial axis.

    With ``ceil_mode`` the last window may overhang the end padding, but a window that would start
    inside the end padding is dropped (the rule ONNX adopted from PyTorch).
    """
    eff = dilation * (k - 1) + 1
    span = size + pad_begin + pad_end - eff
    if span < 0:
        raise ValueError(f"window {eff} larger than padded input {size + pad_begin + pad_end}")
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + pad_begin:
        out -= 1
    return out


def _windows(x: np.ndarray, kernel: Sequence[int], strides: Sequence[int], pads: Pads,
             dilations: Sequence[int], ceil_mode: bool, fill) -> tuple[np.ndarray, np.ndarray]:
    """Gather every window: returns ``(win, valid, inside)`` style arrays.

    ``win`` has shape (N, C, OH, OW, KH, KW) with ``fill`` outside the padded input;
    ``where`` marks: 0 = real input element, 1 = explicit padding, 2 = ceil-mode overhang.
    """
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = strides
    dh, dw = dilations
    pt, pl, pb, pr = pads
    oh = pool_output_size(h, kh, sh, pt, pb, dh, ceil_mode)
    ow = pool_output_size(w, kw, sw, pl, pr, dw, ceil_mode)
    # coordinates of every tap in the unpadded input
    ys = (np.arange(oh) * sh - pt)[:, None] + np.arange(kh)[None, :] * dh      # (OH, KH)
    xs = (np.arange(ow) * sw - pl)[:, None] + np.arange(kw)[None, :] * dw      # (OW, KW)
    def where(coord: np.ndarray, size: int, pb_: int, pe_: int) -> np.ndarray:
        return np.where((coord >= 0) & (coord < size), 0,
                        np.where((coord >= -pb_) & (coord < size + pe_), 1, 2))
    wy = where(ys, h, pt, pb)
    wx = where(xs, w, pl, pr)
    yc = np.clip(ys, 0, h - 1)
    xc = np.clip(xs, 0, w - 1)
    win = x[:, :, yc[:, None, :, None], xc[None, :, None, :]]                  # N,C,OH,OW,KH,KW
    kind = np.maximum(wy[:, None, :, None], wx[None, :, None, :])              # OH,OW,KH,KW
    win = np.where(kind == 0, win, np.asarray(fill, dtype=win.dtype))
    return win, kind


def empty_windows(size_hw, kernel, strides, pads: Pads, dilations, ceil_mode: bool) -> bool:
    """True if some window covers only padding (possible with dilation): its max is -inf in
    float and has no value in fixed point, so integer max pooling rejects such configurations."""
    dummy = np.zeros((1, 1) + tuple(size_hw), dtype=np.float32)
    _, kind = _windows(dummy, kernel, strides, pads, dilations, ceil_mode, 0)
    return bool(np.any((kind != 0).all(axis=(-2, -1))))


def max_pool(x: np.ndarray, kernel, strides, pads: Pads = (0, 0, 0, 0), dilations=(1, 1),
             ceil_mode: bool = False) -> np.ndarray:
    """ONNX MaxPool (NCHW). Padding never wins: it acts as -infinity. Integer inputs must not
    have a window made of padding only (see :func:`empty_windows`)."""
    if np.issubdtype(x.dtype, np.floating):
        fill = -np.inf
    else:
        fill = np.iinfo(x.dtype).min
    win, kind = _windows(x, kernel, strides, pads, dilations, ceil_mode, fill)
    if fill != -np.inf and np.any((kind != 0).all(axis=(-2, -1))):
        raise ValueError("a pooling window covers only padding: undefined in fixed point")
    return win.max(axis=(-2, -1))


def avg_pool(x: np.ndarray, kernel, strides, pads: Pads = (0, 0, 0, 0), dilations=(1, 1),
             ceil_mode: bool = False, count_include_pad: bool = False) -> np.ndarray:
    """ONNX AveragePool (NCHW).

    The divisor counts real input elements, plus explicit padding when ``count_include_pad``;
    the ceil-mode overhang past the end padding is never counted (ONNX and PyTorch agree).
    Integers: exact window sum, divided with round-half-even (:func:`div_round`).
    """
    win, kind = _windows(x, kernel, strides, pads, dilations, ceil_mode, 0)
    counted = (kind == 0) | ((kind == 1) if count_include_pad else False)
    count = counted.sum(axis=(-2, -1))                                          # OH,OW
    if np.issubdtype(x.dtype, np.floating):
        total = win.astype(np.float64).sum(axis=(-2, -1))
        return (total / np.maximum(count, 1)).astype(x.dtype)
    total = win.astype(np.int64).sum(axis=(-2, -1))
    return div_round(total, np.maximum(count, 1))


def lp_pool(x: np.ndarray, kernel, strides, pads: Pads = (0, 0, 0, 0), dilations=(1, 1),
            ceil_mode: bool = False, p: float = 2.0) -> np.ndarray:
    """ONNX LpPool: ``(sum |x|**p) ** (1/p)`` per window, padding counted as zero. Float only."""
    win, _ = _windows(np.asarray(x, dtype=np.float64), kernel, strides, pads, dilations,
                      ceil_mode, 0.0)
    return (np.abs(win) ** p).sum(axis=(-2, -1)) ** (1.0 / p)


def global_pool(x: np.ndarray, kind: str) -> np.ndarray:
    """Global max / average pooling to (N, C, 1, 1); integer average rounds half to even."""
    n, c, h, w = x.shape
    if kind == "max":
        return x.max(axis=(2, 3), keepdims=True)
    if np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float64).mean(axis=(2, 3), keepdims=True).astype(x.dtype)
    return div_round(x.astype(np.int64).sum(axis=(2, 3), keepdims=True), h * w)


# --------------------------------------------------------------------------- conv, matmul
def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, strides=(1, 1),
           pads: Pads = (0, 0, 0, 0), dilations=(1, 1), groups: int = 1) -> np.ndarray:
    """ONNX Conv (NCHW input, (M, C/groups, KH, KW) weights). Integers accumulate exactly
    (bias at the accumulator's fraction bits); floats accumulate in float64.

    Integer speed: every group is one slice of a single batched matrix product (depthwise and
    grouped convolutions are not a Python loop over groups), computed in float64 — BLAS — when
    that is provably exact: every partial sum of ``Σ x·w`` is bounded by
    ``max|x| · max_m Σ|w_m|``, and below 2^53 every such integer is a float64, so any summation
    order gives the exact result. Otherwise (wider codes) the product is done in int64.
    """
    floating = np.issubdtype(x.dtype, np.floating)
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    if c != cg * groups or m % groups:
        raise ValueError(f"conv: {c} input channels, weight {w.shape}, groups {groups}")
    mg = m // groups
    if floating:
        acc_t = np.float64
    else:
        x, w = np.asarray(x, np.int64), np.asarray(w, np.int64)
        bound = (int(np.abs(x).max(initial=0))
                 * int(np.abs(w).reshape(m, -1).sum(axis=1).max(initial=0)))
        acc_t = np.float64 if bound < 2 ** 53 else np.int64
    win, _ = _windows(x.astype(acc_t), (kh, kw), strides, pads, dilations, False, 0)
    oh, ow = win.shape[2:4]
    if floating:        # float64: keep einsum's summation order (results unchanged)
        out = np.empty((n, m, oh, ow), dtype=acc_t)
        for g in range(groups):
            xs = win[:, g * cg:(g + 1) * cg]                                    # N,cg,OH,OW,KH,KW
            ws = w[g * mg:(g + 1) * mg].astype(acc_t)                           # mg,cg,KH,KW
            out[:, g * mg:(g + 1) * mg] = np.einsum("ncyxij,mcij->nmyx", xs, ws)
    else:
        cols = (win.reshape(n, groups, cg, oh, ow, kh, kw).transpose(1, 0, 3, 4, 2, 5, 6)
                .reshape(groups, n * oh * ow, cg * kh * kw))
        wg = w.astype(acc_t).reshape(groups, mg, cg * kh * kw).transpose(0, 2, 1)
        y = np.matmul(cols, wg)                                                 # G, N·OH·OW, mg
        if acc_t is np.float64:
            y = y.astype(np.int64)           # exact integers (see the docstring)
        out = y.reshape(groups, n, oh, ow, mg).transpose(1, 0, 4, 2, 3).reshape(n, m, oh, ow)
    if b is not None:
        out = out + np.asarray(b, dtype=out.dtype)[None, :, None, None]
    return out.astype(x.dtype) if floating else np.ascontiguousarray(out, dtype=np.int64)


def gemm(a: np.ndarray, b: np.ndarray, c: np.ndarray | None = None, trans_a: bool = False,
         trans_b: bool = False, alpha: float = 1.0, beta: float = 1.0) -> np.ndarray:
    """ONNX Gemm. Integer graphs use alpha = beta = 1 and accumulate exactly in int64."""
    floating = np.issubdtype(np.result_type(a, b), np.floating)
    acc_t = np.float64 if floating else np.int64
    a = np.asarray(a, acc_t)
    b = np.asarray(b, acc_t)
    if trans_a:
        a = a.T
    if trans_b:
        b = b.T
    y = a @ b
    if floating:
        y = alpha * y
        if c is not None:
            y = y + beta * np.asarray(c, acc_t)
        return y.astype(np.float32)
    if alpha != 1 or beta != 1:
        raise ValueError("integer gemm needs alpha = beta = 1")
    if c is not None:
        y = y + np.asarray(c, np.int64)
    return y


def same_pads(size: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
              dilations: Sequence[int], mode: str) -> Pads:
    """Explicit pads for ONNX ``auto_pad`` SAME_UPPER / SAME_LOWER (extra pad at end / begin)."""
    begins, ends = [], []
    for n, k, s, d in zip(size, kernel, strides, dilations):
        out = math.ceil(n / s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - n)
        small, big = total // 2, total - total // 2
        b, e = (small, big) if mode == "SAME_UPPER" else (big, small)
        begins.append(b)
        ends.append(e)
    return (begins[0], begins[1], ends[0], ends[1])


# --------------------------------------------------------------------------- thresholds
def threshold(x: np.ndarray, thresholds: np.ndarray, out: QType, bipolar: bool = False,
              direction: np.ndarray | None = None, channel_axis: int = 1) -> np.ndarray:
    """Multi-threshold activation (FINN's MultiThreshold), in integers.

    ``thresholds`` has shape (C, T) (one row per channel along ``channel_axis``) or (1, T) (per
    tensor); every row is non-decreasing. ``direction`` (C,) of ±1 (default +1) negates a
    channel's input first, which turns a non-increasing chain into a non-decreasing one. The
    output code is ``count = #{k : d·x >= t_k}`` offset into ``out``: ``out.min + count``, or
    ``2·count − 1`` for ``bipolar`` ({−1, +1}, T = 1).
    """
    x = np.asarray(x, dtype=np.int64)
    t = np.asarray(thresholds, dtype=np.int64)
    ax = channel_axis % x.ndim if x.ndim else 0
    c = t.shape[0]
    bshape = [1] * x.ndim
    if x.ndim:
        bshape[ax] = c
    if direction is not None:
        x = x * np.asarray(direction, np.int64).reshape(bshape)
    count = np.zeros(x.shape, dtype=np.int64)
    for k in range(t.shape[1]):
        count += (x >= t[:, k].reshape(bshape)).astype(np.int64)
    if bipolar:
        return 2 * count - 1
    return out.min + count


def quantize_scaled(x: np.ndarray, scale: np.ndarray, t: QType, bipolar: bool = False,
                    channel_axis: int = 1) -> np.ndarray:
    """Float → codes with an arbitrary (per-tensor or per-channel) float ``scale``: QONNX
    ``Quant``: ``clamp(round_half_even(x / scale))`` (``t.frac`` extra fraction bits), or QONNX
    ``BipolarQuant``: ``+1 if x >= 0 else −1``. Computed in float64."""
    x = np.asarray(x, dtype=np.float64)
    if bipolar:
        return np.where(x >= 0, 1, -1).astype(np.int64)
    s = np.asarray(scale, dtype=np.float64)
    if s.ndim == 1 and x.ndim > 1:
        shape = [1] * x.ndim
        shape[channel_axis % x.ndim] = s.size
        s = s.reshape(shape)
    return saturate(np.round(x / s * (2.0 ** t.frac)).astype(np.int64), t)
