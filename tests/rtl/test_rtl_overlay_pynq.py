# SPDX-License-Identifier: Apache-2.0
"""The unmodified PYNQ driver on the simulated device whose accelerator is the RTL overlay IP
(``EDGEPOOL_PYNQ_SIM=rtl`` on an overlay build: the driver's register words become AXI4-Lite
writes into the IP, its DDR buffers the IP's memory behind m_axi_gmem): lenet-mnist's
default ultra96 build (the overlay on the RTL engine, the IP its bitstream holds),
bit-exact with the golden interpreter on test images."""

from __future__ import annotations

import json

import numpy as np
import pytest

import edgepool
from edgepool.runtime import pynq_driver as D
from edgepool.toolchain import REPO_ROOT

MNIST = REPO_ROOT / "models" / "lenet-mnist" / "lenet-mnist.onnx"
N_IMAGES = 6

pytestmark = pytest.mark.rtlsim


def test_the_build_holds_the_rtl_overlay(mnist_ultra96):
    """The default build (dse: overlay; engine auto: the RTL overlay) puts the IP this file
    simulates into its block design: no manifest patching."""
    m = json.loads((mnist_ultra96 / "manifest.json").read_text())
    assert m["engine"]["name"] == "rtl" and m["engine"]["style"] == "overlay"
    assert m["regmap"]["ips"]["accel"]["vlnv"] == m["rtl"]["overlay"]["vlnv"] \
        == "edgepool:rtl:edgepool_overlay:1.0"
    assert "edgepool:rtl:edgepool_overlay:1.0" in (mnist_ultra96 / "vivado" / "bd.tcl").read_text()


def test_pynq_driver_on_rtl_overlay_lenet_mnist(mnist_ultra96):
    d = np.load(MNIST.parent / "test.npz")
    x = d["x"][:N_IMAGES].astype(np.float32)
    gold = edgepool.load(MNIST).run(x)
    gold = np.asarray(next(iter(gold.values())) if isinstance(gold, dict) else gold)
    acc = D.EdgepoolAccelerator(mnist_ultra96, sim="rtl")
    out = acc.predict(x)
    assert np.array_equal(out, gold)
    st = acc.device.stats()
    assert st["overlay_runs"] == N_IMAGES and st["frames"] == N_IMAGES
    assert st["rtl_cycles"] > 0
    acc.close()


def test_pynq_driver_rtl_overlay_reports_bad_descriptor(mnist_ultra96):
    """A descriptor corrupted in DDR: the IP ends with ap_return = 1 + layer and the driver
    raises AcceleratorError naming the layer."""
    acc = D.EdgepoolAccelerator(mnist_ultra96, sim="rtl")
    desc = acc._buffers["desc"]
    desc[2 * 40] = 0x12345678                     # layer 2: bad magic
    desc.flush()
    x = np.load(MNIST.parent / "test.npz")["x"][:1].astype(np.float32)
    with pytest.raises(D.AcceleratorError, match="descriptor 2"):
        acc.predict(x)
    acc.close()
