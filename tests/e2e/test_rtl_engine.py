# SPDX-License-Identifier: Apache-2.0
"""``--engine auto|rtl|hls``: which accelerator IP a build puts into the bitstream, the refusal
of ``--engine rtl`` where the RTL cannot run the model (typed error, exit 2, nothing written),
and the vendor scripts of both engines executed up to the vendor boundary (tests/stubtcl.py:
``build.sh`` runs, ``package_ip.tcl`` / ``bd.tcl`` / ``run_hls.tcl`` are parsed and executed
by tclsh with the Xilinx commands recorded)."""

from __future__ import annotations

import dataclasses
import json
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from stubtcl import TCLSH, make_stub_tools

import edgepool.build as B
from edgepool.accel.engine import RTL_STYLES, choose_engine
from edgepool.accel.lower import lower_to_hw
from edgepool.build.engine import rtl_problems
from edgepool.cli import main
from edgepool.config import BuildConfig
from edgepool.errors import ConfigError, EngineUnsupportedError
from edgepool.passes.pipelines import load
from edgepool.toolchain import REPO_ROOT

MODEL = REPO_ROOT / "models" / "lenet-digits" / "lenet-digits.onnx"
needs_tclsh = pytest.mark.skipif(TCLSH is None, reason="tclsh not installed (apt install tcl)")


@pytest.fixture(scope="module")
def program():
    return lower_to_hw(load(MODEL))[0]


@pytest.fixture(scope="module")
def rtl_build(shared_build) -> Path:
    """The default lenet-digits Ultra96 build (the same shared folder the runtime tests use)."""
    return shared_build(MODEL, "ultra96", "lenet-digits-ultra96")


@pytest.fixture(scope="module")
def hls_build(rtl_build, tmp_path_factory) -> Path:
    """The same build resumed from the engine stage with ``--engine hls``."""
    out = tmp_path_factory.mktemp("hls-engine") / "build"
    shutil.copytree(rtl_build, out)
    cfg = BuildConfig(**{**json.loads((out / "manifest.json").read_text())["build_config"],
                         "engine": "hls"})
    B.build(MODEL, "ultra96", out, from_stage="engine", config=cfg)
    return out


# --------------------------------------------------------------------------- the choice
def test_choose_engine_auto_rtl_hls():
    assert RTL_STYLES["dataflow"] and not RTL_STYLES["overlay"]
    auto = choose_engine("dataflow", "auto", [])
    assert auto.name == "rtl" and auto.reason.startswith("auto:")
    fallback = choose_engine("dataflow", "auto", ["layer 1 (conv): groups 2"])
    assert fallback.name == "hls" and "groups 2" in fallback.reason
    ov = choose_engine("overlay", "auto", [])
    assert ov.name == "hls" and "overlay" in ov.reason
    assert choose_engine("dataflow", "hls", []).name == "hls"
    assert choose_engine("dataflow", "rtl", []).name == "rtl"
    with pytest.raises(EngineUnsupportedError) as e:
        choose_engine("overlay", "rtl", [])
    assert "--engine hls" in str(e.value)
    with pytest.raises(ConfigError):
        choose_engine("dataflow", "verilog", [])
    with pytest.raises(ConfigError, match="unknown engine"):
        BuildConfig(engine="verilog")


def test_rtl_problems_name_the_layer_and_reason(program):
    assert rtl_problems(program, None) == []
    bad = dataclasses.replace(program, layers=(
        dataclasses.replace(program.layers[0], dilation=(2, 2)), *program.layers[1:]))
    problems = rtl_problems(bad, None)
    assert len(problems) == 1 and "layer 0" in problems[0] and "dilation" in problems[0]
    with pytest.raises(EngineUnsupportedError) as e:
        choose_engine("dataflow", "rtl", problems)
    msg = str(e.value)
    assert "layer 0" in msg and "dilation" in msg and "--engine hls" in msg


