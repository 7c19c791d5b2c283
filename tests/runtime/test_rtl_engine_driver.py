# SPDX-License-Identifier: Apache-2.0
"""The default lenet-digits build (RTL engine) through the unmodified PYNQ driver, with the
simulated device's accelerator being the generated IP itself in Verilator
(``EDGEPOOL_PYNQ_SIM=rtl``): MMIO = AXI4-Lite transactions, DMA = the IP's AXI4-Stream ports.
Nothing in the build is patched: the register map, the ``.hwh`` and the block design are the
ones the build wrote for the RTL IP."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from edgepool.accel import regmap as R
from edgepool.runtime import pynq_driver as D

#: lenet-digits test images classified through driver + RTL IP: the whole test set (360),
#: ~20-40 s of simulation on a warm Verilator cache (plus ~45 s for a cold compile)
N_IMAGES = 360


def test_default_build_puts_the_rtl_ip_into_the_block_design(lenet_build):
    m = json.loads((lenet_build / "manifest.json").read_text())
    assert m["build_config"]["engine"] == "auto"
    assert m["engine"]["name"] == "rtl" and m["engine"]["style"] == "dataflow"
    assert m["engine"]["reason"].startswith("auto:")
    est = m["engine"]["estimate"]
    assert est["model"] == "edgepool.dse.cost.estimate_rtl" and est["interval_cycles"] > 0
    accel = m["regmap"]["ips"]["accel"]
    assert accel["vlnv"] == "edgepool:rtl:ep_accel:1.0" == m["rtl"]["accel"]["vlnv"]
    assert accel["control"] == "ap_ctrl_hs"
    assert m["regmap"]["accel"]["registers"] == m["rtl"]["accel"]["registers"]
    report = (lenet_build / "report.md").read_text()
    assert "## Engine" in report and "estimate_rtl" in report


@pytest.mark.rtlsim
def test_driver_classifies_lenet_digits_through_the_rtl_engine_build(lenet_build, testset,
                                                                      monkeypatch):
    x, y, gold = testset
    n = min(N_IMAGES, len(x))
    monkeypatch.setenv(D.SIM_ENV, "rtl")            # what a user sets; the driver is unmodified
    t0 = time.perf_counter()
    acc = D.EdgepoolAccelerator(lenet_build, dma="mmio")
    try:
        assert acc.sim == "rtl"
        got = acc.predict(x[:n])
        np.testing.assert_array_equal(got, gold[:n])
        stats = acc.device.stats()
        assert stats["frames"] == n
        per_image = stats["rtl_cycles"] / n
        m = json.loads((lenet_build / "manifest.json").read_text())
        est = m["engine"]["estimate"]["interval_cycles"]
        # simulated cycles of the IP (frames back to back from one MM2S transfer) against the
        # RTL cycle model: the model is the chain's steady state, the simulation adds the
        # first frame's fill and the stream width converters
        assert 0.9 * est <= per_image <= 1.15 * est, (per_image, est)
        acc_rate = float(np.mean(np.argmax(got, axis=1) == y[:n]))
        print(f"\ndriver + RTL engine IP: {n} lenet-digits images bit-exact, accuracy "
              f"{acc_rate:.3f}; simulated {per_image:.1f} cycles/image vs estimate_rtl {est} "
              f"cycles/frame (estimated); {time.perf_counter() - t0:.1f} s wall")
    finally:
        acc.close()
        acc.device.close()


@pytest.mark.rtlsim
@pytest.mark.parametrize("dma", ["mmio", "pynq"])
def test_driver_times_out_when_the_ip_never_raises_ap_done(lenet_build, testset, dma):
    """Auto-restart cleared behind the driver's back: the IP finishes the frame it was granted
    and then waits for a start that never comes; the driver's S2MM wait ends with a typed
    error naming the control state instead of spinning forever (through pynq's DMA driver
    too, whose own ``wait()`` has no timeout)."""
    x, _, gold = testset
    acc = D.EdgepoolAccelerator(lenet_build, sim="rtl", dma=dma, timeout_s=1.0)
    try:
        assert acc.dma_mode == dma
        session = acc.device.model.session
        ctrl = acc.regmap["accel"]["registers"]["CTRL"]["offset"]
        assert session.read(ctrl) & R.AP_AUTO_RESTART
        session.write(ctrl, 0)                      # no auto-restart: one frame, then idle
        with pytest.raises(D.AcceleratorError, match="never raised ap_done"):
            acc.predict(x[:3])
        assert acc.device.stats()["frames"] == 1
    finally:
        acc.close()
        acc.device.close()
