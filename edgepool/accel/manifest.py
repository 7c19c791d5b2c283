# SPDX-License-Identifier: Apache-2.0
"""A build directory's ``manifest.json`` and accelerator program, read in one place.

The build writes the manifest; executors, the simulated device and the PYNQ driver (also in
the standalone board package) read it through these functions, so a missing or corrupt file is
always the same typed :class:`~edgepool.errors.ManifestError` naming the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ManifestError
from . import regmap as R
from .config import OverlayParams
from .program import HostSplit, HwProgram, program_from_json

MANIFEST = "manifest.json"


def load_manifest(build_dir: Path | str) -> dict[str, Any]:
    """Read a build directory's manifest.json with typed errors."""
    p = Path(build_dir) / MANIFEST
    if not p.exists():
        raise ManifestError(f"{str(build_dir)!r} is not a build directory (no {MANIFEST})",
                            "create one with `edgepool build MODEL --target T -o DIR`")
    try:
        m = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise ManifestError(f"{p} is corrupt: {e}", "rebuild the directory") from None
    for key in ("target", "stages", "format"):
        if key not in m:
            raise ManifestError(f"{p} lacks {key!r}: not written by this edgepool version",
                                "rebuild the directory")
    return m


def read_accelerator_manifest(path: Path | str) -> dict[str, Any]:
    """``manifest.json`` of a build or bundle directory, checked for what the driver needs."""
    p = Path(path) / MANIFEST
    if not Path(path).is_dir():
        raise ManifestError(f"{str(path)!r} is not a directory",
                            "pass a build directory (edgepool build -o DIR) or an unzipped "
                            "bundle")
    if not p.exists():
        raise ManifestError(f"{str(path)!r} is not a build or bundle directory (no {MANIFEST})",
                            "build one with `edgepool build MODEL --target ultra96 -o DIR`")
    try:
        m = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError(f"{p} is corrupt: {e}", "rebuild or re-copy the bundle") from None
    if not isinstance(m, dict):
        raise ManifestError(f"{p} is not a JSON object", "rebuild or re-copy the bundle")
    for key in ("format", "target", "model", "host", "program"):
        if key not in m:
            raise ManifestError(f"{p} lacks {key!r}: not an accelerator build (the 'lower' stage "
                                "did not run?)", "rebuild with `edgepool build ... --target "
                                "ultra96`")
    if m["target"].get("kind") != "fpga":
        raise ManifestError(f"{p} was built for {m['target'].get('name')!r}, a CPU target",
                            "the PYNQ driver runs FPGA builds; use the NEON runtime for CPU ones")
    if m.get("partition", {}).get("cpu_layers"):
        raise ManifestError(f"{p}: the model has layers on the CPU "
                            f"({', '.join(m['partition']['cpu_layers'])}), which this driver "
                            "does not run", "run it through the NEON build (edgepool build "
                            "--target cortex-a53) or make every layer accelerator-lowerable")
    return m


def family_of(manifest: dict[str, Any]) -> str:
    """PS family (``zynquplus`` / ``zynq``) of the build's part."""
    part = manifest["target"].get("part", "")
    if part.startswith("xczu"):
        return "zynquplus"
    if part.startswith("xc7z"):
        return "zynq"
    raise ManifestError(f"part {part!r} is not a Zynq device", "build for a PYNQ board")


def hls_config(manifest: dict[str, Any]) -> dict[str, Any]:
    """The chosen HLS configuration (``manifest['config']['hls']``), or {} before the dse stage."""
    cfg = manifest.get("config", {})
    h = cfg.get("hls") if isinstance(cfg, dict) else None
    return h if isinstance(h, dict) else {}


def regmap_of(manifest: dict[str, Any]) -> dict[str, Any]:
    """The validated register map: ``manifest['regmap']`` or the default for the build."""
    if "regmap" in manifest:
        return R.validate_regmap(manifest["regmap"])
    cfg = hls_config(manifest)
    return R.default_regmap(cfg.get("style", "dataflow"), family_of(manifest),
                            dma_bits=int(cfg.get("dma_bits", 64)))


def overlay_params(manifest: dict[str, Any]) -> OverlayParams:
    """Overlay capacities from the build's HLS configuration."""
    return OverlayParams.from_mapping(hls_config(manifest))


def load_program(build_dir: Path | str) -> tuple[HwProgram, HostSplit]:
    """The accelerator program and host split stored in a build directory."""
    build_dir = Path(build_dir)
    m = load_manifest(build_dir)
    try:
        desc = json.loads((build_dir / "program.json").read_text())
        blob = (build_dir / "program.bin").read_bytes()
    except (OSError, json.JSONDecodeError) as e:
        raise ManifestError(f"{build_dir}: program.json/program.bin missing or corrupt ({e})",
                            "rebuild the directory") from None
    host = HostSplit.from_dict(m["host"])
    return program_from_json(desc, blob), host