def test_engine_rtl_refused_exit_2_nothing_written(tmp_path):
    out = tmp_path / "b"
    r = CliRunner().invoke(main, ["build", str(MODEL), "-t", "ultra96", "-o", str(out),
                                  "--style", "overlay", "--engine", "rtl", "--to", "engine",
                                  "-j", "1"])
    assert r.exit_code == 2, r.output
    assert "EngineUnsupportedError" in r.output and "--engine hls" in r.output
    assert "overlay" in r.output
    assert not out.exists() and not (tmp_path / "b.partial").exists()


# --------------------------------------------------------------------------- RTL engine build
def test_rtl_build_records_the_engine_and_its_ip(rtl_build):
    m = json.loads((rtl_build / "manifest.json").read_text())
    assert m["engine"]["name"] == "rtl" and m["engine"]["requested"] == "auto"
    assert "engine" in m["stages"]
    assert m["regmap"]["ips"]["accel"]["vlnv"] == "edgepool:rtl:ep_accel:1.0"
    assert m["next_steps"] and "package_ip.tcl" in m["next_steps"][0]
    assert "vitis_hls" not in m["next_steps"][0]
    hwh_like = (rtl_build / "vivado" / "bd.tcl").read_text()
    assert "edgepool:rtl:ep_accel:1.0" in hwh_like and "xilinx.com:hls" not in hwh_like


@needs_tclsh
def test_rtl_build_sh_packages_the_ip_then_builds_the_block_design(rtl_build, tmp_path):
    b = tmp_path / "b"
    shutil.copytree(rtl_build, b)
    tools = make_stub_tools(tmp_path / "stubs")
    r = tools.run(b / "vivado" / "build.sh")
    assert r.returncode == 0, r.stdout + r.stderr
    calls = tools.calls()
    starts = [c for c in calls if c.startswith(("vivado ", "vitis_hls ")) and
              c.split()[1].endswith(".tcl")]
    assert starts == ["vivado ../rtl/package_ip.tcl", "vivado bd.tcl"]
    assert not any(c.startswith("vitis_hls") for c in calls)
    words = [shlex.split(c) for c in calls]
    pkg = next(w for w in words if w[1] == "ipx::package_project")
    assert Path(pkg[pkg.index("-root_dir") + 1]) == (b / "rtl" / "ip").resolve()
    assert pkg[pkg.index("-vendor") + 1] == "edgepool" and pkg[pkg.index("-library") + 1] == "rtl"
    added = [Path(w[-1]).name for w in words if w[1] == "add_files" and len(w) > 2]
    assert "ep_accel.sv" in " ".join(calls) and "ep_top.sv" in " ".join(calls), added
    regs = [w[2] for w in words if w[1] == "ipx::add_register"]
    m = json.loads((b / "manifest.json").read_text())
    assert sorted(regs) == sorted(m["regmap"]["accel"]["registers"])
    cell = next(w for w in words if w[1] == "create_bd_cell" and "-vlnv" in w and
                w[w.index("-vlnv") + 1].startswith("edgepool:"))
    assert cell[-2:] == ["edgepool:rtl:ep_accel:1.0", "edgepool_0"]
    joined = "\n".join(calls)
    assert "edgepool_0/s_axis" in joined and "edgepool_0/m_axis" in joined
    assert "edgepool_0/s_axi_control/Reg" in joined          # address map of the IP
    assert "ctrl_interconnect/M01_AXI" in joined             # DMA + IP control slaves
    assert "launch_runs impl_1 -to_step write_bitstream" in joined


# --------------------------------------------------------------------------- HLS engine build
def test_hls_engine_build_keeps_the_hls_ip(hls_build):
    m = json.loads((hls_build / "manifest.json").read_text())
    assert m["engine"]["name"] == "hls" and m["engine"]["requested"] == "hls"
    assert m["engine"].get("estimate") is None
    assert m["regmap"]["ips"]["accel"]["vlnv"].startswith("xilinx.com:hls:")
    # the HLS dataflow top has the RTL IP's ap_ctrl_hs block: one driver path for both
    assert m["regmap"]["ips"]["accel"]["control"] == "ap_ctrl_hs"
    assert "s_axilite port = return" in (hls_build / "hls" / "edgepool_top.cpp").read_text()
    assert "## Engine" in (hls_build / "report.md").read_text()


