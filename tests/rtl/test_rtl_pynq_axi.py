# SPDX-License-Identifier: Apache-2.0
"""The unmodified PYNQ driver against the RTL: ``EdgepoolAccelerator(sim="rtl")`` loads the
overlay on a simulated device whose accelerator window is the generated IP in Verilator
(AXI4-Lite transactions) and whose AXI DMA moves the buffers through the IP's AXI4-Stream
ports; lenet-digits test images classified bit-exact with the interpreter."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

import edgepool
import edgepool.build as B
from edgepool.accel import regmap as R
from edgepool.accel.manifest import family_of
from edgepool.runtime import pynq_driver as D
from edgepool.toolchain import REPO_ROOT

MODEL = REPO_ROOT / "models" / "lenet-digits" / "lenet-digits.onnx"
#: images classified through driver + RTL here (the whole test set, 360, runs through the
#: default RTL-engine build in tests/runtime/test_rtl_engine_driver.py)
N_IMAGES = 16


@pytest.fixture(scope="module")
def rtl_build(tmp_path_factory) -> Path:
    """A lenet-digits Ultra96 build with the engine and rtl stages (default folding, no
    exploration): the engine stage picks the RTL, the rtl stage records the register map of the
    block design with the RTL IP (the ap_ctrl_hs block)."""
    out = tmp_path_factory.mktemp("pynq-rtl") / "build"
    saved = B.STAGES["fpga"]
    B.STAGES["fpga"] = ("import", "place", "lower", "engine", "rtl", "report")
    try:
        B.build(MODEL, "ultra96", out, force=True)
    finally:
        B.STAGES["fpga"] = saved
    m = json.loads((out / "manifest.json").read_text())
    assert m["rtl"]["supported"] and m["engine"]["name"] == "rtl"
    assert m["regmap"] == R.default_regmap("dataflow", family_of(m), engine="rtl") | {
        "accel": {"registers": m["rtl"]["accel"]["registers"]}}
    return out


@pytest.mark.rtlsim
@pytest.mark.parametrize("dma", ["mmio", "pynq"])
def test_driver_classifies_lenet_digits_through_the_rtl_ip(rtl_build, dma):
    with np.load(MODEL.parent / "test.npz") as d:
        n = N_IMAGES
        x, y = np.asarray(d["x"][:n], np.float32), d["y"][:n]
    t0 = time.perf_counter()
    acc = D.EdgepoolAccelerator(rtl_build, sim="rtl", dma=dma)
    try:
        assert acc.dma_mode == dma
        dev = acc.device
        ctrl = acc.regmap["accel"]["registers"]["CTRL"]["offset"]
        st = dev.model.session.read(ctrl)           # the driver started it with auto-restart
        assert st & R.AP_AUTO_RESTART and st & R.AP_START
        got = acc.predict(x)
        want = edgepool.load(MODEL).run(x)
        np.testing.assert_array_equal(got, want)
        stats = dev.stats()
        assert stats["frames"] == n                 # frames that left the IP's m_axis
        cycles = stats["rtl_cycles"]
        acc_rate = float(np.mean(np.argmax(got, axis=1) == y))
        print(f"\ndriver ({dma} DMA) + RTL IP: {n} lenet-digits images bit-exact, accuracy "
              f"{acc_rate:.3f}, {cycles} simulated cycles ({cycles / n:.0f} per image incl. "
              f"host polling), {time.perf_counter() - t0:.1f} s wall")
    finally:
        acc.close()
        acc.device.close()


@pytest.mark.rtlsim
def test_rtl_model_needs_the_ap_ctrl_hs_register_map(tmp_path, rtl_build):
    import shutil

    from edgepool.errors import ManifestError

    b = tmp_path / "b"
    shutil.copytree(rtl_build, b)
    m = json.loads((b / "manifest.json").read_text())
    m["regmap"] = R.default_regmap("dataflow", family_of(m))  # ap_ctrl_none: no control block
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ManifestError, match="ap_ctrl_hs"):
        D.EdgepoolAccelerator(b, sim="rtl")
