# SPDX-License-Identifier: Apache-2.0
"""Shared build directories for the PYNQ runtime tests (built once per session)."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

import edgepool
import edgepool.build as B
from edgepool.toolchain import REPO_ROOT

MODEL = REPO_ROOT / "models" / "lenet-digits" / "lenet-digits.onnx"
TEST_SET = REPO_ROOT / "models" / "lenet-digits" / "test.npz"


def build_lenet(out: Path, target: str = "ultra96") -> Path:
    """A full build (every fpga stage) of lenet-digits into ``out``."""
    B.build(MODEL, target, out, force=True)
    return out


@pytest.fixture(scope="session")
def lenet_build(shared_build) -> Path:
    """lenet-digits for ultra96, built once per session (shared by the xdist workers, see
    ``shared_build`` in tests/conftest.py); tests that damage it take ``build_copy``."""
    return shared_build(MODEL, "ultra96", "lenet-digits-ultra96")


@pytest.fixture(scope="session")
def testset() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, golden interpreter outputs) of lenet-digits."""
    d = np.load(TEST_SET)
    x = d["x"].astype(np.float32)
    gold = edgepool.load(MODEL).run(x)
    gold = next(iter(gold.values())) if isinstance(gold, dict) else gold
    return x, d["y"], np.asarray(gold)


@pytest.fixture()
def build_copy(lenet_build, tmp_path) -> Path:
    """A private copy of the build directory a test may damage."""
    dst = tmp_path / "build"
    shutil.copytree(lenet_build, dst)
    return dst


@pytest.fixture(scope="session")
def unzipped_bundle(lenet_build, tmp_path_factory) -> Path:
    m = json.loads((lenet_build / "manifest.json").read_text())
    dst = tmp_path_factory.mktemp("bundle") / "edgepool_lenet-digits_ultra96"
    with zipfile.ZipFile(lenet_build / m["bundle"]["file"]) as z:
        z.extractall(dst)
    return dst


@pytest.fixture(autouse=True)
def _no_sim_env(monkeypatch):
    """Tests choose the simulated device explicitly."""
    for k in ("EDGEPOOL_PYNQ_SIM", "EDGEPOOL_PYNQ_SIM_BUILD", "EDGEPOOL_PYNQ_SIM_BOARD",
              "BOARD"):
        monkeypatch.delenv(k, raising=False)