def test_rtl_model_refuses_a_build_whose_bitstream_holds_the_hls_ip(hls_build):
    from edgepool.errors import ManifestError
    from edgepool.runtime import pynq_driver as D

    with pytest.raises(ManifestError, match="--engine rtl"):
        D.EdgepoolAccelerator(hls_build, sim="rtl")


@needs_tclsh
def test_hls_build_sh_runs_vitis_then_vivado(hls_build, tmp_path):
    b = tmp_path / "b"
    shutil.copytree(hls_build, b)
    tools = make_stub_tools(tmp_path / "stubs")
    r = tools.run(b / "vivado" / "build.sh")
    assert r.returncode == 0, r.stdout + r.stderr
    calls = tools.calls()
    starts = [c for c in calls if c.startswith(("vivado ", "vitis_hls ")) and
              c.split()[1].endswith(".tcl")]
    assert starts == ["vitis_hls ../hls/run_hls.tcl", "vivado bd.tcl"]
    joined = "\n".join(calls)
    assert "csynth_design" in joined and "export_design" in joined
    assert "package_project" not in joined
    assert "-vlnv xilinx.com:hls:" in joined and "edgepool_0/in_stream" in joined


def test_hwh_describes_the_chosen_ip(rtl_build, hls_build):
    from edgepool.accel.regmap import block_design_hwh

    for build, vlnv in ((rtl_build, "edgepool:rtl:ep_accel:1.0"),
                        (hls_build, "xilinx.com:hls:edgepool_top:1.0")):
        m = json.loads((build / "manifest.json").read_text())
        hwh = block_design_hwh(m["regmap"], design="edgepool", part="xczu3eg-sbva484-1-e",
                               clock_mhz=200.0)
        assert f'VLNV="{vlnv}"' in hwh
        assert '<REGISTER NAME="CTRL">' in hwh           # the one ap_ctrl_hs block of both


def test_synth_results_reach_the_report(tmp_path, monkeypatch, program):
    """``--synth`` wiring (Yosys itself is exercised in tests/rtl/test_rtl_synth.py; on LeNet it
    takes tens of minutes): the counts of the synthesized IP land in the engine section and in
    report.md's Engine table, labelled as Yosys counts."""
    from edgepool.accel.manifest import EngineSection, Manifest, ModelSection, TargetSection
    from edgepool.build import engine as E
    from edgepool.build.report import write_report
    from edgepool.codegen.synth import SynthReport
    from edgepool.targets import get_target

    seen = {}

    def fake_synth(prog, folds, target, workdir, ltp):
        seen.update(target=target, workdir=workdir, layers=len(folds))
        return SynthReport("lenet", target, 100, {"LUT6": 70, "FDRE": 50, "DSP48E2": 9,
                                                  "RAMB18E2": 2}, 0, 7)

    monkeypatch.setattr(E, "synth_accel", fake_synth)
    sec = E.synthesize(tmp_path, program, None, get_target("ultra96"),
                       EngineSection("rtl", "auto: test", "dataflow"))
    assert seen == {"target": "xcup", "workdir": tmp_path / "synth",
                    "layers": len(program.layers)}
    assert sec.synth["LUT"] == 70 and sec.synth["DSP"] == 9 and sec.synth["logic_depth_lut6"] == 7
    m = Manifest(target=TargetSection("ultra96", "fpga"), engine=sec,
                 model=ModelSection(name="lenet", source="x", inputs=(), outputs=()))
    write_report(m, None, tmp_path / "report.md")
    text = (tmp_path / "report.md").read_text()
    assert "yosys synth_xilinx -family xcup" in text and "| 70 | 50 | 9 |" in text
