# SPDX-License-Identifier: Apache-2.0
"""Deployment bundle (contents, determinism, standalone driver package), register map and
.hwh, and the notebook executed in simulation mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import edgepool
from edgepool.accel import regmap as R
from edgepool.errors import ManifestError
from edgepool.runtime import bundle as BU
from edgepool.runtime.pynq_driver import read_accelerator_manifest

from .conftest import MODEL, build_lenet


def _bundle_path(build: Path) -> Path:
    return build / json.loads((build / "manifest.json").read_text())["bundle"]["file"]


def test_bundle_contents(lenet_build):
    zp = _bundle_path(lenet_build)
    assert zp.name == "edgepool_lenet-digits_ultra96.zip" and zp.parent.name == "bundle"
    with zipfile.ZipFile(zp) as z:
        names = z.namelist()
        assert names == sorted(names)
        assert set(names) >= {
            "README.txt", "manifest.json", "program.json", "program.bin", "testdata.npz",
            "edgepool_ultra96.ipynb", "edgepool_board/__init__.py",
            "edgepool_board/runtime/pynq_driver.py", "edgepool_board/accel/axis.py",
            "edgepool_board/accel/regmap.py", "edgepool_board/errors.py",
            "edgepool_board/runtime/simdevice.py", "edgepool_board/ir/kernels.py"}
        # the board package is generated from edgepool's own sources, not a hand copy
        root = Path(edgepool.__file__).parent
        for n in names:
            if n.startswith("edgepool_board/") and n != "edgepool_board/__init__.py":
                assert z.read(n) == (root / n.removeprefix("edgepool_board/")).read_bytes(), n
        assert all(i.date_time == BU.ZIP_DATE for i in z.infolist())
        readme = z.read("README.txt").decode()
        assert "scp edgepool_lenet-digits_ultra96.zip xilinx@<board-ip>:~/jupyter_notebooks/" \
            in readme and "unzip -o edgepool_lenet-digits_ultra96.zip" in readme
        m = json.loads(z.read("manifest.json"))
        assert "stage_seconds" not in m and m["target"]["pynq_board"] == "Ultra96"
        assert z.read("program.bin") == (lenet_build / "program.bin").read_bytes()
        has_bit = any(n.endswith(".bit") for n in names)
        assert has_bit == bool(list((lenet_build / "vivado").glob("*.bit"))
                               if (lenet_build / "vivado").is_dir() else [])
        assert ("no bitstream" in readme) != has_bit


def test_bundle_is_deterministic(lenet_build, tmp_path):
    again = build_lenet(tmp_path / "again")
    assert _bundle_path(again).read_bytes() == _bundle_path(lenet_build).read_bytes()
    m = read_accelerator_manifest(lenet_build)
    e1 = BU.deterministic_zip(BU.build_entries(lenet_build, m))
    e2 = BU.deterministic_zip(BU.build_entries(lenet_build, m))
    assert e1 == e2


def test_bundle_includes_vivado_outputs(lenet_build, tmp_path):
    import shutil

    b = tmp_path / "b"
    shutil.copytree(lenet_build, b)
    (b / "vivado").mkdir(exist_ok=True)
    (b / "vivado" / "edgepool_top.bit").write_bytes(b"\x00\x09bitstream")
    with pytest.raises(ManifestError, match="no edgepool_top.hwh"):
        BU.build_entries(b, read_accelerator_manifest(b))
    (b / "vivado" / "edgepool_top.hwh").write_text("<EDKSYSTEM/>")
    e = BU.build_entries(b, read_accelerator_manifest(b))
    assert e["overlay/edgepool_top.bit"] == b"\x00\x09bitstream"
    assert json.loads(e["manifest.json"])["bitstream"] == "overlay/edgepool_top.bit"


def test_testdata_golden_is_the_interpreter(unzipped_bundle, testset):
    d = np.load(unzipped_bundle / "testdata.npz")
    assert np.array_equal(d["x"], testset[0]) and np.array_equal(d["y"], testset[1])
    assert np.array_equal(d["golden"], testset[2])


_BLOCK_EDGEPOOL = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name == "edgepool" or name.startswith("edgepool."):
            raise ImportError("edgepool is not installed on the board")
sys.meta_path.insert(0, _Block())
sys.path.insert(0, sys.argv[1])
import numpy as np
import edgepool_board as eb
from edgepool_board.errors import ManifestError
from edgepool_board.runtime import pynq_driver as D
m = eb.read_accelerator_manifest(sys.argv[1])
io = D.IoSpec.from_build(__import__("pathlib").Path(sys.argv[1]), m)
d = np.load(sys.argv[1] + "/testdata.npz")
np.save(sys.argv[2], D.host_inputs(m, io, d["x"]))
try:
    eb.EdgepoolAccelerator(sys.argv[1])
except ManifestError as e:
    print("TYPED:", type(e).__module__, str(e).splitlines()[0])
"""


def test_board_package_runs_without_edgepool(unzipped_bundle, tmp_path, testset):
    """The bundle's driver imports with edgepool blocked, quantizes like edgepool, and reports
    the missing bitstream as its own typed ManifestError."""
    from edgepool.runtime import executors

    out = tmp_path / "codes.npy"
    r = subprocess.run([sys.executable, "-c", _BLOCK_EDGEPOOL, str(unzipped_bundle), str(out)],
                       capture_output=True, text=True, timeout=120,
                       env={k: v for k, v in os.environ.items() if k != "EDGEPOOL_PYNQ_SIM"})
    assert r.returncode == 0, r.stderr
    assert "TYPED: edgepool_board.errors" in r.stdout and "no bitstream" in r.stdout
    m = read_accelerator_manifest(unzipped_bundle)
    assert np.array_equal(np.load(out), executors.host_inputs(m, testset[0]))


