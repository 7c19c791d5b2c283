# SPDX-License-Identifier: Apache-2.0
"""C simulation of the HLS engines (conv, pool, fused conv+pool, global pool) over many random
configurations, batched into one translation unit per test, against edgepool.ir.kernels; the
engines' iteration counters are checked against the analytic cost model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hls_csim import compile_tb, conv_cfg, divisors, load, pool_cfg, read_counts, run_tb, save

from edgepool.accel.program import HwLayer, PoolSpec
from edgepool.dse import cost
from edgepool.ir import kernels as K
from edgepool.ir.qtype import QType, accumulator_bits

pytestmark = pytest.mark.csim

ACT_TYPES = [QType(8, False), QType(8, True), QType(4, True), QType(4, False), QType(16, True, 14)]
W_TYPES = [QType(8, True, 7, narrow=True), QType(4, True, 3, narrow=True),
           QType(16, True, 14)]


def _rand(rng: np.random.Generator, t: QType, shape) -> np.ndarray:
    return rng.integers(t.min, t.max, size=shape, endpoint=True)


def _conv_case(rng: np.random.Generator, i: int) -> dict:
    """A random convolution (any kernel 1-5 per axis, stride 1..k+1, dilation, pads)."""
    while True:
        kh, kw = (int(x) for x in rng.integers(1, 6, 2))
        sh, sw = int(rng.integers(1, kh + 2)), int(rng.integers(1, kw + 2))
        dh, dw = (int(x) for x in rng.integers(1, 3, 2)) if rng.random() < 0.3 else (1, 1)
        pads = tuple(int(x) for x in rng.integers(0, 3, 4)) if rng.random() < 0.7 else (0,) * 4
        h, w = (int(x) for x in rng.integers(1, 10, 2))
        if (h + pads[0] + pads[2] >= dh * (kh - 1) + 1
                and w + pads[1] + pads[3] >= dw * (kw - 1) + 1):
            break
    ic = int(rng.choice([1, 2, 3, 4, 6, 8]))
    oc = int(rng.choice([1, 2, 3, 4, 6, 8]))
    in_t = ACT_TYPES[int(rng.integers(len(ACT_TYPES)))]
    w_t = W_TYPES[int(rng.integers(len(W_TYPES)))]
    out_t = QType(int(rng.choice([4, 8, 16])), bool(rng.random() < 0.6))
    terms = kh * kw * ic
    acc_bits = accumulator_bits(in_t, w_t, terms) + 2
    shift = int(rng.integers(-2, acc_bits - out_t.bits + 2))
    return dict(name=f"cv{i}", in_hwc=(h, w, ic), oc=oc, kernel=(kh, kw), stride=(sh, sw),
                pads=pads, dilation=(dh, dw), simd=int(rng.choice(divisors(ic))),
                pe=int(rng.choice(divisors(oc))), in_t=in_t, w_t=w_t, out_t=out_t,
                acc_bits=acc_bits, shift=shift, relu=bool(rng.random() < 0.5))


def _pool_spec(rng: np.random.Generator, h: int, w: int) -> PoolSpec:
    """A random pool window that fits (h, w): pads <= k/2 (PyTorch), optional ceil_mode."""
    while True:
        kh, kw = (int(x) for x in rng.integers(1, 6, 2))
        sh, sw = int(rng.integers(1, kh + 2)), int(rng.integers(1, kw + 2))
        pads = (int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1)),
                int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1)))
        if rng.random() < 0.4:
            pads = (0, 0, 0, 0)
        if h + pads[0] + pads[2] >= kh and w + pads[1] + pads[3] >= kw:
            kind = "avg" if rng.random() < 0.5 else "max"
            return PoolSpec(kind, (kh, kw), (sh, sw), pads, bool(rng.random() < 0.5),
                            bool(rng.random() < 0.5))


def _layer(case: dict, pool: PoolSpec | None = None) -> HwLayer:
    h, w, c = case["in_hwc"]
    kh, kw = case["kernel"]
    layer = HwLayer(case["name"], "conv", (h, w, c), (0, 0, case["oc"]), case["in_t"],
                    case["out_t"], kernel=case["kernel"], stride=case["stride"], pads=case["pads"],
                    dilation=case["dilation"], weights=np.zeros((case["oc"], kh, kw, c), np.int64),
                    weight_type=case["w_t"], relu=case["relu"], pool=pool)
    oh, ow = layer.conv_out_hw
    if pool is not None:
        oh, ow = pool.out_hw(oh, ow)
    return layer.with_(out_shape=(oh, ow, case["oc"]))


def _conv_reference(case: dict, x: np.ndarray, wts: np.ndarray, b: np.ndarray) -> np.ndarray:
    xn = np.moveaxis(x, -1, 0)[None]
    acc = K.conv2d(xn, np.moveaxis(wts, -1, 1), b, case["stride"], case["pads"], case["dilation"])
    out_t = case["out_t"].with_frac(-case["shift"])
    return K.requantize(acc, 0, out_t, case["relu"])          # NCHW


def _write_conv_inputs(rng, case: dict, d: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h, w, c = case["in_hwc"]
    kh, kw = case["kernel"]
    x = _rand(rng, case["in_t"], (h, w, c))
    wts = _rand(rng, case["w_t"], (case["oc"], kh, kw, c))
    b = rng.integers(-(1 << (case["acc_bits"] - 3)), 1 << (case["acc_bits"] - 3), case["oc"])
    save(d / f"{case['name']}.in", x)
    save(d / f"{case['name']}.w", wts)
    save(d / f"{case['name']}.b", b)
    return x, wts, b


def _cfg_src(case: dict, out_hw) -> str:
    kw = {k: v for k, v in case.items() if k != "name"}
    return conv_cfg(case["name"], out_hw=out_hw, **kw)


def _main(body: list[str], decls: list[str]) -> str:
    return ('#include "tb_util.h"\n#include <string>\nusing namespace edgepool;\n'
            + "".join(decls)
            + "int main(int, char** argv) {\n    const std::string d = argv[1];\n"
            + "".join(body) + "    return 0;\n}\n")


def test_conv_engine_random_configs(tmp_path: Path) -> None:
    rng = np.random.default_rng(1234)
    cases = [_conv_case(rng, i) for i in range(48)]
    decls, body = [], []
    for c in cases:
        layer = _layer(c)
        decls.append(_cfg_src(c, layer.conv_out_hw))
        body.append(f'    tb::run_conv<{c["name"]}>(d + "/{c["name"]}");\n')
    binary = compile_tb(_main(body, decls), "conv")
    data = {c["name"]: _write_conv_inputs(rng, c, tmp_path) for c in cases}
    run_tb(binary, tmp_path)
    for c in cases:
        x, wts, b = data[c["name"]]
        ref = np.moveaxis(_conv_reference(c, x, wts, b)[0], 0, -1).ravel()
        got = load(tmp_path / f"{c['name']}.out")
        assert np.array_equal(got, ref), f"{c['name']}: {c}"
        counts = read_counts(tmp_path / f"{c['name']}.cnt")
        assert counts == {k: v for k, v in cost.conv_iterations(_layer(c), c["pe"], c["simd"])
                          .items() if v}, c["name"]


def test_pool_engine_random_configs(tmp_path: Path) -> None:
    rng = np.random.default_rng(99)
    decls, body, cases = [], [], []
    for i in range(48):
        h, w = (int(v) for v in rng.integers(1, 11, 2))
        c = int(rng.choice([1, 2, 3, 4, 6, 8]))
        t = ACT_TYPES[int(rng.integers(len(ACT_TYPES)))]
        p = _pool_spec(rng, h, w)
        lanes = int(rng.choice(divisors(c)))
        name = f"pl{i}"
        decls.append(pool_cfg(name, in_hwc=(h, w, c), lanes=lanes, t=t, kind=p.kind,
                              count_pad=p.count_include_pad, kernel=p.kernel, stride=p.stride,
                              pads=p.pads, out_hw=p.out_hw(h, w)))
        body.append(f'    tb::run_pool<{name}>(d + "/{name}");\n')
        x = _rand(rng, t, (h, w, c))
        save(tmp_path / f"{name}.in", x)
        cases.append((name, x, p, lanes, t))
    binary = compile_tb(_main(body, decls), "pool")
    run_tb(binary, tmp_path)
    for name, x, p, lanes, t in cases:
        ref = np.moveaxis(p.apply_nchw(np.moveaxis(x, -1, 0)[None])[0], 0, -1).ravel()
        got = load(tmp_path / f"{name}.out")
        assert np.array_equal(got, ref), f"{name}: {p} {x.shape} {t}"
        layer = HwLayer(name, "pool", x.shape, (*p.out_hw(*x.shape[:2]), x.shape[2]), t, t,
                        pool=p)
        counts = read_counts(tmp_path / f"{name}.cnt")
        assert counts == {k: v for k, v in cost.pool_iterations(layer, lanes).items() if v}


def test_fused_conv_pool_and_global_pool(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    decls, body, fused, glob = [], [], [], []
    for i in range(24):
        c = _conv_case(rng, i)
        c["name"] = f"fc{i}"
        oh, ow = _layer(c).conv_out_hw
        p = _pool_spec(rng, oh, ow)
        decls.append(_cfg_src(c, (oh, ow)))
        decls.append(pool_cfg(f"fp{i}", in_hwc=(oh, ow, c["oc"]), lanes=c["pe"], t=c["out_t"],
                              kind=p.kind, count_pad=p.count_include_pad, kernel=p.kernel,
                              stride=p.stride, pads=p.pads, out_hw=p.out_hw(oh, ow)))
        body.append(f'    tb::run_conv_pool<fc{i}, fp{i}>(d + "/fc{i}");\n')
        fused.append((c, p, _write_conv_inputs(rng, c, tmp_path)))
    for i in range(12):
        h, w = (int(v) for v in rng.integers(1, 12, 2))
        ch = int(rng.choice([1, 2, 4, 6, 8]))
        lanes = int(rng.choice(divisors(ch)))
        t = ACT_TYPES[int(rng.integers(len(ACT_TYPES)))]
        avg = bool(i % 2)
        sum_bits = t.bits + 2 + (h * w).bit_length()
        decls.append(f"""struct gp{i} {{
    static const int IN_H = {h}, IN_W = {w}, C = {ch}, LANES = {lanes}, EW = {t.bits};
    static const bool SIGNED = {str(t.signed).lower()};
    static const PoolKind KIND = {"POOL_AVG" if avg else "POOL_MAX"};
    static const int SUM_BITS = {sum_bits};
}};
""")
        body.append(f'    tb::run_global_pool<gp{i}>(d + "/gp{i}");\n')
        x = _rand(rng, t, (h, w, ch))
        save(tmp_path / f"gp{i}.in", x)
        glob.append((f"gp{i}", x, avg, lanes))
    binary = compile_tb(_main(body, decls), "fused")
    run_tb(binary, tmp_path)
    for c, p, (x, wts, b) in fused:
        y = p.apply_nchw(_conv_reference(c, x, wts, b))
        ref = np.moveaxis(y[0], 0, -1).ravel()
        assert np.array_equal(load(tmp_path / f"{c['name']}.out"), ref), f"{c} {p}"
        counts = read_counts(tmp_path / f"{c['name']}.cnt")
        expect = cost.conv_iterations(_layer(c, p), c["pe"], c["simd"])
        assert counts == {k: v for k, v in expect.items() if v}, c["name"]
    for name, x, avg, lanes in glob:
        ref = K.global_pool(np.moveaxis(x, -1, 0)[None], "avg" if avg else "max").ravel()
        assert np.array_equal(load(tmp_path / f"{name}.out"), ref), name
        counts = read_counts(tmp_path / f"{name}.cnt")
        assert counts == cost.global_pool_iterations(*x.shape, lanes)
