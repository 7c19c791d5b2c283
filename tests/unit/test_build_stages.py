# SPDX-License-Identifier: Apache-2.0
"""The build's stage table: every stage restores what it made (so ``--from`` resumes from each
stage of both target kinds and reproduces the same manifest), the table is consistent with the
context and the manifest, and a malformed manifest section is a typed ManifestError."""

from __future__ import annotations

import dataclasses
import json
import shutil
import typing
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import edgepool.build as B
from edgepool.accel import manifest as M
from edgepool.accel.program import program_to_json
from edgepool.build.context import BuildContext
from edgepool.build.stages import describe
from edgepool.cli import main as cli
from edgepool.config import BuildConfig
from edgepool.errors import ManifestError
from edgepool.targets import get_target
from edgepool.toolchain import REPO_ROOT

MODEL = REPO_ROOT / "models" / "lenet-digits" / "lenet-digits.onnx"
X = np.load(MODEL.parent / "test.npz")["x"][:16].astype(np.float32)
#: a small exploration (one style, one clock) keeps the dse stage to a few seconds
SETTINGS = BuildConfig(style="dataflow", clock_mhz=200.0, jobs=1)
VOLATILE = ("stage_seconds",)


def _stable(m: dict) -> dict:
    return {k: v for k, v in m.items() if k not in VOLATILE}


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    """The fpga stages run one by one on a context (as the driver does), with a snapshot of
    the context fields each stage made, right after it ran."""
    out = tmp_path_factory.mktemp("staged") / "b"
    out.mkdir()
    ctx = BuildContext(MODEL, get_target("ultra96"), out, out, None, SETTINGS)
    ctx.manifest = M.Manifest(target=M.TargetSection("ultra96", "fpga", part="xczu3eg-sbva484-1-e",
                                                     board_part="b", pynq_board="Ultra96"),
                              build_config=SETTINGS)
    made: dict[str, dict] = {}
    for name in B.STAGES["fpga"]:
        stage = B.REGISTRY[name]
        stage.run(ctx)
        ctx.manifest.stages.append(name)
        made[name] = {f: getattr(ctx, f) for f in stage.makes}
        ctx.write_manifest()
    return out, made


def _same(field: str, a, b) -> bool:
    """Equality of a restored context field with the one the stage made (independently: the
    graph by running both on test images, the program by its serialized form)."""
    if field == "graph":
        ya, yb = a.run(X), b.run(X)
        return all(np.array_equal(ya[k], yb[k]) for k in ya) if isinstance(ya, dict) \
            else np.array_equal(ya, yb)
    if field == "program":
        (da, ba), (db, bb) = program_to_json(a), program_to_json(b)
        return da == db and ba == bb
    return a == b


@pytest.mark.parametrize("name", B.STAGES["fpga"])
def test_each_stage_restores_what_it_made_and_its_sections_round_trip(staged, name):
    out, made = staged
    stage = B.REGISTRY[name]
    on_disk = _manifest(out)
    m = M.read_manifest(out)
    # (vendor writes either ``bitstream`` or ``next_steps``, depending on the tools)
    present = [s for s in stage.writes if getattr(m, s) not in (None, [], {})]
    assert len(present) >= min(2, len(stage.writes)), (name, present)
    for section in present:
        value = getattr(m, section)
        # encode(decode(json)) is the JSON on disk, decode(encode(x)) is x
        assert M.encode(value) == on_disk[section]
        hint = typing.get_type_hints(M.Manifest)[section]
        assert M.decode(hint, json.loads(json.dumps(M.encode(value))), section) == value
    ctx = BuildContext(MODEL, get_target("ultra96"), out, out, None, SETTINGS, manifest=m)
    stage.restore(ctx)
    for f, want in made[name].items():
        got = getattr(ctx, f)
        assert got is not None and _same(f, got, want), f"{name} restored another {f}"


def test_a_whole_manifest_round_trips(staged):
    out, _ = staged
    d = _manifest(out)
    assert M.Manifest.from_dict(d).to_dict() == d
    m = M.read_manifest(out)
    assert M.Manifest.from_dict(json.loads(json.dumps(m.to_dict()))) == m


def test_restore_needs_the_stage_outputs(staged, tmp_path):
    out, _ = staged
    b = tmp_path / "b"
    shutil.copytree(out, b)
    (b / "rtl" / "ep_top.sv").unlink()
    ctx = BuildContext(MODEL, get_target("ultra96"), b, b, manifest=M.read_manifest(b))
    with pytest.raises(ManifestError, match=r"(?s)rtl stage wrote are missing.*--from rtl"):
        B.REGISTRY["rtl"].restore(ctx)
    (b / "checkpoints" / "canonical.onnx").unlink()
    with pytest.raises(ManifestError, match="canonical.onnx is missing"):
        B.REGISTRY["import"].restore(ctx)


