# SPDX-License-Identifier: Apache-2.0
"""``--engine auto|rtl|hls``: which accelerator IP a build puts into the bitstream, the refusal
of ``--engine rtl`` where the RTL cannot run the model (typed error, exit 2, nothing written),
and the vendor scripts of both engines executed up to the vendor boundary (tests/stubtcl.py:
``build.sh`` runs, ``package_ip.tcl`` / ``bd.tcl`` / ``run_hls.tcl`` are parsed and executed
by tclsh with the Xilinx commands recorded)."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from stubtcl import TCLSH, make_stub_tools

import edgepool.build as B
from edgepool.accel.engine import RTL_STYLES, HlsConfig, choose_engine
from edgepool.accel.lower import lower_to_hw
from edgepool.build.engine import rtl_overlay_problems, rtl_problems
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
def overlay_build(shared_build) -> Path:
    """lenet-digits built for Ultra96 with ``--style overlay`` (engine auto: the RTL overlay)."""
    def build(model: Path, target: str, out: Path) -> None:
        B.build(model, target, out, force=True, config=BuildConfig(style="overlay"))
    return shared_build(MODEL, "ultra96", "lenet-digits-ultra96-overlay", build)


@pytest.fixture(scope="module")
def overlay_hls_build(overlay_build, tmp_path_factory) -> Path:
    """The overlay build resumed from the engine stage with ``--engine hls``."""
    out = tmp_path_factory.mktemp("overlay-hls-engine") / "build"
    shutil.copytree(overlay_build, out)
    cfg = BuildConfig(**{**json.loads((out / "manifest.json").read_text())["build_config"],
                         "engine": "hls"})
    B.build(MODEL, "ultra96", out, from_stage="engine", config=cfg)
    return out


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
    assert RTL_STYLES["dataflow"] and RTL_STYLES["overlay"]
    auto = choose_engine("dataflow", "auto", [])
    assert auto.name == "rtl" and auto.reason.startswith("auto:")
    fallback = choose_engine("dataflow", "auto", ["layer 1 (conv): groups 2"])
    assert fallback.name == "hls" and "groups 2" in fallback.reason
    ov = choose_engine("overlay", "auto", [])
    assert ov.name == "rtl" and "overlay" in ov.reason
    ov_fallback = choose_engine("overlay", "auto", ["RTL overlay capacities: PE 4 ..."])
    assert ov_fallback.name == "hls" and "PE 4" in ov_fallback.reason
    assert choose_engine("dataflow", "hls", []).name == "hls"
    assert choose_engine("overlay", "hls", []).name == "hls"
    assert choose_engine("dataflow", "rtl", []).name == "rtl"
    assert choose_engine("overlay", "rtl", []).name == "rtl"
    with pytest.raises(EngineUnsupportedError) as e:
        choose_engine("overlay", "rtl", ["RTL overlay capacities: PE 4 ..."])
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


def test_rtl_overlay_problems_name_the_capacity(program):
    """The RTL overlay runs the HLS overlay's descriptors: what it refuses are capacities its
    datapath cannot be generated with (rtl_overlay.unsupported_reason)."""
    ok = HlsConfig(style="overlay", pe=8, simd=8)
    assert rtl_overlay_problems(program, ok) == [] and rtl_overlay_problems(program, None) == []
    bad = rtl_overlay_problems(program, HlsConfig(style="overlay", pe=4, simd=8))
    assert len(bad) == 1 and "PE 4 is not a multiple of SIMD 8" in bad[0]
    with pytest.raises(EngineUnsupportedError, match="PE 4"):
        choose_engine("overlay", "rtl", bad)


def test_rtl_overlay_problems_name_an_average_pool_beyond_the_divider(program):
    """The overlay's pool divider counts at most MAX_AVG_TAPS taps: a larger average pool is
    named with its layer and size before anything is generated."""
    from edgepool.accel.program import PoolSpec
    from edgepool.codegen.rtl_overlay import MAX_AVG_TAPS

    def with_pool(k: int):
        first = dataclasses.replace(program.layers[0],
                                    pool=PoolSpec("avg", (k, k), (k, k)))
        return dataclasses.replace(program, layers=(first, *program.layers[1:]))

    ok = HlsConfig(style="overlay", pe=8, simd=8)
    assert 31 * 31 <= MAX_AVG_TAPS < 32 * 32
    assert rtl_overlay_problems(with_pool(31), ok) == []
    bad = rtl_overlay_problems(with_pool(32), ok)
    assert len(bad) == 1 and "layer 0" in bad[0] and "32x32" in bad[0], bad
    with pytest.raises(EngineUnsupportedError, match="--engine hls"):
        choose_engine("overlay", "rtl", bad)


def test_engine_rtl_refused_exit_2_nothing_written(tmp_path, monkeypatch):
    """``--engine rtl`` on an overlay whose capacities the RTL overlay cannot implement (here:
    its check made to refuse whatever the dse picks) is EngineUnsupportedError, exit 2, and
    no build directory."""
    from edgepool.build import engine as E

    monkeypatch.setattr(E, "unsupported_reason", lambda p: f"PE {p.pe} refused by the test")
    out = tmp_path / "b"
    r = CliRunner().invoke(main, ["build", str(MODEL), "-t", "ultra96", "-o", str(out),
                                  "--style", "overlay", "--engine", "rtl", "--to", "engine",
                                  "-j", "1"])
    assert r.exit_code == 2, r.output
    assert "EngineUnsupportedError" in r.output and "--engine hls" in r.output
    assert "refused by the test" in r.output and "RTL overlay" in r.output
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


# --------------------------------------------------------------------------- RTL overlay build
OVL_VLNV = "edgepool:rtl:edgepool_overlay:1.0"


def test_overlay_build_chooses_the_rtl_overlay(overlay_build):
    m = json.loads((overlay_build / "manifest.json").read_text())
    e = m["engine"]
    assert e["name"] == "rtl" and e["style"] == "overlay" and e["requested"] == "auto"
    est = e["estimate"]
    assert est["model"] == "edgepool.dse.rtl_overlay_cost.program_cycles"
    assert est["latency_cycles"] == est["interval_cycles"] > 0
    rm = m["regmap"]
    assert rm["style"] == "overlay" and rm["ips"]["accel"]["vlnv"] == OVL_VLNV
    assert rm["accel"]["bundles"] == ["gmem"] and rm["accel"]["m_axi_bits"] == 128
    # one register layout for both overlay engines: the driver writes the same words
    from edgepool.accel.regmap import default_regmap
    assert rm["accel"]["registers"] == default_regmap("overlay")["accel"]["registers"]
    ovl = m["rtl"]["overlay"]
    assert ovl["vlnv"] == OVL_VLNV and ovl["package_tcl"] == "rtl/overlay/package_overlay_ip.tcl"
    for f in (*ovl["sources"], ovl["package_tcl"]):
        assert (overlay_build / f).is_file(), f
    assert m["next_steps"] and "package_overlay_ip.tcl" in m["next_steps"][0]
    assert "vitis_hls" not in m["next_steps"][0]
    bd = (overlay_build / "vivado" / "bd.tcl").read_text()
    assert OVL_VLNV in bd and "xilinx.com:hls" not in bd
    report = (overlay_build / "report.md").read_text()
    assert "RTL overlay cycle model" in report and "(estimated" in report
    assert "rtl/overlay/edgepool_overlay.sv" in report
    # the IP's resource estimate reaches the manifest and the report
    from edgepool.accel.engine import OverlayParams
    from edgepool.dse.rtl_overlay_cost import rtl_overlay_resources
    p = OverlayParams.from_mapping(m["config"]["hls"])
    assert {k: est[f"ip_{k.lower()}"] for k in ("LUT", "FF", "DSP", "BRAM36")} == \
        rtl_overlay_resources(p, True)
    assert "resources of the RTL overlay IP" in report


@needs_tclsh
@pytest.mark.parametrize("board,hp", [("ultra96", "S_AXI_HP0_FPD"), ("pynq-z2", "S_AXI_HP0")])
def test_overlay_build_sh_packages_the_rtl_overlay_then_builds_the_block_design(
        overlay_build, tmp_path, board, hp):
    b = tmp_path / "b"
    shutil.copytree(overlay_build, b)
    if board != "ultra96":            # the vendor scripts of the same design for another board
        from edgepool.accel.manifest import read_manifest
        from edgepool.build.engine import rtl_overlay_regmap
        from edgepool.codegen.hls import design_meta
        from edgepool.codegen.vendor import write_vivado
        from edgepool.targets import get_target

        tgt = get_target(board)
        ovl = read_manifest(b).rtl.overlay
        write_vivado(b, design_meta(b), rtl_overlay_regmap(tgt.family, ovl), tgt, "lenet",
                     engine="rtl", package=ovl.package_tcl)
    tools = make_stub_tools(tmp_path / "stubs")
    r = tools.run(b / "vivado" / "build.sh")
    assert r.returncode == 0, r.stdout + r.stderr
    calls = tools.calls()
    starts = [c for c in calls if c.startswith(("vivado ", "vitis_hls ")) and
              c.split()[1].endswith(".tcl")]
    assert starts == ["vivado ../rtl/overlay/package_overlay_ip.tcl", "vivado bd.tcl"]
    assert not any(c.startswith("vitis_hls") for c in calls)
    words = [shlex.split(c) for c in calls]
    pkg = next(w for w in words if w[1] == "ipx::package_project")
    assert Path(pkg[pkg.index("-root_dir") + 1]) == (b / "rtl" / "overlay" / "ip").resolve()
    assert pkg[pkg.index("-vendor") + 1] == "edgepool" and pkg[pkg.index("-library") + 1] == "rtl"
    joined = "\n".join(calls)
    assert "edgepool_overlay.sv" in joined and "ep_ovl_core.sv" in joined
    regs = [w[2] for w in words if w[1] == "ipx::add_register"]
    m = json.loads((b / "manifest.json").read_text())
    assert sorted(regs) == sorted(m["regmap"]["accel"]["registers"])
    assert sorted(regs) == sorted(m["rtl"]["overlay"]["registers"])
    cell = next(w for w in words if w[1] == "create_bd_cell" and "-vlnv" in w and
                w[w.index("-vlnv") + 1].startswith("edgepool:"))
    assert cell[-2:] == [OVL_VLNV, "edgepool_0"]
    assert "edgepool_0/m_axi_gmem" in joined and "m_axi_gmem_d" not in joined
    assert "edgepool_0/s_axi_control/Reg" in joined
    assert "ctrl_interconnect/M00_AXI" in joined and "axi_dma" not in joined
    assert hp in joined
    assert "launch_runs impl_1 -to_step write_bitstream" in joined


def test_overlay_engine_hls_keeps_the_hls_overlay(overlay_hls_build):
    m = json.loads((overlay_hls_build / "manifest.json").read_text())
    assert m["engine"]["name"] == "hls" and m["engine"]["style"] == "overlay"
    assert m["regmap"]["ips"]["accel"]["vlnv"] == "xilinx.com:hls:edgepool_overlay:1.0"
    assert "bundles" not in m["regmap"]["accel"]
    bd = (overlay_hls_build / "vivado" / "bd.tcl").read_text()
    assert "m_axi_gmem_w" in bd and "edgepool:rtl" not in bd
    assert "vitis_hls" in (overlay_hls_build / "vivado" / "build.sh").read_text()


def test_overlay_hwh_describes_the_chosen_ip(overlay_build, overlay_hls_build):
    from edgepool.accel.regmap import block_design_hwh

    for build, vlnv, masters in ((overlay_build, OVL_VLNV, ["m_axi_gmem"]),
                                 (overlay_hls_build, "xilinx.com:hls:edgepool_overlay:1.0",
                                  ["m_axi_gmem_d", "m_axi_gmem_w", "m_axi_gmem_a",
                                   "m_axi_gmem_o"])):
        m = json.loads((build / "manifest.json").read_text())
        hwh = block_design_hwh(m["regmap"], design="edgepool", part="xczu3eg-sbva484-1-e",
                               clock_mhz=200.0)
        assert f'VLNV="{vlnv}"' in hwh and '<REGISTER NAME="act_out">' in hwh
        got = sorted(set(re.findall(r'NAME="(m_axi_\w+)" TYPE="MASTER"', hwh)))
        assert got == sorted(masters)
