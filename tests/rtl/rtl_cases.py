# SPDX-License-Identifier: Apache-2.0
"""Random single-layer programs (one block under test each) for the RTL benches."""

from __future__ import annotations

import numpy as np

from edgepool.accel.program import HwLayer, HwProgram, PoolSpec
from edgepool.ir.qtype import QType


def random_images(program: HwProgram, n: int, seed: int) -> list[np.ndarray]:
    """``n`` random inputs covering the whole range of the program's input type."""
    rng = np.random.default_rng(seed)
    t = program.in_type
    return [rng.integers(t.min, t.max, size=program.in_shape, endpoint=True) for _ in range(n)]


def conv_case(seed: int) -> tuple[HwProgram, dict]:
    """A random conv layer (kernel, stride incl. kernel < stride, padding, channels, word
    lengths, shift left or right, ReLU) and a random PE x SIMD folding."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 4))
    s = int(rng.integers(1, 3 if k > 1 else 3))
    p = int(rng.integers(0, k))
    c = int(rng.choice([1, 2, 3, 4]))
    oc = int(rng.choice([1, 2, 4, 6]))
    h, w = int(rng.integers(k + 1, 8)), int(rng.integers(k + 1, 8))
    ibits = int(rng.choice([4, 8, 12]))
    isigned = bool(rng.integers(0, 2))
    wbits = int(rng.choice([3, 8, 10]))
    obits = int(rng.choice([4, 8, 16]))
    relu = bool(rng.integers(0, 2))
    tin = QType(ibits, isigned, ibits - 2)
    wt = QType(wbits, True, wbits - 1, narrow=True)
    acc_frac = tin.frac + wt.frac
    shift = int(rng.integers(-2, 9))
    tout = QType(obits, not relu, acc_frac - shift)
    weights = rng.integers(wt.min, wt.max, size=(oc, k, k, c), endpoint=True)
    bias = rng.integers(-(1 << (ibits + wbits - 2)), 1 << (ibits + wbits - 2), size=oc)
    layer = HwLayer("conv_case", "conv", (h, w, c), (0, 0, oc), tin, tout, kernel=(k, k),
                    stride=(s, s), pads=(p, p, p, p), weights=weights, weight_type=wt,
                    bias=bias, acc_frac=acc_frac, relu=relu)
    oh, ow = layer.conv_out_hw
    layer = layer.with_(out_shape=(oh, ow, oc))
    pe = int(rng.choice([d for d in range(1, oc + 1) if oc % d == 0]))
    simd = int(rng.choice([d for d in range(1, c + 1) if c % d == 0]))
    from edgepool.codegen.rtl import LayerFolding
    return HwProgram(f"conv{seed}", (layer,)), {"conv_case": LayerFolding(pe, simd)}


def pool_case(seed: int) -> tuple[HwProgram, dict]:
    """A random max / avg pool layer (kernel, stride, padding < kernel, ceil_mode,
    count_include_pad, channels, word length, SIMD lanes)."""
    rng = np.random.default_rng(seed)
    kind = "max" if rng.integers(0, 2) else "avg"
    k = int(rng.integers(1, 4))
    s = int(rng.integers(1, 4))
    pads = tuple(int(rng.integers(0, k)) for _ in range(4))
    ceil = bool(rng.integers(0, 2))
    cip = bool(rng.integers(0, 2))
    c = int(rng.choice([1, 2, 3, 4]))
    h, w = int(rng.integers(k, 9)), int(rng.integers(k, 9))
    bits = int(rng.choice([3, 8, 16]))
    t = QType(bits, bool(rng.integers(0, 2)), 0)
    pool = PoolSpec(kind, (k, k), (s, s), pads, ceil, cip)
    oh, ow = pool.out_hw(h, w)
    layer = HwLayer("pool_case", "pool", (h, w, c), (oh, ow, c), t, t, pool=pool)
    lanes = int(rng.choice([d for d in range(1, c + 1) if c % d == 0]))
    from edgepool.codegen.rtl import LayerFolding
    return HwProgram(f"pool{seed}", (layer,)), {"pool_case": LayerFolding(1, 1, lanes)}


def describe(program: HwProgram, folding: dict) -> str:
    ly = program.layers[0]
    f = next(iter(folding.values()))
    if ly.kind == "conv":
        return (f"conv in{ly.in_shape} {ly.in_type} k{ly.kernel} s{ly.stride} p{ly.pads} "
                f"oc{ly.out_shape[2]} w{ly.weight_type} out {ly.out_type} relu={ly.relu} "
                f"shift={ly.acc_frac - ly.out_type.frac} PE={f.pe} SIMD={f.simd}")
    p = ly.pool
    return (f"{p.kind}pool in{ly.in_shape} {ly.in_type} k{p.kernel} s{p.stride} p{p.pads} "
            f"ceil={p.ceil_mode} cip={p.count_include_pad} SIMD={f.pool_simd}")
