# SPDX-License-Identifier: Apache-2.0
"""Unit tests (no compiler) of the overlay descriptor packer and the analytic cost model."""

from __future__ import annotations

import numpy as np
import pytest

from edgepool.accel import descriptor as hd
from edgepool.accel.program import HwLayer, HwProgram, PoolSpec, random_program
from edgepool.dse import cost
from edgepool.errors import ConfigError
from edgepool.ir.qtype import QType


def test_descriptor_roundtrip_every_field() -> None:
    prog = random_program(3, in_shape=(10, 10, 2), spec="c4k3p1r-m3s2-c8k3-a2-f4")
    p = hd.OverlayParams(simd=2, pe=4, wbuf_words=18, max_tile_nf=1)
    conv = prog.layers[0]
    words = hd.pack_descriptor(conv, p, in_addr=5, out_addr=77, w_addr=9, b_addr=3)
    assert words.dtype == np.uint32 and words.shape == (hd.DESC_WORDS,)
    d = hd.unpack_descriptor(words)
    assert d["magic"] == hd.DESC_MAGIC and d["kind"] == hd.KIND_CONV
    assert (d["in_h"], d["in_w"], d["in_c"], d["out_c"]) == (10, 10, 2, 4)
    assert (d["conv_oh"], d["conv_ow"]) == conv.conv_out_hw == (10, 10)
    assert (d["kh"], d["kw"], d["sh"], d["sw"], d["pt"], d["pr"]) == (3, 3, 1, 1, 1, 1)
    assert d["shift"] == conv.acc_frac - conv.out_type.frac
    assert (d["out_lo"], d["out_hi"]) == (0, 255)          # ReLU output is u8
    assert d["flags"] == hd.F_RELU | hd.F_POOL              # u8 in, u8 out, max pool
    assert (d["pool_kh"], d["pool_sh"], d["pool_oh"], d["pool_ow"]) == (3, 2, 4, 4)
    assert d["tile_nf"] == 1                                # wbuf holds one fold (9 words)
    assert (d["in_addr"], d["out_addr"], d["w_addr"], d["b_addr"]) == (5, 77, 9, 3)
    assert d["out_bits"] == 8                               # u8 output: ACT_BITS container
    assert all(d[f"reserved{i}"] == 0 for i in (38, 39))
    # a signed output with a negative lower bound and a negative shift survive the round trip
    neg = conv.with_(relu=False, out_type=QType(8, True, conv.acc_frac + 2), pool=None)
    d2 = hd.unpack_descriptor(hd.pack_descriptor(neg, p, in_addr=0, out_addr=0))
    assert (d2["shift"], d2["out_lo"], d2["out_hi"]) == (-2, -128, 127)
    assert d2["flags"] == hd.F_OUT_SIGNED


def test_raw_accumulator_flag_and_weight_streaming() -> None:
    """pack_descriptor itself sets F_RAW_ACC for outputs wider than 32 bits (no caller patches
    descriptors) and F_W_STREAM for 1-pixel outputs (FC); out_bits is the output container."""
    prog = random_program(3, in_shape=(10, 10, 2), spec="c4k3p1r-m3s2-c8k3-a2-f4")
    fc = prog.layers[-1]
    assert fc.is_fc and fc.conv_out_hw == (1, 1)
    p = hd.OverlayParams(simd=2, pe=4, act_bits=8, out_bits=64, acc_bits=64, wbuf_words=1,
                         max_tile_nf=1)
    wide = fc.with_(out_type=QType(64, True, fc.acc_frac), relu=False)
    d = hd.unpack_descriptor(hd.pack_descriptor(wide, p, in_addr=0, out_addr=0))
    assert d["flags"] & hd.F_RAW_ACC and d["flags"] & hd.F_W_STREAM
    assert d["out_bits"] == 64 and (d["out_lo"], d["out_hi"]) == (0, 0)
    i32 = fc.with_(out_type=QType(32, True, fc.acc_frac), relu=False)
    d32 = hd.unpack_descriptor(hd.pack_descriptor(i32, p, in_addr=0, out_addr=0))
    assert not d32["flags"] & hd.F_RAW_ACC and d32["out_bits"] == 32
    assert (d32["out_lo"], d32["out_hi"]) == (-(1 << 31), (1 << 31) - 1)
    # streamed weights need no weight buffer: tile_nf is bounded by MAX_TILE_NF only
    assert d["tile_nf"] == 1
    with pytest.raises(ConfigError, match="wider than the 32-bit output container"):
        hd.pack_descriptor(wide, hd.OverlayParams(simd=2, pe=4, out_bits=32, acc_bits=64),
                           in_addr=0, out_addr=0)
    # a conv with several output pixels keeps the buffered weights
    d0 = hd.unpack_descriptor(hd.pack_descriptor(prog.layers[0], hd.OverlayParams(
        simd=2, pe=4, wbuf_words=18), in_addr=0, out_addr=0))
    assert not d0["flags"] & (hd.F_W_STREAM | hd.F_RAW_ACC)


