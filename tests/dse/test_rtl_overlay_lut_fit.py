# SPDX-License-Identifier: Apache-2.0
"""The RTL overlay's LUT estimate (edgepool.dse.rtl_overlay_cost.yosys_lut_estimate) against
the committed Yosys runs it was fitted to (benchmarks/results/rtl_synth_overlay.json), and the
build's warning when the estimate exceeds the device."""

from __future__ import annotations

import json

import pytest

from edgepool.accel.engine import OverlayParams
from edgepool.dse.rtl_overlay_cost import yosys_lut_estimate
from edgepool.toolchain import REPO_ROOT

RUNS = REPO_ROOT / "benchmarks" / "results" / "rtl_synth_overlay.json"


def _runs():
    figs = json.loads(RUNS.read_text())["figures"]
    return [(k, v) for k, v in figs.items() if isinstance(v, dict) and "yosys" in v]


@pytest.mark.parametrize("name,run", _runs(), ids=[k for k, _ in _runs()])
def test_lut_estimate_reproduces_the_yosys_runs(name, run):
    p = OverlayParams(**run["params"])
    assert abs(yosys_lut_estimate(p) - run["yosys"]["LUT"]) <= 0.01 * run["yosys"]["LUT"]


def test_lut_estimate_grows_with_the_array():
    small = yosys_lut_estimate(OverlayParams(simd=4, pe=8))
    assert yosys_lut_estimate(OverlayParams(simd=4, pe=16)) > small
    assert yosys_lut_estimate(OverlayParams(simd=8, pe=8)) > small
