# SPDX-License-Identifier: Apache-2.0
"""HLS / Vivado code generation is deterministic and matches the reviewed snapshot of
lenet-digits (tests/golden/snapshots/hls/); the generated Tcl parses and runs against stub
vendor commands in a real Tcl interpreter; hostile names never reach generated text.

Update the snapshot on purpose only: ``EDGEPOOL_UPDATE_SNAPSHOTS=1 pytest <this file>``."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest
from stubtcl import StubTcl

import edgepool
from edgepool import toolchain
from edgepool.accel.folding import default_config
from edgepool.accel.lower import lower_to_hw
from edgepool.accel.regmap import DATAFLOW_CONTROL, default_regmap
from edgepool.codegen.hls import generate
from edgepool.codegen.names import IdentTable, c_ident, check_safe, comment_text
from edgepool.codegen.vendor import write_vivado
from edgepool.errors import ConfigError
from edgepool.targets import get_target

MODEL = toolchain.REPO_ROOT / "models" / "lenet-digits" / "lenet-digits.onnx"
SNAP = Path(__file__).parent / "snapshots" / "hls"
UPDATE = os.environ.get("EDGEPOOL_UPDATE_SNAPSHOTS") == "1"
HOSTILE = ['"; rm -rf / #', "}]; exec touch /tmp/pwned; [list {", "../../etc/passwd",
           "line\nbreak", "ünïcödé-λ", "", "0starts_with_digit", "int", "__x", "a" * 300]


def _generate(out: Path, style: str, board: str = "ultra96") -> dict[str, bytes]:
    """Generate hls/ and vivado/ for lenet-digits into ``out``; every generated file's bytes
    (the copied library excluded: it is tested where it lives)."""
    program, _ = lower_to_hw(edgepool.load(MODEL))
    tgt = get_target(board)
    cfg = default_config(program, tgt.clocks["default_mhz"], style)
    meta = generate(program, cfg, out / "hls", model_name=program.name, board=tgt)
    rm = default_regmap(style, tgt.family, top=meta["top"], dma_bits=cfg.dma_bits,
                        control=DATAFLOW_CONTROL)
    write_vivado(out, meta, rm, tgt, comment_text(program.name))
    files = {}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out).as_posix()
        if p.is_file() and "/include/" not in rel and "/tb/" not in rel:
            files[rel] = p.read_bytes()
    return files


def _snapshot_view(files: dict[str, bytes]) -> dict[str, bytes]:
    """Text files as they are; binary files (weights, test vectors) as their sha256."""
    view, sums = {}, []
    for name, data in files.items():
        if name.endswith(".bin"):
            sums.append(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
        else:
            view[name] = data
    view["SHA256SUMS"] = "".join(sums).encode()
    return view


@pytest.mark.parametrize("style", ["dataflow", "overlay"])
def test_generation_is_deterministic_and_matches_snapshot(tmp_path: Path, style: str) -> None:
    a = _generate(tmp_path / "a", style)
    b = _generate(tmp_path / "b", style)
    assert a == b, "two generations differ"
    view = _snapshot_view(a)
    snap = SNAP / "lenet-digits" / style
    if UPDATE:
        for name, data in view.items():
            (snap / name).parent.mkdir(parents=True, exist_ok=True)
            (snap / name).write_bytes(data)
    stored = {p.relative_to(snap).as_posix(): p.read_bytes() for p in sorted(snap.rglob("*"))
              if p.is_file()}
    assert sorted(stored) == sorted(view), "file list differs from the snapshot"
    for name in view:
        assert view[name] == stored[name], (
            f"{style}/{name} differs from tests/golden/snapshots/hls (regenerate on purpose with "
            "EDGEPOOL_UPDATE_SNAPSHOTS=1)")


@pytest.mark.parametrize("style,board", [("dataflow", "ultra96"), ("overlay", "ultra96"),
                                         ("dataflow", "pynq-z2"), ("overlay", "zcu104")])
def test_tcl_runs_against_stub_tools(tmp_path: Path, style: str, board: str) -> None:
    _generate(tmp_path, style, board)
    tgt = get_target(board)
    calls = StubTcl().run(tmp_path / "hls" / "run_hls.tcl")
    names = [c[0] for c in calls]
    for cmd in ("open_project", "set_top", "add_files", "open_solution", "set_part",
                "create_clock", "csim_design", "csynth_design", "cosim_design",
                "export_design"):
        assert cmd in names, cmd
    assert ["set_part", tgt.part] in calls
    period = f"{1000.0 / tgt.clocks['default_mhz']:.3f}"
    assert ["create_clock", "-period", period, "-name", "default"] in calls
    top = "edgepool_top" if style == "dataflow" else "edgepool_overlay"
    assert ["set_top", top] in calls
    # bd.tcl: fake the HLS IP folder and the implementation results the script copies
    (tmp_path / "hls" / "edgepool_hls" / "solution1" / "impl" / "ip").mkdir(parents=True)
    runs = tmp_path / "vivado" / "edgepool_vivado" / "edgepool_vivado.runs" / "impl_1"
    runs.mkdir(parents=True)
    (runs / "edgepool_wrapper.bit").write_bytes(b"bit")
    hwh = (tmp_path / "vivado" / "edgepool_vivado" / "edgepool_vivado.gen" / "sources_1" / "bd"
           / "edgepool" / "hw_handoff")
    hwh.mkdir(parents=True)
    (hwh / "edgepool.hwh").write_text("<hwh/>")
    calls = StubTcl().run(tmp_path / "vivado" / "bd.tcl")
    flat = [" ".join(c) for c in calls]
    assert any(c.startswith("create_project -force edgepool_vivado") and tgt.part in c
               for c in flat)
    assert any(tgt.ps_ip in c and "create_bd_cell" in c for c in flat)
    rm = default_regmap(style, tgt.family, top=top)
    accel = rm["ips"]["accel"]
    assert any(f"xilinx.com:hls:{top}:1.0 {accel['name']}" in c for c in flat)
    base = accel["base"] if style == "overlay" else rm["ips"]["dma"]["base"]
    assert any(c.startswith(f"assign_bd_address -offset 0x{base:08X}") for c in flat)
    if style == "dataflow":
        assert any("xilinx.com:ip:axi_dma axi_dma_0" in c for c in flat)
    for cmd in ("make_wrapper", "launch_runs", "wait_on_run", "validate_bd_design"):
        assert any(c.startswith(cmd) for c in flat), cmd
    assert (tmp_path / "vivado" / "edgepool.bit").read_bytes() == b"bit"
    assert (tmp_path / "vivado" / "edgepool.hwh").read_text() == "<hwh/>"


def test_identifier_mapping_is_strict_and_unique() -> None:
    table = IdentTable()
    idents = [table.get(n) for n in HOSTILE + HOSTILE[:3]]
    assert len(set(idents[:len(HOSTILE)])) == len(HOSTILE)
    assert idents[len(HOSTILE):] == idents[:3]           # stable per name
    for name, ident in zip(HOSTILE, idents, strict=False):
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident), ident
        assert len(ident) <= 48 and not ident.startswith("_")
        if name != ident:                                 # mangled names carry a hash
            assert re.search(r"_[0-9a-f]{8}$", ident), ident
    assert c_ident("conv0") == "conv0"
    assert c_ident("a-b") != c_ident("a_b") and c_ident("a.b") != c_ident("a-b")
    assert IdentTable({"x_cfg"}).get("x") == "x"
    for bad in HOSTILE[:5] + ["a b", "-rf", "x/../y", "{a}", "[x]", "$v"]:
        with pytest.raises(ConfigError):
            check_safe(bad)
    assert check_safe("avnet.com:ultra96v2:part0:1.2") == "avnet.com:ultra96v2:part0:1.2"
    for name in HOSTILE:
        assert re.fullmatch(r"[A-Za-z0-9_.+-]*", comment_text(name))


def _generate_hostile(tmp_path: Path, style: str) -> tuple[Path, dict]:
    """HLS + Vivado outputs of lenet-digits with hostile model, node and value names."""
    from hostile import HOSTILE, hostile_onnx

    hostile_onnx(MODEL, tmp_path / "m.onnx")
    program, _ = lower_to_hw(edgepool.load(tmp_path / "m.onnx", name="".join(HOSTILE)))
    tgt = get_target("ultra96")
    cfg = default_config(program, tgt.clocks["default_mhz"], style)
    out = tmp_path / "out"
    meta = generate(program, cfg, out / "hls", model_name=program.name, board=tgt)
    rm = default_regmap(style, tgt.family, top=meta["top"], dma_bits=cfg.dma_bits)
    write_vivado(out, meta, rm, tgt, comment_text(program.name))
    return out, meta


@pytest.mark.parametrize("style", ["dataflow", "overlay"])
def test_hostile_names_never_reach_hls_or_vivado(tmp_path: Path, style: str) -> None:
    """Model, node and value names hostile to C++ / Tcl / shell: no fragment of them in any
    generated HLS or Vivado text, and both Tcl scripts still run (stub vendor tools)."""
    from hostile import unsafe_fragments

    out, meta = _generate_hostile(tmp_path, style)
    texts = [p for p in out.rglob("*") if p.is_file() and p.suffix not in (".bin", ".json")]
    assert len(texts) >= 6
    for p in texts:
        assert unsafe_fragments(p.read_text()) == [], p
        assert re.fullmatch(r"[A-Za-z0-9_.]+", p.name), p.name
    assert ["set_top", meta["top"]] in StubTcl().run(out / "hls" / "run_hls.tcl")
    (out / "hls" / "edgepool_hls" / "solution1" / "impl" / "ip").mkdir(parents=True)
    runs = out / "vivado" / "edgepool_vivado" / "edgepool_vivado.runs" / "impl_1"
    runs.mkdir(parents=True)
    (runs / "edgepool_wrapper.bit").write_bytes(b"bit")
    hwh = (out / "vivado" / "edgepool_vivado" / "edgepool_vivado.gen" / "sources_1" / "bd"
           / "edgepool" / "hw_handoff")
    hwh.mkdir(parents=True)
    (hwh / "edgepool.hwh").write_text("<hwh/>")
    assert any(c[0] == "create_project" for c in StubTcl().run(out / "vivado" / "bd.tcl"))


@pytest.mark.csim
@pytest.mark.parametrize("style", ["dataflow", "overlay"])
def test_hostile_names_hls_sources_compile(tmp_path: Path, style: str) -> None:
    """The C++ generated for hostile names compiles (g++ -fsyntax-only, the csim flags)."""
    import subprocess

    from edgepool.codegen.hls.csim import CXXFLAGS

    out, meta = _generate_hostile(tmp_path, style)
    hls = out / "hls"
    srcs = [str(hls / s) for s in meta["sources"]] + [str(hls / "tb_edgepool.cpp")]
    cmd = [toolchain.require("g++"), *CXXFLAGS, "-fsyntax-only", "-isystem",
           toolchain.require("ap_types"), "-I", str(hls), "-I", str(hls / "include"), "-I",
           str(hls / "tb"), *srcs]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]


RTL_SNAP = Path(__file__).parent / "snapshots" / "rtl-engine" / "lenet-digits"
#: the vendor side of an RTL-engine build (the SystemVerilog itself is tested in tests/rtl/)
RTL_ENGINE_FILES = ("vivado/bd.tcl", "vivado/build.sh", "rtl/package_ip.tcl")


def _generate_rtl_engine(out: Path, board: str = "ultra96") -> dict[str, bytes]:
    """hls/ (the vendor stage reads its design.json), rtl/ and vivado/ of an RTL-engine
    dataflow build of lenet-digits with the default configuration."""
    from edgepool.build.engine import rtl_regmap
    from edgepool.codegen.rtl import build_rtl

    program, _ = lower_to_hw(edgepool.load(MODEL))
    tgt = get_target(board)
    cfg = default_config(program, tgt.clocks["default_mhz"], "dataflow")
    meta = generate(program, cfg, out / "hls", model_name=program.name, board=tgt)
    section, _ = build_rtl(program, out, cfg, tgt.clocks["default_mhz"], tgt.part)
    rm = rtl_regmap(tgt.family, section, cfg.dma_bits)
    write_vivado(out, meta, rm, tgt, comment_text(program.name), engine="rtl")
    return {f: (out / f).read_bytes() for f in RTL_ENGINE_FILES}


def test_rtl_engine_vendor_scripts_are_deterministic_and_match_snapshot(tmp_path: Path) -> None:
    a = _generate_rtl_engine(tmp_path / "a")
    assert a == _generate_rtl_engine(tmp_path / "b"), "two generations differ"
    if UPDATE:
        for name, data in a.items():
            (RTL_SNAP / name).parent.mkdir(parents=True, exist_ok=True)
            (RTL_SNAP / name).write_bytes(data)
    for name, data in a.items():
        assert (RTL_SNAP / name).read_bytes() == data, (
            f"{name} differs from tests/golden/snapshots/rtl-engine (regenerate on purpose with "
            "EDGEPOOL_UPDATE_SNAPSHOTS=1)")