def test_the_table_matches_the_context_and_the_manifest():
    ctx_fields = {f.name for f in dataclasses.fields(BuildContext)}
    sections = {f.name for f in dataclasses.fields(M.Manifest)}
    writers: dict[str, str] = {}
    for name, stage in B.REGISTRY.items():
        assert stage.name == name and stage.doc and stage.kinds
        assert set(stage.needs) | set(stage.makes) <= ctx_fields, name
        assert set(stage.reads) | set(stage.writes) | set(stage.updates) <= sections, name
        assert not set(stage.updates) & set(stage.writes), name
        for s in stage.writes:
            assert s not in writers, f"{s!r} written by {writers.get(s)} and {name}"
            writers[s] = name
    table = describe().splitlines()
    assert [r.split()[0] for r in table[1:]] == list(B.REGISTRY)
    for kind, names in B.STAGES.items():
        assert names == tuple(n for n in B.REGISTRY if kind in B.REGISTRY[n].kinds)
        made: set[str] = set()
        written: set[str] = set()
        for n in names:              # every input is made by an earlier stage of the same kind
            assert set(B.REGISTRY[n].needs) <= made, (kind, n)
            assert set(B.REGISTRY[n].reads) <= written, (kind, n)
            made |= set(B.REGISTRY[n].makes)
            written |= set(B.REGISTRY[n].writes)


# --------------------------------------------------------------------------- --from X
@pytest.fixture(scope="module")
def fpga_build(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("fpga") / "b"
    B.build(MODEL, "ultra96", out, config=SETTINGS)
    return out, _manifest(out)


@pytest.mark.parametrize("name", B.STAGES["fpga"])
def test_from_every_fpga_stage_reproduces_the_build(fpga_build, name):
    out, first = fpga_build
    stages = B.STAGES["fpga"]
    res = B.build(MODEL, "ultra96", out, from_stage=name)
    assert res.stages == list(stages[stages.index(name):])
    again = _manifest(out)
    assert _stable(again) == _stable(first)
    assert set(again["stage_seconds"]) == set(stages)
    assert res.manifest == again and res.sections == M.read_manifest(out)
    assert not out.with_name("b.partial").exists()


@pytest.mark.tvm
def test_from_every_cpu_stage_reproduces_the_build(tmp_path):
    out = tmp_path / "c"
    B.build(MODEL, "x86", out)
    first = _manifest(out)
    stages = B.STAGES["cpu"]
    assert stages == ("import", "cpu", "report")
    for name in stages:
        res = B.build(MODEL, "x86", out, from_stage=name)
        assert res.stages == list(stages[stages.index(name):])
        assert _stable(_manifest(out)) == _stable(first)
    assert isinstance(M.read_manifest(out).cpu, M.CpuSection)


def test_from_a_stage_whose_inputs_never_ran_names_the_missing_stage(tmp_path):
    out = tmp_path / "b"
    B.build(MODEL, "ultra96", out, to_stage="lower")
    with pytest.raises(ManifestError, match=r"(?s)stage .vendor. needs regmap, hls.*--from hls"):
        B.build(MODEL, "ultra96", out, from_stage="vendor")
    assert (out / "program.json").exists() and not out.with_name("b.partial").exists()


# --------------------------------------------------------------------------- malformed sections
@pytest.mark.parametrize("section,damage,message", [
    ("rtl", lambda s: s.update(supported="yes"), r"section 'rtl'\.supported: expected true/false"),
    ("dma", lambda s: s.pop("beat_bytes"), r"section 'dma': field 'beat_bytes' is missing"),
    ("model", lambda s: s["inputs"][0].update(shape=[1, "x"]),
     r"section 'model'\.inputs\[0\]\.shape\[1\]: expected an integer"),
    ("config", lambda s: s["hls"].update(style="systolic"), r"'systolic' is not one of"),
    ("estimates", lambda s: s.update(watts=2.0), r"unknown field\(s\) 'watts'"),
    ("target", lambda s: s.update(kind="gpu"), r"section 'target'\.kind"),
    ("host", lambda s: s.update(input_type="q8"), r"host section is malformed"),
    ("build_config", lambda s: s.update(margin=3.0), r"section 'build_config'.*margin"),
])
def test_malformed_section_is_a_typed_error(staged, tmp_path, section, damage, message):
    out, _ = staged
    d = _manifest(out)
    damage(d[section])
    with pytest.raises(ManifestError, match=message) as e:
        M.Manifest.from_dict(d)
    assert e.value.hint                       # says how to fix it


def test_manifest_format_and_shape_errors(tmp_path):
    with pytest.raises(ManifestError, match="format 2 is not supported"):
        M.Manifest.from_dict({"format": 2, "target": {}, "stages": []})
    with pytest.raises(ManifestError, match="not a JSON object"):
        M.Manifest.from_dict([1, 2])
    with pytest.raises(ManifestError, match="no 'rtl' section"):
        M.Manifest().section("rtl")
    # keys of other versions are kept as read, and written back
    m = M.Manifest.from_dict({"format": 1, "stages": [], "partition": {"cpu_layers": ["fc"]}})
    assert m.cpu_layers == ("fc",) and m.to_dict()["partition"] == {"cpu_layers": ["fc"]}


def test_cli_resume_and_run_on_a_malformed_manifest_exit_2(fpga_build, tmp_path):
    out, first = fpga_build
    b = tmp_path / "b"
    shutil.copytree(out, b)
    bad = dict(first, rtl=dict(first["rtl"], files="rtl/ep_top.sv"))
    (b / "manifest.json").write_text(json.dumps(bad))
    r = CliRunner().invoke(cli, ["build", str(MODEL), "--target", "ultra96", "-o", str(b),
                                 "--from", "report"])
    assert r.exit_code == 2 and "section 'rtl'.files: expected a list" in r.output, r.output
    assert "Traceback" not in r.output and not (tmp_path / "b.partial").exists()
    np.save(tmp_path / "x.npy", X[:1])
    r = CliRunner().invoke(cli, ["run", str(b), "--input", str(tmp_path / "x.npy")])
    assert r.exit_code == 2 and "section 'rtl'" in r.output, r.output
