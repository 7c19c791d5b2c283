# SPDX-License-Identifier: Apache-2.0
"""Exact channel padding for the overlay (the padding ``edgepool.dse.space.pad_channels`` costs):
every conv's input channels become a multiple of SIMD and its output channels a multiple of PE,
with zero weights and zero biases on the added channels. Added inputs therefore never change a
sum, added outputs are 0 (and pool to 0); the host zero-pads the input image's channels and
drops the added channels of the final output."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .program import HwLayer, HwProgram


def _ceil_to(x: int, m: int) -> int:
    return -(-x // m) * m


def pad_program(program: HwProgram, pe: int, simd: int) -> tuple[HwProgram, list[str]]:
    """``program`` with channels padded for an overlay of (``pe``, ``simd``), and notes."""
    layers: list[HwLayer] = []
    notes: list[str] = []
    prev: tuple[tuple[int, int, int], int] | None = None      # (padded out shape, real channels)
    for i, layer in enumerate(program.layers):
        h, w, c = layer.in_shape
        if prev is None:
            cin, real_in = _ceil_to(c, simd), c
            in_shape = (h, w, cin)
        elif layer.is_fc and prev[0][:2] != (1, 1):
            ph, pw, pc = prev[0]
            in_shape, cin, real_in = (1, 1, ph * pw * pc), ph * pw * pc, prev[1]
        else:
            in_shape, cin, real_in = prev[0], prev[0][2], prev[1]
        if cin % simd:
            raise ConfigError(f"layer {i}: {cin} input channels are not a multiple of SIMD "
                              f"{simd} after padding", "choose PE as a multiple of SIMD")
        if layer.kind != "conv":
            oh, ow, _ = layer.out_shape
            new = layer.with_(in_shape=in_shape, out_shape=(oh, ow, in_shape[2]))
            if in_shape[2] != c:
                notes.append(f"{layer.name}: channels {c}->{in_shape[2]}")
            layers.append(new)
            prev = (new.out_shape, real_in)
            continue
        wts = np.asarray(layer.weights, dtype=np.int64)                 # OC, KH, KW, IC
        oc = wts.shape[0]
        oc2 = _ceil_to(oc, pe)
        if layer.is_fc and prev is not None and prev[0][:2] != (1, 1):
            ph, pw, pc = prev[0]
            real = prev[1]
            m = wts.reshape(oc, ph, pw, real)
            m = np.pad(m, ((0, 0), (0, 0), (0, 0), (0, pc - real)))
            wts = m.reshape(oc, 1, 1, ph * pw * pc)
        else:
            wts = np.pad(wts, ((0, 0), (0, 0), (0, 0), (0, cin - wts.shape[3])))
        wts = np.pad(wts, ((0, oc2 - oc), (0, 0), (0, 0), (0, 0)))
        bias = layer.bias if layer.bias is not None else np.zeros(oc, np.int64)
        bias = np.pad(np.asarray(bias, np.int64), (0, oc2 - oc))
        oh, ow, _ = layer.out_shape
        new = layer.with_(in_shape=in_shape, out_shape=(oh, ow, oc2), weights=wts, bias=bias)
        if cin != c:
            notes.append(f"{layer.name}: input channels {c}->{cin}")
        if oc2 != oc:
            notes.append(f"{layer.name}: output channels {oc}->{oc2}")
        layers.append(new)
        prev = (new.out_shape, oc)
    return HwProgram(program.name, tuple(layers)), notes
