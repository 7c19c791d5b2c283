# SPDX-License-Identifier: Apache-2.0
"""The RTL overlay's resource model (edgepool.dse.rtl_overlay_cost.rtl_overlay_resources) against
the committed Yosys runs (benchmarks/results/rtl_synth_overlay.json): LUT, FF, DSP and BRAM36
within 15 % of Yosys on every run, the designs the LUT / FF terms were fitted to (three 8-bit
overlays; the 16-bit one sets WIDE_SCALE) and the held-out 8-bit VGG16 overlay alike; and the
structural parts (DSP packing, block RAM shapes) on their own."""

from __future__ import annotations

import json

import pytest

from edgepool.accel.engine import OverlayParams
from edgepool.dse.rtl_overlay_cost import ADDRESS_DSP, _bram36, mac_dsp, rtl_overlay_resources
from edgepool.toolchain import REPO_ROOT

RUNS = REPO_ROOT / "benchmarks" / "results" / "rtl_synth_overlay.json"


def _runs():
    figs = json.loads(RUNS.read_text())["figures"]
    return [(k, v) for k, v in figs.items() if isinstance(v, dict) and "yosys" in v]


@pytest.mark.parametrize("name,run", _runs(), ids=[k for k, _ in _runs()])
def test_model_within_15_percent_of_yosys(name, run):
    p = OverlayParams(**run["params"])
    m = rtl_overlay_resources(p, dsp_pack=True)
    for key in ("LUT", "FF", "DSP", "BRAM36"):
        y = run["yosys"][key]
        assert abs(m[key] - y) <= 0.15 * y, (name, key, m[key], y)


def test_the_runs_include_a_held_out_design():
    roles = [run.get("role") for _, run in _runs()]
    assert roles.count("fit") == 3 and "held out" in roles


def test_dsp_packing_and_block_ram_shapes():
    p = OverlayParams(simd=8, pe=16)
    assert mac_dsp(p) == 64 and mac_dsp(p, dsp_pack=False) == 128
    # 16-bit operands do not pack
    assert mac_dsp(OverlayParams(simd=8, pe=16, act_bits=16, w_bits=16)) == 128
    assert rtl_overlay_resources(p)["DSP"] == 64 + ADDRESS_DSP
    # RAMB36 is 512 x 72 at its widest, RAMB18 512 x 36; <= 1024 bits stay in LUT RAM
    assert _bram36(512, 72) == 1 and _bram36(512, 36) == 0.5 and _bram36(256, 256) == 4
    assert _bram36(16, 64) == 0


def test_model_grows_with_the_array():
    small = rtl_overlay_resources(OverlayParams(simd=4, pe=8))
    assert rtl_overlay_resources(OverlayParams(simd=4, pe=16))["LUT"] > small["LUT"]
    assert rtl_overlay_resources(OverlayParams(simd=8, pe=8))["LUT"] > small["LUT"]


def test_build_warns_for_the_16_bit_vgg16_overlay_on_the_ultra96():
    from edgepool.build.engine import resource_warnings
    from edgepool.runtime.rtl_overlay_sim import vgg16_overlay_params
    from edgepool.targets import boards

    board = boards()["ultra96"]
    for bits, over in ((8, set()), (16, {"LUT", "BRAM36"})):
        est = {f"ip_{k.lower()}": v
               for k, v in rtl_overlay_resources(vgg16_overlay_params(bits)).items()}
        notes = resource_warnings(est, board.resources, board.part)
        assert {n.split("'s ")[1].split(" estimate")[0] for n in notes} == over, notes
        assert all("--engine hls" in n for n in notes)
