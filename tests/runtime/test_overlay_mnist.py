# SPDX-License-Identifier: Apache-2.0
"""lenet-mnist built for ultra96 through every stage (the dse picks the overlay there: 1 input
channel and FC widths 120/84/10 need channel padding, the logits are a 32-bit raw accumulator
in a wide output container), then run through the PYNQ driver on the simulated device, from the
build directory and from the unzipped bundle, bit-exact against the golden interpreter."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import edgepool
from edgepool.accel import manifest
from edgepool.accel.descriptor import DESC_WORDS, F_W_STREAM, plan_program, unpack_descriptor
from edgepool.runtime import executors
from edgepool.runtime import pynq_driver as D
from edgepool.toolchain import REPO_ROOT

MNIST = REPO_ROOT / "models" / "lenet-mnist" / "lenet-mnist.onnx"


@pytest.fixture(scope="module")
def mnist_build(mnist_ultra96) -> Path:
    """The session's one lenet-mnist ultra96 build (tests/conftest.py), shared with
    tests/hls/test_hls_build.py."""
    return mnist_ultra96


@pytest.fixture(scope="module")
def mnist_set() -> tuple[np.ndarray, np.ndarray]:
    d = np.load(MNIST.parent / "test.npz")
    x = d["x"][:16].astype(np.float32)
    gold = edgepool.load(MNIST).run(x)
    gold = next(iter(gold.values())) if isinstance(gold, dict) else gold
    return x, np.asarray(gold)


def test_build_is_overlay_with_one_plan(mnist_build):
    m = json.loads((mnist_build / "manifest.json").read_text())
    assert m["hls"]["style"] == "overlay" and "bundle" in m["stages"]
    design = json.loads((mnist_build / "hls" / "design.json").read_text())
    in_c = design["pad"]["in_c"]
    assert in_c[0] == 1 and in_c[1] % m["config"]["hls"]["simd"] == 0
    # the bundle's image, the hls stage's files and plan_program agree byte for byte
    program, _ = manifest.load_program(mnist_build)
    img = plan_program(program, manifest.overlay_params(m)).image
    hls = mnist_build / "hls"
    assert (hls / "desc.bin").read_bytes() == img.desc.astype("<u4").tobytes()
    assert (hls / "weights.bin").read_bytes() == img.weights
    assert (hls / "bias.bin").read_bytes() == img.bias.astype("<i8").tobytes()
    with zipfile.ZipFile(mnist_build / m["bundle"]["file"]) as z:
        with z.open("overlay_image.npz") as f:
            npz = np.load(f)
            assert np.array_equal(npz["desc"], img.desc)
            assert int(npz["out_bits"]) == 32 and int(npz["in_bits"]) == 8
    # the FC layers stream their weights; the logits are written in 32-bit containers
    descs = [unpack_descriptor(img.desc[i * DESC_WORDS:(i + 1) * DESC_WORDS])
             for i in range(img.n_layers)]
    assert [bool(d["flags"] & F_W_STREAM) for d in descs] == [False, False, True, True, True]
    assert [d["out_bits"] for d in descs] == [8, 8, 8, 8, 32]
    # the estimates describe the configuration that was built
    assert m["estimates"]["dsp"] > 0 and m["config"]["hls"]["act_bits"] == 8
    assert m["config"]["hls"]["out_bits"] == 32


@pytest.mark.parametrize("source", ["build", "bundle"])
def test_pynq_sim_reference_exact(mnist_build, mnist_set, source, tmp_path):
    x, gold = mnist_set
    path = mnist_build
    if source == "bundle":
        m = json.loads((mnist_build / "manifest.json").read_text())
        path = tmp_path / "bundle"
        with zipfile.ZipFile(mnist_build / m["bundle"]["file"]) as z:
            z.extractall(path)
    acc = D.EdgepoolAccelerator(path, sim="reference")
    out = acc.predict(x)
    assert np.array_equal(out, gold)
    assert acc.device.stats()["overlay_runs"] == len(x)
    acc.close()


def test_edgepool_run_backend_pynq_csim(mnist_build, mnist_set, monkeypatch):
    """`edgepool run OUT --backend pynq` with the simulated device backed by the generated HLS
    C++ (C simulation of the padded overlay design)."""
    x, gold = mnist_set
    monkeypatch.setenv("EDGEPOOL_PYNQ_SIM", "csim")
    out = executors.run_build(mnist_build, x[:4], backend="pynq")
    assert np.array_equal(next(iter(out.values())), gold[:4])