def test_bundle_runs_in_simulation_and_refuses_other_board(unzipped_bundle, testset):
    from edgepool.runtime.pynq_driver import EdgepoolAccelerator

    acc = EdgepoolAccelerator(unzipped_bundle, sim="reference")
    assert np.array_equal(acc.predict(testset[0][:64]), testset[2][:64])
    with pytest.raises(ManifestError, match="copy the ultra96 bundle to a Ultra96 board"):
        EdgepoolAccelerator(unzipped_bundle, sim="reference", board="ZCU104")


# ----------------------------------------------------------------------------- regmap / hwh
def test_default_regmaps_validate_and_layout():
    df = R.validate_regmap(R.default_regmap("dataflow"))
    assert df["dma"]["registers"] == {
        "MM2S_DMACR": 0x00, "MM2S_DMASR": 0x04, "MM2S_SA": 0x18, "MM2S_SA_MSB": 0x1C,
        "MM2S_LENGTH": 0x28, "S2MM_DMACR": 0x30, "S2MM_DMASR": 0x34, "S2MM_DA": 0x48,
        "S2MM_DA_MSB": 0x4C, "S2MM_LENGTH": 0x58}
    assert df["ips"]["dma"]["base"] == 0xA000_0000
    ov = R.validate_regmap(R.default_regmap("overlay", "zynq"))
    assert ov["ips"]["accel"]["base"] == 0x43C0_0000
    assert {k: v["offset"] for k, v in ov["accel"]["registers"].items()} == {
        "CTRL": 0x00, "GIER": 0x04, "IP_IER": 0x08, "IP_ISR": 0x0C, "ap_return": 0x10,
        "desc": 0x18, "n_layers": 0x24, "wmem": 0x2C, "bmem": 0x38, "act_in": 0x44,
        "act_out": 0x50}


@pytest.mark.parametrize("mutate, msg", [
    (lambda r: r["accel"]["registers"]["wmem"].update(offset=0x20), "overlap"),
    (lambda r: r["accel"]["registers"]["desc"].update(offset=0x1A), "not word aligned"),
    (lambda r: r["accel"]["registers"].pop("act_out"), "'act_out' missing"),
    (lambda r: r["accel"]["registers"]["CTRL"].update(offset=0x4), "CTRL must be at offset 0"),
    (lambda r: r.update(style="systolic"), "style 'systolic'"),
    (lambda r: r["ips"]["accel"].update(base=0x43C0_0010), "4 KiB aligned"),
])
def test_regmap_validator_rejects(mutate, msg):
    rm = R.default_regmap("overlay")
    mutate(rm)
    with pytest.raises(ManifestError, match=msg):
        R.validate_regmap(rm)


@pytest.mark.parametrize("style", ["dataflow", "overlay"])
@pytest.mark.parametrize("family", ["zynquplus", "zynq"])
def test_hwh_parsed_by_pynq_metadata(tmp_path, style, family):
    from pynqmetadata.frontends import Metadata
    from pynqmetadata.views.runtime import RuntimeMetadataParser

    rm = R.default_regmap(style, family)
    f = tmp_path / "d.hwh"
    f.write_text(R.block_design_hwh(rm, design="d", part="xczu3eg-sbva484-1-e", clock_mhz=200))
    ipd = RuntimeMetadataParser(Metadata(input=str(f))).ip_dict
    role = "dma" if style == "dataflow" else "accel"
    ip = rm["ips"][role]
    d = ipd[ip["name"]]
    assert (d["phys_addr"], d["addr_range"], d["type"]) == (ip["base"], ip["range"], ip["vlnv"])
    want = rm["dma"]["registers"] if style == "dataflow" else \
        {k: v["offset"] for k, v in rm["accel"]["registers"].items()}
    assert {k: v["address_offset"] for k, v in d["registers"].items()} == want


# ----------------------------------------------------------------------------- notebook
def test_notebook_executes_in_simulation(unzipped_bundle, run_bundle_notebook):
    text, pngs = run_bundle_notebook(unzipped_bundle, EDGEPOOL_PYNQ_SIM="reference",
                                     EDGEPOOL_NB_THROUGHPUT="40")
    assert "bit-exact vs golden interpreter: True (0 images differ)" in text
    d = np.load(unzipped_bundle / "testdata.npz")
    acc = float(np.mean(d["golden"].argmax(1) == d["y"]))     # the golden model's accuracy
    assert f"accuracy: {acc:.4f} (golden: {acc:.4f})" in text
    assert pngs == 2                            # the picture grid and the latency plot
    assert "'exact': True" in text


def test_repo_notebook_is_the_bundled_one(unzipped_bundle):
    assert (unzipped_bundle / "edgepool_ultra96.ipynb").read_bytes() == BU.NOTEBOOK.read_bytes()
    assert MODEL.exists()


@pytest.mark.board
def test_on_the_board():
    """On a PYNQ board: EDGEPOOL_BOARD=ultra96 EDGEPOOL_BOARD_BUNDLE=<unzipped bundle with a
    bitstream> pytest -m board tests/runtime."""
    from edgepool.runtime.pynq_driver import EdgepoolAccelerator

    path = Path(os.environ["EDGEPOOL_BOARD_BUNDLE"])
    acc = EdgepoolAccelerator(path)
    d = np.load(path / "testdata.npz")
    assert np.array_equal(acc.predict(d["x"]), d["golden"])
