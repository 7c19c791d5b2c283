# SPDX-License-Identifier: Apache-2.0
"""`edgepool build --target ultra96` through the hls and vendor stages, then the generated HLS
design in C simulation (g++) on whole test sets, bit-exact against the golden interpreter:
both shipped models (lenet-digits, lenet-mnist) at 8 and 16 bits: every (model, bits) runs its
WHOLE test set once (digits-8: 360 images with the dse's choice, digits-16: 360 on the overlay,
mnist-8: 1000 with the dse's choice = the overlay, mnist-16: 1000 on the dataflow design) and
the other style on the first 64 images; and a model whose names are hostile to C++ / Tcl /
paths. A whole test set is simulated in shards of at most 200 images, one test each (the
mnist ones took 4-8 minutes as single tests; as shards pytest-xdist spreads them over the
workers and none is near the 3-minute bound); every shard of one design reads the same
session-wide build (``shared_build`` in tests/conftest.py) and the same compiled testbench
(the content-addressed cache of edgepool.toolchain.cached_build), and
test_shards_cover_whole_test_sets checks the shards add up to every image."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

import edgepool
import edgepool.build as B
from edgepool import toolchain
from edgepool.accel.folding import default_config
from edgepool.accel.manifest import ConfigSection
from edgepool.codegen.hls import csim
from edgepool.config import BuildConfig
from edgepool.runtime.executors import (
    ReferenceExecutor,
    get_executor,
    host_inputs,
    host_outputs,
    run_build,
)

pytestmark = pytest.mark.csim

MODELS = toolchain.REPO_ROOT / "models"
DIGITS8 = MODELS / "lenet-digits" / "lenet-digits.onnx"
DIGITS16 = MODELS / "lenet-digits" / "lenet-digits-w16.onnx"
MNIST = MODELS / "lenet-mnist" / "lenet-mnist.onnx"
MNIST16 = MODELS / "lenet-mnist" / "lenet-mnist-w16.onnx"
SUBSET = 64
SHARD = 200                       # images per C-simulation test (see the module docstring)
HOSTILE = ['"; rm -rf / #', "}]; exec touch /tmp/pwned; [list {", "../../etc/passwd",
           "line\nbreak", "ünïcödé-λ", "__reserved", "int", "a b\tc", "$(id)`id`", "\\\\x00"]


def _pin_style(style: str):
    """A dse stage that pins the accelerator style to the default configuration of ``style``
    (as the real stage does, it sets ``ctx.hls_config`` and the manifest's ``config``)."""

    def stage(ctx) -> None:
        ctx.hls_config = default_config(ctx.program, ctx.target.clocks["default_mhz"], style)
        ctx.manifest.config = ConfigSection(hls=ctx.hls_config,
                                            summary={"source": f"pinned {style} (test)"})
    return stage


def _build(model: Path, out: Path, style: str | None, monkeypatch) -> dict:
    """Build ``model`` for ultra96 with the real stage list; ``style`` pins the dse choice."""
    assert B.STAGES["fpga"] == ("import", "place", "lower", "dse", "engine", "hls", "rtl",
                                "vendor", "cpu-segments", "bundle", "report")
    if style is not None:
        monkeypatch.setitem(B.REGISTRY, "dse",
                            dataclasses.replace(B.REGISTRY["dse"], run=_pin_style(style)))
    res = B.build(model, "ultra96", out, force=True)
    return res.manifest


def _pinned_build(style: str | None):
    """``shared_build``'s build function: the real stage list, the dse pinned to ``style``
    and the HLS engine in the block design (None: the real dse and engine choice)."""
    def build(model: Path, target: str, out: Path) -> None:
        with pytest.MonkeyPatch.context() as mp:
            if style is not None:
                mp.setitem(B.REGISTRY, "dse",
                           dataclasses.replace(B.REGISTRY["dse"], run=_pin_style(style)))
            B.build(model, target, out, force=True,
                    config=BuildConfig(engine="hls") if style is not None else None)
    return build


def _check_exact(out: Path, model: Path, lo: int = 0, hi: int | None = None) -> int:
    """One C simulation of test images ``lo:hi``: its codes == the reference executor's, and
    through the host's dequantization == the golden interpreter on the model file."""
    data = np.load(model.parent / "test.npz")
    x = data["x"][lo:hi]
    m = json.loads((out / "manifest.json").read_text())
    codes = host_inputs(m, x)
    ex = get_executor(out, "csim")
    assert isinstance(ex, csim.CsimExecutor)
    got = ex.run_codes(codes)
    ref = ReferenceExecutor(out, m).run_codes(codes)
    assert got.dtype.kind == "i" and got.shape == ref.shape
    assert np.array_equal(got, ref), f"{int((got != ref).sum())} codes differ"
    want = edgepool.load(model).run(x)
    have = host_outputs(m, got)
    want = want if isinstance(want, dict) else {m["host"]["output"]: want}
    assert set(have) == set(want)
    for k, v in want.items():
        assert np.array_equal(np.asarray(have[k]), np.asarray(v)), k
    return len(x)


def test_lenet_digits_8bit_real_dse(tmp_path: Path) -> None:
    """The default flow (dse chooses the configuration) on all 360 test images."""
    m = B.build(DIGITS8, "ultra96", tmp_path / "b", force=True).manifest
    out = tmp_path / "b"
    assert m["hls"]["style"] == m["config"]["hls"]["style"]
    assert _check_exact(out, DIGITS8) == 360
    x = np.load(DIGITS8.parent / "test.npz")["x"][:8]         # `edgepool run OUT --backend csim`
    have, want = run_build(out, x, "csim"), run_build(out, x, "reference")
    assert all(np.array_equal(have[k], want[k]) for k in want)
    # the design the vendor stage and the driver see (the default engine: RTL for both
    # styles where it can implement the configuration, whose IP has the ap_ctrl_hs block)
    assert m["regmap"]["style"] == m["hls"]["style"]
    assert m["engine"]["name"] == ("hls" if m["engine"]["rtl_problems"] else "rtl")
    assert m["dma"]["input_bytes"] > 0 and m["dma"]["output_bytes"] > 0
    for f in m["files"]["hls"] + m["files"]["vivado"]:
        assert (out / f).is_file(), f
    if toolchain.which("vivado") is None:
        assert any("./build.sh" in s for s in m["next_steps"])
        assert m["vendor"]["built"] is False


CASES = {"digits8-dataflow": (DIGITS8, "dataflow", SUBSET),
         "digits8-overlay": (DIGITS8, "overlay", SUBSET),
         "digits16-dataflow": (DIGITS16, "dataflow", SUBSET),
         "digits16-overlay": (DIGITS16, "overlay", None),
         "mnist-dataflow": (MNIST, "dataflow", SUBSET),
         "mnist-dse-overlay": (MNIST, None, None),
         "mnist16-dataflow": (MNIST16, "dataflow", None),
         "mnist16-overlay": (MNIST16, "overlay", SUBSET)}


def _test_set_size(model: Path) -> int:
    return len(np.load(model.parent / "test.npz")["y"])


def _shards() -> list:
    """(case, lo, hi) per test: ``n`` None = the whole test set in shards of SHARD images."""
    out = []
    for name, (model, _, n) in CASES.items():
        total = _test_set_size(model) if n is None else n
        for lo in range(0, total, SHARD):
            hi = min(lo + SHARD, total)
            out.append(pytest.param(name, lo, hi, id=f"{name}-{lo}:{hi}"))
    return out


def test_shards_cover_whole_test_sets() -> None:
    """The shards of a whole-test-set case add up to every image of it, exactly once."""
    for name, (model, _, n) in CASES.items():
        got = [i for p in _shards() if p.values[0] == name for i in range(*p.values[1:])]
        assert got == list(range(_test_set_size(model) if n is None else n)), name
    assert {_test_set_size(m) for m, _, n in CASES.values() if n is None} == {360, 1000}


@pytest.mark.parametrize("case,lo,hi", _shards())
def test_build_csim_exact(shared_build, case: str, lo: int, hi: int) -> None:
    """Test images ``lo:hi`` of ``case`` (model, style, images; see CASES) through the C
    simulation of its build. ``style`` None: the real dse chooses (the overlay for lenet-mnist:
    channel padding, a 32-bit raw-accumulator output, FC weight streaming); that build is the
    session's one ``mnist_ultra96``, shared with tests/runtime."""
    model, style, _ = CASES[case]
    name = "lenet-mnist-ultra96" if (model, style) == (MNIST, None) else f"hls-{case}"
    out = shared_build(model, "ultra96", name, _pinned_build(style))
    m = json.loads((out / "manifest.json").read_text())
    if style is None:
        style = m["config"]["hls"]["style"]
        assert style == "overlay" and m["estimates"]["dsp"] > 0
    assert m["hls"]["style"] == style
    assert m["regmap"]["ips"]["accel"]["control"] == "ap_ctrl_hs"    # both styles, engines
    assert _check_exact(out, model, lo, hi) == hi - lo
    if model == DIGITS16 and lo == 0:   # the final accumulator leaves the int32 range: 64-bit
        x = np.load(model.parent / "test.npz")["x"][:40]
        ref = ReferenceExecutor(out, m).run_codes(host_inputs(m, x))
        assert np.abs(ref).max() > 2**31


def _hostile_model(tmp_path: Path) -> Path:
    proto = onnx.load(DIGITS8)
    proto.graph.name = HOSTILE[0] + HOSTILE[1]
    for i, node in enumerate(proto.graph.node):
        node.name = HOSTILE[i % len(HOSTILE)] + ("" if i < len(HOSTILE) else str(i))
    path = tmp_path / "evil model; $(id).onnx"
    onnx.save(proto, path)
    shutil.copyfile(DIGITS8.parent / "test.npz", tmp_path / "test.npz")
    return path


def test_hostile_names_are_sanitized(tmp_path: Path, monkeypatch) -> None:
    model = _hostile_model(tmp_path)
    out = tmp_path / "b"
    m = _build(model, out, "dataflow", monkeypatch)
    generated = [out / f for f in m["files"]["hls"] + m["files"]["vivado"]
                 if not f.endswith(".bin") and "/include/" not in f and "/tb/" not in f]
    assert generated
    needles = ["rm -rf", "exec touch", "etc/passwd", "$(id)", "`id`", "\\x00", "ünï", "λ"]
    for f in generated:
        text = f.read_text()
        if f.suffix == ".json":        # data, not code: names kept, JSON-escaped
            json.loads(text)
            continue
        for s in needles:
            assert s not in text, (f, s)
    meta = json.loads((out / "hls" / "design.json").read_text())
    for info in meta["layers"]:       # a name is kept only when it already is an identifier
        plain = re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", info["name"]) is not None
        assert (info["ident"] == info["name"]) == plain, info
    for f in out.joinpath("hls").iterdir():          # file names are plain too
        assert re.fullmatch(r"[A-Za-z0-9_.]+", f.name), f.name
    # every identifier the generator derived from a name is a plain C identifier
    idents = [info["ident"] for info in json.loads((out / "hls" / "design.json").read_text())
              ["layers"]]
    assert len(set(idents)) == len(idents)
    for ident in idents:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident), ident
    assert _check_exact(out, model, 0, 24) == 24


@pytest.mark.vivado
@pytest.mark.slow
def test_vendor_flow_builds_bitstream(tmp_path: Path) -> None:
    """With Vitis HLS + Vivado on PATH the vendor stage runs csim, csynth, cosim, export, the
    block design and implementation, and records the bitstream + hardware handoff."""
    out = tmp_path / "b"
    m = B.build(DIGITS8, "ultra96", out, force=True).manifest
    assert m["vendor"]["built"] is True
    assert (out / "vivado" / "edgepool.bit").stat().st_size > 0
    assert "edgepool_0" in (out / "vivado" / "edgepool.hwh").read_text()
    assert m["bitstream"] == "vivado/edgepool.bit"
