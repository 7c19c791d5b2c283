# SPDX-License-Identifier: Apache-2.0
"""The staged build driver: --to / --from, atomic output directories, manifest, config."""

import dataclasses
import json
from pathlib import Path

import pytest

import edgepool.build as B
from edgepool.config import BuildConfig
from edgepool.errors import ConfigError, ManifestError, ToolchainError

MODEL = Path(__file__).resolve().parents[2] / "models" / "lenet-digits" / "lenet-digits.onnx"


def test_to_then_from(tmp_path):
    out = tmp_path / "b"
    r = B.build(MODEL, "ultra96", out, to_stage="lower")
    assert r.stages == ["import", "place", "lower"]
    m = json.loads((out / "manifest.json").read_text())
    assert m["stages"] == ["import", "place", "lower"] and m["build_config"]["target"] == "ultra96"
    assert (out / "program.json").exists() and not (out / "report.md").exists()
    r = B.build(MODEL, "ultra96", out, from_stage="dse", to_stage="dse",
                config=BuildConfig(style="overlay"))
    m = json.loads((out / "manifest.json").read_text())
    assert m["stages"] == ["import", "place", "lower", "dse"]
    assert m["config"]["summary"]["style"] == "overlay"      # new settings apply and are recorded
    assert m["build_config"]["style"] == "overlay"
    B.build(MODEL, "ultra96", out, from_stage="dse", to_stage="dse")
    m = json.loads((out / "manifest.json").read_text())
    assert m["config"]["summary"]["style"] == "overlay"      # no settings: the recorded ones
    assert not (tmp_path / "b.partial").exists()


def test_failed_stage_leaves_nothing(tmp_path, monkeypatch):
    def boom(ctx):
        (ctx.out / "half-written.txt").write_text("x")
        raise ToolchainError("simulated failure")

    monkeypatch.setitem(B.REGISTRY, "dse", dataclasses.replace(B.REGISTRY["dse"], run=boom))
    out = tmp_path / "b"
    with pytest.raises(ToolchainError):
        B.build(MODEL, "ultra96", out)
    assert not out.exists() and not (tmp_path / "b.partial").exists()


def test_existing_dir_needs_force(tmp_path):
    out = tmp_path / "b"
    out.mkdir()
    (out / "keep.txt").write_text("user data")
    with pytest.raises(ConfigError, match="--force"):
        B.build(MODEL, "ultra96", out, to_stage="import")
    assert (out / "keep.txt").read_text() == "user data"


def test_resume_needs_manifest_and_known_stage(tmp_path):
    with pytest.raises(ManifestError):
        B.build(MODEL, "ultra96", tmp_path / "nothing", from_stage="dse")
    with pytest.raises(ConfigError, match="stages"):
        B.build(MODEL, "ultra96", tmp_path / "x", to_stage="synthesize")


def test_build_config_validation():
    with pytest.raises(ConfigError):
        BuildConfig(style="systolic")
    with pytest.raises(ConfigError):
        BuildConfig(margin=1.5)
    c = BuildConfig(style="overlay", clock_mhz=200.0)
    assert BuildConfig.from_dict(c.to_dict()) == c
