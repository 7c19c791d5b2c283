# SPDX-License-Identifier: Apache-2.0
"""The accelerator's stream format, shared by the RTL and C simulators and the PYNQ driver.

A feature map of shape (H, W, C) (channels last, batch 1) is streamed in row-major order: H, then
W, then C innermost. Each element is a two's-complement (or unsigned) integer stored in a
little-endian *container* of 8, 16, 32 (or 64) bits (the smallest that holds its bit width). The
byte
string of a frame is cut into beats of ``beat_bytes``; the last beat is zero-padded and carries
TLAST. Weights use the same packing.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError


def container_bits(bits: int) -> int:
    """8, 16, 32 or 64: the storage width of a ``bits``-wide element on the stream (64 only for
    a final accumulator wider than 32 bits, e.g. 16-bit Q2.14 models' logits)."""
    for c in (8, 16, 32, 64):
        if bits <= c:
            return c
    raise InputError(f"element width {bits} exceeds 64 bits")


def _dtype(bits: int, signed: bool) -> np.dtype:
    c = container_bits(bits)
    return np.dtype(f"<{'i' if signed else 'u'}{c // 8}")


def pack(values: np.ndarray, bits: int, signed: bool = True,
         beat_bytes: int | None = None) -> bytes:
    """Integers → stream bytes (C order of ``values``). Raises :class:`InputError` for a value
    outside the ``bits``-wide range. With ``beat_bytes`` the result is zero-padded to whole
    beats."""
    v = np.asarray(values).astype(np.int64).ravel()
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if v.size and (v.min() < lo or v.max() > hi):
        raise InputError(f"values out of range for a {'signed' if signed else 'unsigned'} "
                         f"{bits}-bit stream: [{v.min()}, {v.max()}] not within [{lo}, {hi}]")
    data = v.astype(_dtype(bits, signed)).tobytes()
    if beat_bytes:
        data += bytes(-len(data) % beat_bytes)
    return data


def unpack(data: bytes, count: int, bits: int, signed: bool = True) -> np.ndarray:
    """Stream bytes → ``count`` integers as int64 (sign-extended from ``bits``). Padding after the
    ``count``-th element is ignored; too few bytes raise :class:`InputError`."""
    dt = _dtype(bits, signed)
    need = count * dt.itemsize
    if len(data) < need:
        raise InputError(f"stream too short: {len(data)} bytes, need {need} for {count} elements")
    raw = np.frombuffer(bytes(data[:need]), dtype=dt).astype(np.int64)
    c = container_bits(bits)
    if bits < c:  # sign-extend / mask from the element width, not the container width
        raw &= (1 << bits) - 1
        if signed:
            raw = np.where(raw >= (1 << (bits - 1)), raw - (1 << bits), raw)
    return raw


def beats(data: bytes, beat_bytes: int) -> list[int]:
    """Stream bytes → list of beat words (little-endian integers), zero-padded."""
    data = data + bytes(-len(data) % beat_bytes)
    return [int.from_bytes(data[i:i + beat_bytes], "little")
            for i in range(0, len(data), beat_bytes)]


def from_beats(words: list[int], beat_bytes: int) -> bytes:
    """Inverse of :func:`beats`."""
    return b"".join(int(w).to_bytes(beat_bytes, "little") for w in words)


def nchw_to_stream(x: np.ndarray) -> np.ndarray:
    """(1, C, H, W) or (C, H, W) → (H, W, C): the order elements travel on the stream."""
    x = np.asarray(x)
    if x.ndim == 4:
        if x.shape[0] != 1:
            raise InputError(f"the accelerator streams one image at a time, got batch {x.shape[0]}")
        x = x[0]
    if x.ndim == 1:
        return x
    return np.ascontiguousarray(np.moveaxis(x, 0, -1))


def stream_to_nchw(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`nchw_to_stream` for an NCHW ``shape`` (batch 1)."""
    if len(shape) == 4:
        _, c, h, w = shape
        return np.moveaxis(np.asarray(x).reshape(h, w, c), -1, 0)[None]
    return np.asarray(x).reshape(shape)
