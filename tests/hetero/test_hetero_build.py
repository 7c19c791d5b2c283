# SPDX-License-Identifier: Apache-2.0
"""A heterogeneous ultra96 build (lenet-digits with its classifier pinned to the CPU): build
directory, manifest and report, then the whole lenet-digits test set through every backend —
golden fabric + TVM x86 CPU segments, C-simulated fabric + x86 CPU segments, and the build's
aarch64 CPU libraries under qemu — bit-exact with the golden interpreter. Bad pins: exit 2,
nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import edgepool
import edgepool.errors
from edgepool import toolchain
from edgepool.build import build
from edgepool.cli import main
from edgepool.config import BuildConfig
from edgepool.runtime.executors import run_build

DIGITS = toolchain.REPO_ROOT / "models" / "lenet-digits" / "lenet-digits.onnx"
PIN = ("/layers/layers.7/Gemm=cpu",)


@pytest.fixture(scope="module")
def hetero_build(shared_build):
    def make(model, target, out):
        build(model, target, out, force=True, config=BuildConfig(target=target, place=PIN))

    return shared_build(DIGITS, "ultra96", "lenet-digits-ultra96-hetero", make)


def test_build_layout(hetero_build):
    m = json.loads((hetero_build / "manifest.json").read_text())
    assert m["stages"][:3] == ["import", "place", "lower"] and "cpu-segments" in m["stages"]
    pl = m["placement"]
    assert pl["applied"] and [s["device"] for s in pl["segments"]] == ["cpu", "fabric", "cpu"]
    assert pl["boundary_bytes"] == 64 + 512
    segs = m["cpu_segments"]["segments"]
    assert [s["index"] for s in segs] == [0, 2]
    for s in segs:
        assert (hetero_build / s["dir"] / s["cpu"]["library"]).exists()
        assert (hetero_build / s["graph"]).exists()
    assert m["host"]["dequantize"] is False        # the fabric reads and writes boundary codes
    report = (hetero_build / "report.md").read_text()
    assert "## Placement (estimated)" in report and "| fabric | rtl |" in report
    assert (hetero_build / "placement.png").stat().st_size > 1000
    import zipfile

    with zipfile.ZipFile(hetero_build / m["bundle"]["file"]) as z:
        names = set(z.namelist())
        assert {"cpu/seg0/runner", "cpu/seg2/model_aarch64-linux-gnu.so",
                "cpu/seg2/lib/libtvm_runtime.so", "checkpoints/segment_1.onnx"} <= names
        assert z.getinfo("cpu/seg0/runner").external_attr >> 16 == 0o755


@pytest.mark.csim
def test_one_relax_module_csim_fabric(hetero_build):
    """cpu/hetero: the whole graph as one Relax module (fabric BYOC), built for aarch64 by the
    build; compiled here for x86, its fabric calls going to the C-simulated accelerator."""
    from edgepool.runtime.executors import get_executor
    from edgepool.runtime.hetero import HeteroExecutor

    m = json.loads((hetero_build / "manifest.json").read_text())
    assert (hetero_build / m["cpu_segments"]["hetero"]["dir"] /
            "model_aarch64-linux-gnu.so").exists()
    x = np.load(DIGITS.parent / "test.npz")["x"]
    ex = HeteroExecutor(hetero_build, get_executor(hetero_build, "csim"), "x86")
    got = next(iter(ex.run_relax(x).values()))
    assert np.array_equal(got, edgepool.load(DIGITS).run(x))


@pytest.mark.parametrize("backend", ["reference", pytest.param("csim", marks=pytest.mark.csim),
                                     pytest.param("neon", marks=pytest.mark.aarch64)])
def test_whole_test_set_bit_exact(hetero_build, backend):
    x = np.load(DIGITS.parent / "test.npz")["x"]
    want = edgepool.load(DIGITS).run(x)
    got = next(iter(run_build(hetero_build, x, backend).values()))
    assert np.array_equal(got, want)


def test_bad_pin_exit_2_nothing_written(tmp_path):
    out = tmp_path / "o"
    res = CliRunner().invoke(main, ["build", str(DIGITS), "--target", "ultra96", "-o", str(out),
                                    "--place", "/layers/layers.6/Flatten=gpu"])
    assert res.exit_code == 2 and "gpu" in res.output
    assert not out.exists() and not (tmp_path / "o.partial").exists()
    res = CliRunner().invoke(main, ["inspect", str(DIGITS), "--target", "ultra96"])
    assert res.exit_code == 0 and "placement on ultra96" in res.output


@pytest.mark.csim
def test_pipelined_and_driver_on_the_simulated_device(hetero_build, monkeypatch):
    """The fabric segment through the PYNQ driver on the simulated device (C-simulated
    accelerator behind it), the CPU segments on x86, one image at a time through the software
    pipeline; the plain driver refuses float images of a heterogeneous build."""
    from edgepool.runtime.hetero import HeteroExecutor
    from edgepool.runtime.pynq_driver import SIM_ENV, EdgepoolAccelerator, PynqExecutor

    monkeypatch.setenv(SIM_ENV, "csim")
    x = np.load(DIGITS.parent / "test.npz")["x"][:24]
    want = edgepool.load(DIGITS).run(x)
    fabric = PynqExecutor(hetero_build, json.loads((hetero_build / "manifest.json").read_text()))
    ex = HeteroExecutor(hetero_build, fabric, "x86")
    assert np.array_equal(next(iter(ex.run_pipelined(x).values())), want)
    t = ex.segment_timings()
    assert [s["device"] for s in t] == ["cpu", "fabric", "cpu"]
    assert all(s["calls"] == len(x) for s in t)
    with pytest.raises(edgepool.errors.ManifestError, match="heterogeneous"):
        EdgepoolAccelerator(hetero_build).predict(x[:1])


# --------------------------------------------------------------------------- a depthwise model
@pytest.fixture(scope="module")
def dw_build(shared_build, tmp_path_factory):
    """A real QONNX model with a depthwise conv (Brevitas export, random weights) built for
    ultra96 without pins: the build splits it on its own."""
    from hetero_graphs import export_depthwise_onnx

    onnx = export_depthwise_onnx(tmp_path_factory.mktemp("dw") / "dw.onnx")
    return onnx, shared_build(onnx, "ultra96", "dw-ultra96-hetero")


def test_depthwise_model_splits_without_pins(dw_build):
    _, out = dw_build
    pl = json.loads((out / "manifest.json").read_text())["placement"]
    assert pl["applied"] and pl["estimated_us"]["fabric_only"] is None
    dw = next(la for la in pl["layers"] if "depthwise" in la["reason"])
    assert dw["device"] == "cpu"
    assert pl["estimated_us"]["heterogeneous"] <= pl["estimated_us"]["cpu_only"]


@pytest.mark.parametrize("backend,n", [
    ("reference", None), pytest.param("csim", None, marks=pytest.mark.csim),
    pytest.param("rtlsim", 16, marks=pytest.mark.rtlsim)])
def test_depthwise_model_bit_exact(dw_build, backend, n):
    onnx, out = dw_build
    x = np.load(DIGITS.parent / "test.npz")["x"][:n]
    want = edgepool.load(onnx).run(x)
    assert np.array_equal(next(iter(run_build(out, x, backend).values())), want)