@pytest.mark.parametrize("bits", [2, 4, 6, 8, 12, 16, 32])
def test_pack_lanes_matches_bitwise_reference(bits: int) -> None:
    rng = np.random.default_rng(bits)
    lanes = 8 if bits % 8 else 3
    v = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(5, lanes))
    ref = b"".join(sum((int(x) & ((1 << bits) - 1)) << (i * bits) for i, x in enumerate(row))
                   .to_bytes(lanes * bits // 8, "little") for row in v)
    assert hd.pack_lanes(v, bits) == ref


def test_plan_program_pads_and_sizes_the_wide_output() -> None:
    prog = random_program(3, in_shape=(10, 10, 3), spec="c4k3p1r-m3s2-c8k3-a2-f5")
    last = prog.layers[-1]
    prog = HwProgram(prog.name, prog.layers[:-1] + (last.with_(
        out_type=QType(32, True, last.acc_frac), relu=False),))
    p = hd.OverlayParams(simd=2, pe=4, act_bits=8, out_bits=32, acc_bits=32, wbuf_words=64)
    plan = hd.plan_program(prog, p)
    img = plan.image
    assert img.in_shape == (10, 10, 4) and img.out_shape == (1, 1, 8)
    assert (img.in_bits, img.out_bits) == (8, 32)
    assert any("input channels 3->4" in n for n in plan.notes)
    # the region holds the final output in 32-bit containers: 8 * 4 bytes = 16 words of 2 bytes
    assert img.act_words // 2 >= 8 * 32 // (2 * 8)
    arrays = img.arrays()
    assert arrays["out_bits"] == 32 and list(arrays["in_shape"]) == [10, 10, 4]


def test_pack_weights_lane_layout() -> None:
    rng = np.random.default_rng(0)
    oc, kh, kw, ic, pe, simd, bits = 4, 2, 3, 6, 2, 3, 4
    w = rng.integers(-7, 8, size=(oc, kh, kw, ic))
    layer = HwLayer("c", "conv", (5, 5, ic), (4, 3, oc), QType(8, False), QType(8, False),
                    kernel=(kh, kw), weights=w, weight_type=QType(bits, True, 3, True))
    p = hd.OverlayParams(simd=simd, pe=pe, w_bits=bits)
    data = hd.pack_weights(layer, p)
    word_bytes = pe * simd * bits // 8
    cf = ic // simd
    assert len(data) == (oc // pe) * kh * kw * cf * word_bytes
    for f in range(oc // pe):
        for ky in range(kh):
            for kx in range(kw):
                for c in range(cf):
                    idx = ((f * kh + ky) * kw + kx) * cf + c
                    word = int.from_bytes(data[idx * word_bytes:(idx + 1) * word_bytes], "little")
                    for q in range(pe):
                        for s in range(simd):
                            lane = (word >> ((q * simd + s) * bits)) & 0xF
                            lane -= 16 if lane >= 8 else 0
                            assert lane == w[f * pe + q, ky, kx, c * simd + s]


def test_plan_overlay_ping_pong_and_checks() -> None:
    prog = random_program(0)
    p = hd.OverlayParams(simd=1, pe=2)
    img = hd.plan_overlay(prog, p)
    descs = [hd.unpack_descriptor(img.desc[i * hd.DESC_WORDS:(i + 1) * hd.DESC_WORDS])
             for i in range(img.n_layers)]
    region = img.act_words // 2
    assert region == 12 * 12 * 1                            # largest map: the input
    assert [(d["in_addr"], d["out_addr"]) for d in descs] == [(0, region), (region, 0),
                                                              (0, region)]
    assert img.out_addr == region
    assert [d["w_addr"] for d in descs] == [0, 18, 18 + 144]
    assert img.weight_words == 18 + 144 + 40
    assert [d["b_addr"] for d in descs] == [0, 4, 12] and img.bias.size == 22
    with pytest.raises(ConfigError, match="multiple of PE"):
        hd.pack_descriptor(prog.layers[0], hd.OverlayParams(simd=1, pe=8), in_addr=0, out_addr=0)
    with pytest.raises(ConfigError, match="LB_WORDS"):
        hd.pack_descriptor(prog.layers[0], hd.OverlayParams(simd=1, pe=2, lb_words=10),
                           in_addr=0, out_addr=0)


def test_window_iterations_by_hand() -> None:
    # 4x4 map, 2x2 stride 2: load rows 0-1 (8 words); row 0: max(2 px * 4 taps, 2 rows * 4) = 8;
    # row 1: nothing left to prefetch, 8 steps.
    g = cost.WindowGeom(4, 4, 1, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 2, 2)
    assert cost.window_iterations(g, 4) == (8, 16)
    # kernel 1, stride 3 on 7 rows: rows 1-3 and 4-6 are prefetched (3 rows of 14 words) while
    # rows 0 and 1 compute; rows 1, 2, 4, 5 are read and dropped (the input must be consumed)
    g = cost.WindowGeom(7, 7, 2, 1, 1, 3, 3, 1, 1, 0, 0, 0, 0, 3, 3)
    assert cost.window_iterations(g, 2) == (14, 42 + 42 + 3 * 2)


def test_resource_rules() -> None:
    assert cost.bram36(512, 72) == 1 and cost.bram36(1024, 72) == 2
    assert cost.bram36(4096, 9) == 1 and cost.bram36(16, 32) == 0
    assert cost.dsp_per_mac(8, 8, True) == 0.5 and cost.dsp_per_mac(8, 8, False) == 1
    assert cost.dsp_per_mac(16, 16, True) == 1 and cost.dsp_per_mac(32, 16, True) == 2


def vgg16(weights: bool = False) -> HwProgram:
    """VGG16 (224x224, Q2.14 activations and weights) as a program skeleton, channels padded
    to 8 in the first layer; weights omitted (the cost model needs shapes only)."""
    t, wt = QType(16, True, 14), QType(16, True, 14)
    layers, shape = [], (224, 224, 8)
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    for i, v in enumerate(cfg):
        h, w, c = shape
        if v == "M":
            prev = layers.pop()
            pool = PoolSpec("max", (2, 2), (2, 2))
            shape = (h // 2, w // 2, c)
            layers.append(prev.with_(pool=pool, out_shape=shape))
            continue
        layers.append(HwLayer(f"conv{i}", "conv", shape, (h, w, v), t, t, kernel=(3, 3),
                              pads=(1, 1, 1, 1), weight_type=wt, acc_frac=28, acc_bits=48,
                              relu=True))
        shape = (h, w, v)
    n = int(np.prod(shape))
    for i, m in enumerate([4096, 4096, 1000]):
        layers.append(HwLayer(f"fc{i}", "conv", (1, 1, n), (1, 1, m), t, t, weight_type=wt,
                              acc_frac=28, acc_bits=48, relu=i < 2, is_fc=True))
        n = m
    return HwProgram("vgg16", tuple(layers))


def test_vgg16_fc_weight_streaming_estimate() -> None:
    """16-bit VGG16 at PE = SIMD = 16, tile 1: the FC layers stream their weights (no fold of
    FC1 on chip), so the weight buffer is one conv fold; the FC layers are bound by DDR."""
    from edgepool.dse.space import pad_channels

    prog, _ = pad_channels(vgg16(), 16, 16)
    cfg = cost.HlsConfig(style="overlay", act_bits=16, act_frac=14, w_bits=16, w_frac=14, pe=16,
                         simd=16, dma_bits=128, clock_mhz=250.0, acc_bits=48,
                         lb_words=4 * 224 * 64 // 16, wbuf_words=512, max_tile_nf=1,
                         plb_words=4 * 224, splb_words=64, sum_bits=24, ddr_port_gbps=1.05)
    pc = cost.estimate(prog, cfg)
    assert pc.fits("ultra96"), pc
    fc1 = pc.layers[-3]
    assert "ovl.wload" not in fc1.iterations and fc1.iterations["ovl.ws"] == 4096 * 25088 // 256
    # FC1 streams 25088 x 4096 16-bit weights at 1.05 GB/s: >= 195.7 ms at 250 MHz
    assert fc1.cycles >= int(25088 * 4096 * 2 / 1.05e9 * 250e6)
    assert pc.seconds < 1.0


def test_vgg16_overlay_fits_ultra96() -> None:
    prog = vgg16()
    cfg = cost.HlsConfig(style="overlay", act_bits=16, act_frac=14, w_bits=16, w_frac=14, pe=8,
                         simd=8, dma_bits=128, clock_mhz=200.0, acc_bits=48,
                         lb_words=4 * 224 * 64 // 8, wbuf_words=25088 // 8,
                         max_tile_nf=8, plb_words=4 * 224 * 8, splb_words=64, sum_bits=24)
    pc = cost.estimate(prog, cfg)
    assert pc.fits("ultra96"), pc
    assert pc.dsp == 8 * 8 + 6
    macs = sum(layer.conv_out_hw[0] * layer.conv_out_hw[1] * layer.out_shape[2]
               * layer.kernel[0] * layer.kernel[1] * layer.in_shape[2] for layer in prog.layers)
    # the schedule is compute bound for the convolutions: cycles >= MACs / (PE*SIMD)
    assert pc.cycles >= macs // (8 * 8)
    assert pc.cycles < 1.3 * macs // (8 * 8)
    assert 1.0 < pc.seconds < 1.5                  # 15.5 GMAC at 64 MAC/cycle, 200 MHz


def test_dataflow_estimate_of_random_program() -> None:
    prog = random_program(0)
    pc = cost.estimate(prog, cost.HlsConfig(pe=(2, 4, 2), simd=(1, 2, 4)))
    assert [lc.name for lc in pc.layers] == ["conv0", "conv2", "fc4"]
    conv0 = pc.layers[0]
    # conv0: 12x12x1 -> 10x10x4 (PE 2: 2 folds, 9 taps), fused 2x2 max pool (PE lanes)
    assert conv0.iterations["conv.step"] == 10 * 10 * 2 * 9 + 2 * 12 * 0 + 0
    assert pc.interval_cycles == max(lc.cycles for lc in pc.layers)
    assert pc.dsp == 1 + 2 * 2 + 4 * 1                       # int8 packing: SIMD*ceil(PE/2)
