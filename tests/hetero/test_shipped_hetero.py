# SPDX-License-Identifier: Apache-2.0
"""The shipped models the fabric cannot run whole (resnet-mnist: residual Adds and a float
global-average head; dwsep-mnist: depthwise convolutions; allconv-mnist: a float
global-average head) build for ultra96 without a user edit:
the placement puts what the fabric cannot run on the Cortex-A53, is no slower than CPU-only
(estimated), and the build runs bit-exact with the golden interpreter (golden fabric, C-simulated
fabric, RTL-simulated fabric; the CPU segments through TVM on x86, and the build's own aarch64
segment libraries under qemu with the golden fabric). The PYNQ-Z2, whose
Cortex-A9 has no TVM runtime, refuses them with a typed error naming every offender and
writes nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

import edgepool
from edgepool.build import build
from edgepool.errors import PlacementError
from edgepool.runtime.executors import run_build
from edgepool.toolchain import REPO_ROOT

MODELS = REPO_ROOT / "models"
OFFENDERS = {"resnet-mnist": ["Add", "float"], "dwsep-mnist": ["groups=16", "groups=64"],
             "allconv-mnist": ["GlobalAveragePool", "float"]}


def _onnx(model):
    return MODELS / model / f"{model}.onnx"


@pytest.fixture(scope="module", params=sorted(OFFENDERS))
def u96(request, shared_build):
    model = request.param
    return model, shared_build(_onnx(model), "ultra96", f"{model}-ultra96")


def test_builds_heterogeneously_and_not_slower(u96):
    model, out = u96
    m = json.loads((out / "manifest.json").read_text())
    pl = m["placement"]
    assert pl["applied"] and pl["estimated_us"]["fabric_only"] is None
    devices = [s["device"] for s in pl["segments"]]
    assert "fabric" in devices and "cpu" in devices
    assert pl["estimated_us"]["heterogeneous"] <= pl["estimated_us"]["cpu_only"]
    for s in m["cpu_segments"]["segments"]:
        assert (out / s["dir"] / s["cpu"]["library"]).exists()
    assert "## Placement (estimated)" in (out / "report.md").read_text()
    assert "Not run: the fabric runs one segment" in (out / "dse" / "dse.md").read_text()


def _bit_exact(model, out, backend, n):
    x = np.load(MODELS / model / "test.npz")["x"][:n]
    want = edgepool.load(_onnx(model)).run(x)
    got = next(iter(run_build(out, x, backend).values()))
    assert np.array_equal(got, want)


@pytest.mark.parametrize("backend,n", [
    ("reference", 128), pytest.param("csim", 16, marks=pytest.mark.csim),
    pytest.param("neon", 256, marks=pytest.mark.aarch64)])
def test_bit_exact(u96, backend, n):
    _bit_exact(*u96, backend, n)


# RTL simulation: resnet-mnist and dwsep-mnist here; allconv-mnist's five-conv fabric segment
# takes ~2 min of Verilator compilation alone, so its RTL check is benchmarks/hetero_verify.py
# (whole test set; results committed)
@pytest.mark.rtlsim
@pytest.mark.parametrize("model", ["resnet-mnist", "dwsep-mnist"])
def test_bit_exact_rtlsim(shared_build, model):
    _bit_exact(model, shared_build(_onnx(model), "ultra96", f"{model}-ultra96"), "rtlsim", 4)


@pytest.mark.parametrize("model", sorted(OFFENDERS))
def test_pynq_z2_refuses_naming_every_offender(tmp_path, model):
    out = tmp_path / "out"
    with pytest.raises(PlacementError) as ei:
        build(_onnx(model), "pynq-z2", out)
    msg = str(ei.value)
    for e in OFFENDERS[model]:
        assert e in msg, msg
    assert "TVM runtime" in msg and "ultra96" in msg
    assert not out.exists() and not (tmp_path / "out.partial").exists()
