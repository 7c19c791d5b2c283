# SPDX-License-Identifier: Apache-2.0
"""Acceptance: the FULL datapath of the shipped lenet-digits models on the generated RTL
(Verilator), many test images back to back in ONE simulation under random back-pressure,
bit-exact against the golden interpreter (``edgepool.load(model).run(x)``); the build stage
``rtl``, the ``rtlsim`` backend through ``edgepool run`` / ``edgepool sim``; the RTL cycle model
of ``edgepool.dse.cost`` against measured cycles (within 5 %).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

import edgepool
from edgepool.accel.lower import lower_to_hw, unstream_output
from edgepool.accel.manifest import encode
from edgepool.codegen.rtl import LayerFolding, build_rtl, folding_from_config
from edgepool.dse import cost
from edgepool.ir import kernels as K
from edgepool.toolchain import REPO_ROOT

MODELS = REPO_ROOT / "models" / "lenet-digits"
LENET8 = MODELS / "lenet-digits.onnx"
LENET16 = MODELS / "lenet-digits-w16.onnx"


def _test_set(n: int) -> np.ndarray:
    with np.load(MODELS / "test.npz") as d:
        return np.asarray(d["x"][:n], np.float32)


def _full_datapath(model: Path, n: int, bp: float, gaps: float, seed: int) -> None:
    """Quantize on the host, run the whole program on the RTL, dequantize; compare with the
    interpreter exactly, and the frame / beat counts."""
    from edgepool.runtime.rtlsim import simulate_program

    graph = edgepool.load(model)
    program, host = lower_to_hw(graph)
    x = _test_set(n)
    assert len(x) == n
    codes = K.quantize(x, host.input_type)
    images = [np.moveaxis(c, 0, -1) for c in codes]
    res = simulate_program(program, images, backpressure=bp, input_gaps=gaps, seed=seed)
    print(res.table())
    out_elems = int(np.prod(program.out_shape))
    assert res.frames == list(range(n))
    assert res.beats_checked == n * out_elems          # no lost / duplicated beats
    assert len(res.outputs) == n
    y_rtl = np.stack([unstream_output(o, host) for o in res.outputs])
    y_rtl = K.dequantize(y_rtl, host.output_type) if host.dequantize else y_rtl
    y_ref = graph.run(x)
    assert y_rtl.shape == y_ref.shape
    np.testing.assert_array_equal(y_rtl, y_ref)
    # the classification follows (same logits): sanity on the data, not on the RTL
    with np.load(MODELS / "test.npz") as d:
        acc = float(np.mean(np.argmax(y_rtl, axis=1) == d["y"][:n]))
    print(f"{model.name}: {n} images bit-exact, accuracy {acc:.3f}")


@pytest.mark.rtlsim
def test_lenet_digits_8bit_60_images_backpressure():
    _full_datapath(LENET8, 60, bp=0.4, gaps=0.2, seed=21)


@pytest.mark.rtlsim
def test_lenet_digits_16bit_64bit_words_24_images():
    program, host = lower_to_hw(edgepool.load(LENET16))
    assert program.out_type.bits == 64                 # the final accumulator word
    _full_datapath(LENET16, 24, bp=0.3, gaps=0.3, seed=22)


def _build(tmp_path: Path, model: Path, monkeypatch) -> Path:
    import edgepool.build as B

    monkeypatch.setitem(B.STAGES, "fpga", ("import", "place", "lower", "rtl", "report"))
    out = tmp_path / "build"
    B.build(model, "ultra96", out, force=True)
    return out


@pytest.mark.rtlsim
def test_cli_run_rtlsim_and_sim_on_a_build(tmp_path, monkeypatch):
    from edgepool.cli import main

    out = _build(tmp_path, LENET8, monkeypatch)
    m = json.loads((out / "manifest.json").read_text())
    assert m["rtl"]["supported"] is True and m["rtl"]["top"] == "ep_top"
    for f in m["rtl"]["files"]:
        assert (out / f).is_file()
    x = _test_set(6)
    np.save(tmp_path / "x.npy", x)
    r = CliRunner().invoke(main, ["run", str(out), "--input", str(tmp_path / "x.npy"),
                                  "--output", str(tmp_path / "y.npy"), "--backend", "rtlsim"])
    assert r.exit_code == 0, r.output
    y = np.load(tmp_path / "y.npy")
    np.testing.assert_array_equal(y, edgepool.load(LENET8).run(x))

    r = CliRunner().invoke(main, ["sim", str(out), "--images", "5"])
    assert r.exit_code == 0, r.output
    print(r.output)
    assert "5 frames in one simulation, 50 output beats" in r.output
    assert "every beat equal to the golden model" in r.output
    assert "frames/s at 200 MHz" in r.output
    assert all(ly.split("/")[-2] in r.output for ly in m["rtl"]["folding"])


FOLDINGS = {
    "default": None,                                   # PE/SIMD 4/1, 4/4, 4/4, 2/4
    "wide": (LayerFolding(8, 1, 4), LayerFolding(8, 8, 8), LayerFolding(8, 8, 1),
             LayerFolding(2, 8, 1)),
}


@pytest.mark.rtlsim
@pytest.mark.parametrize("name", sorted(FOLDINGS))
def test_cost_model_matches_rtl_cycles(name):
    """Per layer (first input → last output inside the chain), steady-state cycles per frame
    and frame latency: edgepool.dse.cost.estimate_rtl within 5 % of Verilator, no stalls."""
    from edgepool.runtime.rtlsim import compare_with_cost_model, cost_table, simulate_program

    program, host = lower_to_hw(edgepool.load(LENET8))
    f = FOLDINGS[name]
    folding = None if f is None else {ly.name: fl for ly, fl in zip(program.layers, f,
                                                                     strict=True)}
    codes = K.quantize(_test_set(3), host.input_type)
    res = simulate_program(program, [np.moveaxis(c, 0, -1) for c in codes], folding=folding,
                           seed=3)
    cmp = compare_with_cost_model(program, res, folding)
    print(f"\nlenet-digits, folding {name}:\n{cost_table(cmp)}")
    assert [r["layer"] for r in cmp["layers"]] == [ly.name for ly in program.layers]
    for r in cmp["layers"]:
        assert r["measured"] >= max(r["window_beats"])
        assert abs(r["diff_pct"]) <= 5.0, r
        assert r["span_measured"][0] == r["window_beats"][0]    # the MAC array at II = 1
    t = cmp["total"]
    assert abs(t["interval_diff_pct"]) <= 5.0 and abs(t["latency_diff_pct"]) <= 5.0, t


# ------------------------------------------------------------------ build_rtl (no simulator)
def _stage_rtl(tmp_path: Path, program, hls_config=None) -> SimpleNamespace:
    """The rtl step as the build runs it: its manifest section (as JSON) and notes."""
    from edgepool.targets import get_target

    section, notes = build_rtl(program, tmp_path, hls_config,
                               get_target("ultra96").clocks["default_mhz"])
    return SimpleNamespace(manifest={"rtl": json.loads(json.dumps(encode(section)))},
                           notes=notes)


def test_stage_rtl_folding_from_hls_config_is_clamped_and_recorded(tmp_path):
    program, _ = lower_to_hw(edgepool.load(LENET8))
    cfg = cost.HlsConfig(pe=(16, 3, 8, 4), simd=(1, 16, 5, 64), clock_mhz=150.0)
    ctx = _stage_rtl(tmp_path, program, cfg)
    rtl = ctx.manifest["rtl"]
    assert rtl["supported"] is True and rtl["folding_source"] == "hls_config"
    names = [ly.name for ly in program.layers]
    got = [rtl["folding"][n] for n in names]
    # OC 16/32/64/10, C 1/16/128/64: PE 3 -> 2, SIMD 5 -> 4, PE 4 -> 2 on OC 10; a fused pool
    # takes the conv's PE lanes per beat (link_lanes = PE)
    assert got == [{"pe": 16, "simd": 1, "pool_simd": 16, "link_lanes": 16},
                   {"pe": 2, "simd": 16, "pool_simd": 2, "link_lanes": 2},
                   {"pe": 8, "simd": 4, "pool_simd": 1}, {"pe": 2, "simd": 64, "pool_simd": 1}]
    assert len(rtl["folding_notes"]) == 3 and rtl["clock_mhz"] == 150.0
    text = (tmp_path / "rtl" / "ep_top.sv").read_text()
    assert ".PE(16), .SIMD(1)" in text and ".PE(2), .SIMD(64)" in text
    for f in rtl["files"]:
        assert (tmp_path / f).is_file()
    assert any("rtl:" in n for n in ctx.notes)


def test_stage_rtl_records_unsupported_program_instead_of_failing(tmp_path):
    program, _ = lower_to_hw(edgepool.load(LENET8))
    bad = type(program)(program.name, (program.layers[0].with_(dilation=(2, 2)),)
                        + program.layers[1:])
    ctx = _stage_rtl(tmp_path, bad)
    rtl = ctx.manifest["rtl"]
    assert rtl["supported"] is False and rtl["files"] == []
    assert any("dilation" in p for p in rtl["reason"])
    assert any("not supported" in n for n in ctx.notes)
    assert not (tmp_path / "rtl" / "ep_top.sv").exists()


def test_folding_from_config_default_and_overlay():
    program, _ = lower_to_hw(edgepool.load(LENET16))
    folds, notes = folding_from_config(program, None)
    assert notes == [] and folds[program.layers[3].name] == LayerFolding(2, 4, 1)
    folds, notes = folding_from_config(program, cost.HlsConfig(style="overlay", pe=8, simd=8))
    assert folds[program.layers[0].name] == LayerFolding(8, 1, 8, 8)  # fused pool: link_lanes = PE
    assert folds[program.layers[3].name] == LayerFolding(5, 8, 1)
    assert len(notes) == 2                   # SIMD 8 on C = 1, PE 8 on OC = 10


def test_rtl_cost_model_window_beats_are_the_block_work():
    program, _ = lower_to_hw(edgepool.load(LENET8))
    est = cost.estimate_rtl(program)
    beats = [[b.window_beats for b in ly.blocks] for ly in est.layers]
    assert beats == [[2304, 1024], [4608, 512], [512], [80]]
    assert est.interval_cycles == 4608
    assert est.frames_per_second == pytest.approx(200e6 / 4608)
