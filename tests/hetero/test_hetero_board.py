# SPDX-License-Identifier: Apache-2.0
"""The board runtime of heterogeneous builds (:class:`edgepool.runtime.hetero_board.
HeteroAccelerator`): the fabric segment through the unmodified PYNQ driver on the simulated
device, the CPU segments as the build's own aarch64 runner + TVM libraries (under qemu here,
natively on the board). Checked bit-exact against the golden interpreter with the C-simulated
and the RTL accelerator behind the device, and the bundle's notebook executed on the unzipped
bundle of resnet-mnist."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import edgepool
from edgepool.errors import InputError, ManifestError
from edgepool.runtime import bundle as BU
from edgepool.runtime.hetero_board import HeteroAccelerator
from edgepool.toolchain import REPO_ROOT

MODEL = REPO_ROOT / "models" / "resnet-mnist" / "resnet-mnist.onnx"

pytestmark = pytest.mark.aarch64


@pytest.fixture(scope="module")
def rn_build(shared_build):
    return shared_build(MODEL, "ultra96", "resnet-mnist-ultra96")


@pytest.fixture(scope="module")
def rn_bundle(rn_build, tmp_path_factory):
    m = json.loads((rn_build / "manifest.json").read_text())
    dst = tmp_path_factory.mktemp("bundle") / "edgepool_resnet-mnist_ultra96"
    with zipfile.ZipFile(rn_build / m["bundle"]["file"]) as z:
        z.extractall(dst)                  # zipfile drops the x bit: the runtime restores it
    return dst


@pytest.mark.parametrize("sim,n", [pytest.param("csim", 24, marks=pytest.mark.csim),
                                   pytest.param("rtl", 2, marks=pytest.mark.rtlsim)])
def test_bit_exact_on_the_simulated_device(rn_build, sim, n):
    x = np.load(MODEL.parent / "test.npz")["x"][:n]
    want = edgepool.load(MODEL).run(x)
    acc = HeteroAccelerator(rn_build, sim=sim)
    try:
        assert np.array_equal(acc.predict(x), want)
        r = acc.throughput_test(3, x)
        assert [s["device"] for s in r.segments] == ["cpu", "fabric", "cpu"]
        assert all(s["calls"] == 6 for s in r.segments)          # 3 serial + 3 pipelined
        assert r.serial_s > 0 and r.pipelined_s > 0 and "img/s" in str(r)
    finally:
        acc.close()


def test_bundle_carries_the_hetero_runtime_and_notebook(rn_bundle):
    names = {p.relative_to(rn_bundle).as_posix() for p in rn_bundle.rglob("*") if p.is_file()}
    assert {"edgepool_board/runtime/hetero_board.py", "placement.png", "testdata.npz",
            "cpu/seg0/runner", "cpu/seg2/lib/libtvm_runtime.so"} <= names
    assert (rn_bundle / "edgepool_ultra96.ipynb").read_bytes() == \
        BU.HETERO_NOTEBOOK.read_bytes()


def test_typed_errors(rn_bundle, shared_build):
    acc = HeteroAccelerator(rn_bundle, sim="reference")
    with pytest.raises(InputError, match="the model takes"):
        acc.predict(np.zeros((2, 3, 28, 28), np.float32))
    with pytest.raises(InputError, match="at least one"):
        acc.throughput_test(0)
    acc.close()
    digits = REPO_ROOT / "models" / "lenet-digits" / "lenet-digits.onnx"
    fabric_only = shared_build(digits, "ultra96", "lenet-digits-ultra96")
    with pytest.raises(ManifestError, match="not a heterogeneous build"):
        HeteroAccelerator(fabric_only, sim="reference")


def test_notebook_executes_on_the_bundle(rn_bundle, run_bundle_notebook):
    """The bundled notebook on the unzipped bundle (the golden program behind the simulated
    device: the bundle carries no HLS sources; the CPU segments are the bundle's own aarch64
    libraries under qemu)."""
    text, pngs = run_bundle_notebook(rn_bundle, EDGEPOOL_PYNQ_SIM="reference",
                                     EDGEPOOL_NB_IMAGES="200", EDGEPOOL_NB_THROUGHPUT="4")
    assert "bit-exact vs golden interpreter: True (0 images differ)" in text
    d = np.load(rn_bundle / "testdata.npz")
    acc = float(np.mean(d["golden"][:200].argmax(1) == d["y"][:200]))
    assert f"accuracy: {acc:.4f} (golden: {acc:.4f})" in text
    assert "'exact': True" in text and "'segments': 3" in text
    assert pngs == 2                            # the placement picture and the timing plot
