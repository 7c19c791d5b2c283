# SPDX-License-Identifier: Apache-2.0
"""Test tiers. Tools that `make setup` installs must be present (a missing one fails loudly);
only vendor tools and the board are skipped, with the reason printed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from edgepool import toolchain

# CI (CI=true, as .ci/run is called) draws the same hypothesis examples every run, so a green
# CI is reproducible; a developer's run explores new examples each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_collection_modifyitems(config, items):
    have_vitis = toolchain.which("vitis_hls") is not None
    have_vivado = toolchain.which("vivado") is not None
    board = os.environ.get("EDGEPOOL_BOARD")
    for item in items:
        if "vivado" in item.keywords and not (have_vitis and have_vivado):
            item.add_marker(pytest.mark.skip(
                reason="vendor tools absent: vitis_hls/vivado not on PATH (source Vitis "
                       "settings64.sh to run this tier)"))
        if "board" in item.keywords and not board:
            item.add_marker(pytest.mark.skip(
                reason="no PYNQ board: run on the board with EDGEPOOL_BOARD=ultra96"))


MNIST = toolchain.REPO_ROOT / "models" / "lenet-mnist" / "lenet-mnist.onnx"


@pytest.fixture(scope="session")
def shared_build(tmp_path_factory):
    """``shared_build(model, target, name, build=None) -> OUT``: a build made ONCE per test
    session and read by several tests (e.g. the shards of one C simulation of a whole test
    set). Under pytest-xdist the first worker that asks builds it in the session's shared
    temporary folder while holding an flock on ``name``; the others wait and reuse it (a build
    publishes its folder by renaming ``OUT.partial``, so a folder with a manifest is complete).
    ``build(model, target, out)`` replaces ``edgepool.build.build`` (e.g. to pin the dse's
    choice). Tests must not modify the folder."""
    import fcntl

    import edgepool.build as B

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base

    def get(model: Path, target: str, name: str, build=None) -> Path:
        out = shared / "shared-builds" / name
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out.parent / f"{name}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (out / "manifest.json").exists():
                if build is None:
                    B.build(model, target, out, force=True)
                else:
                    build(model, target, out)
        return out

    return get


@pytest.fixture(scope="session")
def mnist_ultra96(shared_build) -> Path:
    """lenet-mnist built for ultra96 through every stage with the real dse (it picks the
    overlay), once per session: the build and its C simulation are the suite's longest
    (tests/hls/test_hls_build.py, tests/runtime/test_overlay_mnist.py)."""
    return shared_build(MNIST, "ultra96", "lenet-mnist-ultra96")


@pytest.fixture
def run_bundle_notebook(monkeypatch):
    """``run_bundle_notebook(bundle, **env) -> (stream text, PNG count)``: execute the
    ``edgepool_ultra96.ipynb`` of an unzipped bundle the way a user would, with ``env`` (e.g.
    ``EDGEPOOL_PYNQ_SIM="reference"``) and ``EDGEPOOL_BUNDLE`` set, inline matplotlib."""
    import nbclient
    import nbformat

    def run(bundle: Path, **env: str) -> tuple[str, int]:
        for k, v in {**env, "EDGEPOOL_BUNDLE": str(bundle),
                     "MPLBACKEND": "module://matplotlib_inline.backend_inline"}.items():
            monkeypatch.setenv(k, v)
        nb = nbformat.read(bundle / "edgepool_ultra96.ipynb", as_version=4)
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(bundle)}}).execute()
        outs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        text = "".join(o.get("text", "") for o in outs if o.get("output_type") == "stream")
        return text, sum("image/png" in o.get("data", {}) for o in outs)

    return run
