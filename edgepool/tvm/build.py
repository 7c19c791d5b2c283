# SPDX-License-Identifier: Apache-2.0
"""The build's ``cpu`` step (:func:`build_cpu`, ``edgepool build MODEL --target
cortex-a53|x86``) and the model compiler behind it.

``compile_model`` takes the canonical IR through :func:`edgepool.tvm.relax_import.graph_to_relax`,
offloads conv / pool / FC / requantize to the NEON kernel library with
:func:`edgepool.tvm.byoc.offload` (unless ``offload=False``: the TVM-LLVM-only baseline),
compiles the rest with ``relax.build`` for the target's LLVM triple and links everything —
TVM's objects, the generated C and the kernel sources — into one shared library with
``export_library(..., fcompile=...)``: ``aarch64-linux-gnu-gcc`` for ``cortex-a53`` (NEON
intrinsics), the host ``gcc`` with SIMDe for ``x86``. A small C++ runner (``neon/runner/runner.cc``
+ the generated ``model_io.h``) loads the library into TVM's Relax VM.

Build directory (``OUT/cpu/``)::

    edgepool_neon_gen.c     C emitted by relax.ext.edgepool_neon (offloaded layers)
    model_io.h              model inputs/outputs: names, shapes, dtypes, fixed-point types
    model_<triple>.so       the model library (Relax VM executable + kernels)
    runner.cc, runner       runner source and binary (runner MODEL.so IN.bin OUT.bin [REPEAT])
    lib/                    TVM runtime for the target (libtvm_runtime.so, libtvm_ffi.so)
    relax.txt               the partitioned Relax module (what runs where)

Compiled artifacts are cached by :func:`edgepool.toolchain.cached_build` (kind ``cpu``, under
``$EDGEPOOL_CACHE``, default ``~/.cache/edgepool``) under a hash of the model, the target, the
sources of this package and of the kernels, the TVM version and the compilers' versions.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import tvm
from tvm import relax

from .. import toolchain
from ..accel.manifest import CpuSection, decode
from ..codegen.emit import render
from ..codegen.names import comment_text
from ..errors import ToolchainError
from ..ir.graph import Graph
from . import byoc
from .relax_import import graph_to_relax, storage

NEON_DIR = toolchain.REPO_ROOT / "neon"
RUNNER_SRC = toolchain.REPO_ROOT / "neon" / "runner" / "runner.cc"
KERNEL_SOURCES = sorted((NEON_DIR / "src").glob("*.c"))
TVM_TARGETS = {
    "aarch64-linux-gnu": {"kind": "llvm", "mtriple": "aarch64-linux-gnu", "mcpu": "cortex-a53",
                          "mattr": ["+neon"]},
    "x86_64-linux-gnu": {"kind": "llvm", "mtriple": "x86_64-linux-gnu", "mcpu": "x86-64-v2"},
}
ARCH_FLAGS = {"aarch64-linux-gnu": ["-march=armv8-a", "-mtune=cortex-a53"],
              "x86_64-linux-gnu": ["-march=x86-64-v2"]}
CFLAGS = ["-O2", "-std=gnu11", "-fPIC", "-Wall", "-Wno-unused-function"]


# --------------------------------------------------------------------------- tools
def compilers(triple: str) -> tuple[str, str]:
    """(C compiler, C++ compiler) for ``triple``."""
    if triple == "aarch64-linux-gnu":
        return (toolchain.require("aarch64-linux-gnu-gcc"),
                toolchain.require("aarch64-linux-gnu-g++"))
    return toolchain.require("gcc"), toolchain.require("g++")


def runtime_lib_dirs(triple: str) -> list[str]:
    """Folders with libtvm_runtime.so and libtvm_ffi.so for ``triple``."""
    if triple == "aarch64-linux-gnu":
        dirs = toolchain.tvm_aarch64_libs()
        if dirs is None:
            raise ToolchainError("TVM's aarch64 runtime (libtvm_runtime.so, libtvm_ffi.so) is "
                                 "missing", "run `make setup` (extracts it into .venv/aarch64)")
        return dirs
    import tvm_ffi

    return [str(Path(tvm.__file__).parent / "lib"), str(Path(tvm_ffi.__file__).parent / "lib")]


def include_dirs() -> list[str]:
    """TVM / TVM-FFI / DLPack headers of the installed (host) wheels (target independent)."""
    import tvm_ffi.libinfo as fl

    return [str(Path(tvm.__file__).parent / "include"), fl.find_include_path(),
            fl.find_dlpack_include_path()]


def _run(cmd: list[str], what: str) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise ToolchainError(f"{what} failed ({res.returncode}): {' '.join(cmd[:3])} …\n"
                             f"{res.stderr[-4000:]}")


def make_fcompile(triple: str, with_kernels: bool):
    """An ``export_library`` compile function: TVM's objects + generated C (+ the kernels)."""
    cc, _ = compilers(triple)
    inc = [f"-I{NEON_DIR / 'include'}", f"-I{NEON_DIR / 'src'}"]
    if triple != "aarch64-linux-gnu":
        inc.append(f"-I{toolchain.require('simde')}")

    def fcompile(output: str, objects: list[str], options: list[str] | None = None,
                 **_: Any) -> None:
        srcs = [str(s) for s in KERNEL_SOURCES] if with_kernels else []
        cmd = ([cc, "-shared"] + CFLAGS + ARCH_FLAGS[triple] + inc + list(options or [])
               + list(objects) + srcs + ["-lm", "-pthread", "-o", output])
        _run(cmd, "linking the model library")

    fcompile.output_format = "so"  # type: ignore[attr-defined]
    return fcompile


# --------------------------------------------------------------------------- model I/O header
def model_io(graph: Graph) -> dict[str, Any]:
    """Inputs and outputs of the compiled ``main`` (what the runner reads and writes)."""
    def spec(name: str, src: str | None) -> dict[str, Any]:
        v = graph.values[name]
        d = {"name": name, "shape": [int(s) for s in v.shape], "dtype": storage(v.type),
             "type": str(v.type)}
        if src is not None:
            d["fixed_point"] = str(graph.values[src].type)
        return d

    ins = []
    for name in graph.inputs:
        cons = graph.consumers(name)
        q = next((c for c in cons if c.op == "Quant"), None)
        ins.append(spec(name, q.outputs[0] if q is not None else None))
    outs = []
    for name in graph.outputs:
        p = graph.producer(name)
        outs.append(spec(name, p.inputs[0] if p is not None and p.op == "Dequant" else None))
    return {"inputs": ins, "outputs": outs}


def model_io_header(graph: Graph, io: dict[str, Any]) -> str:
    """``model_io.h``: names, shapes, dtypes and fixed-point types of the model's I/O
    (rendered by ``templates/neon/model_io.h.j2``; names as escaped C string literals)."""
    groups = []
    for kind, key in (("input", "inputs"), ("output", "outputs")):
        items = [dict(name=s["name"], shape=[int(d) for d in s["shape"]],
                      elems=int(np.prod(s["shape"], dtype=np.int64)), dtype=s["dtype"],
                      fixed_point=s.get("fixed_point", s["type"])) for s in io[key]]
        groups.append(dict(kind=kind, up=kind.upper(), tensors=items))
    ndim = max(len(s["shape"]) for s in io["inputs"] + io["outputs"])
    return render("neon/model_io.h.j2", model_label=comment_text(graph.name),
                  model_name=graph.name, ndim=ndim, groups=groups)


# --------------------------------------------------------------------------- compile
#: threads per NEON kernel by target: the Cortex-A53 targets have four cores
THREADS = {"aarch64-linux-gnu": 4}


def _key(model_bytes: bytes, triple: str, offload: bool) -> str:
    here = Path(__file__).parent
    # the graph reaching TVM is lowered by the passes (phases fuse, lower-cpu) per ir/ops.py
    glue_src = [here.parent / "neon" / "glue.py",
                here.parent / "codegen" / "templates" / "neon" / "glue.c.j2"]
    srcs = glue_src + sorted(here.glob("*.py")) + sorted((here.parent / "passes").glob("*.py")) + [
        here.parent / "ir" / "ops.py", RUNNER_SRC] + KERNEL_SOURCES + sorted(
        (NEON_DIR / "src").glob("*.h")) + [NEON_DIR / "include" / "edgepool_neon.h"]
    return toolchain.content_key(files=srcs, texts=[model_bytes, triple, str(offload),
                                                    tvm.__version__],
                                 tools=compilers(triple))


def lib_name(triple: str) -> str:
    return f"model_{triple}.so"


def compile_model(graph: Graph, triple: str, out: Path, *, offload: bool = True,
                  cache_key: bytes | None = None,
                  tvm_target: dict[str, Any] | None = None) -> dict[str, Any]:
    """Compile ``graph`` for ``triple`` into folder ``out`` (layout in the module docstring);
    returns the manifest section. ``cache_key`` (e.g. the model file's bytes) enables the cache.
    ``tvm_target`` replaces the LLVM target TVM compiles for (same triple; e.g. the host CPU's
    ``mcpu`` for a baseline built for this machine), default ``TVM_TARGETS[triple]``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = dict(TVM_TARGETS[triple] if tvm_target is None else tvm_target)
    if cache_key is None:
        return _compile(graph, triple, out, offload, target)

    def build(tmp: Path) -> None:
        info = _compile(graph, triple, tmp, offload, target)
        (tmp / "info.json").write_text(json.dumps(info, indent=1, sort_keys=True))

    key = _key(cache_key + json.dumps(target, sort_keys=True).encode(), triple, offload)
    cached = toolchain.cached_build("cpu", key, build)
    for p in sorted(cached.iterdir()):
        if p.name == "info.json":
            continue
        dst = out / p.name
        if p.is_dir():
            shutil.copytree(p, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(p, dst)
    return json.loads((cached / "info.json").read_text())


def _compile(graph: Graph, triple: str, out: Path, offload: bool,
             target: dict[str, Any]) -> dict[str, Any]:
    mod = graph_to_relax(graph)
    if offload:
        mod, stats, csrc = byoc.offload(mod, THREADS.get(triple, 1))
        (out / "edgepool_neon_gen.c").write_text(csrc)
    else:
        # the TVM-only baseline: the layer functions go back into main (one flat module)
        mod = relax.transform.InlinePrivateFunctions()(mod)
        stats = byoc.offload_stats(mod)
        csrc = ""
    (out / "relax.txt").write_text(mod.script(show_meta=False))
    ex = relax.build(mod, tvm.target.Target(target))
    so = out / lib_name(triple)
    with tempfile.TemporaryDirectory(prefix="ep-cpu-") as td:
        ex.export_library(str(so), fcompile=make_fcompile(triple, offload and bool(csrc)),
                          workspace_dir=td)
    io = model_io(graph)
    (out / "model_io.h").write_text(model_io_header(graph, io))
    shutil.copyfile(RUNNER_SRC, out / "runner.cc")
    libdir = out / "lib"
    libdir.mkdir(exist_ok=True)
    for d, name in zip(runtime_lib_dirs(triple), ("libtvm_runtime.so", "libtvm_ffi.so")):
        shutil.copyfile(Path(d) / name, libdir / name)
    _, cxx = compilers(triple)
    cmd = ([cxx, "-std=c++17", "-O2"] + ARCH_FLAGS[triple] + [f"-I{out}"]
           + [f"-I{d}" for d in include_dirs()] + [str(out / "runner.cc"), f"-L{libdir}",
                                                   "-Wl,--no-as-needed", "-ltvm_runtime",
                                                   "-ltvm_ffi", "-Wl,-rpath,$ORIGIN/lib",
                                                   "-pthread", "-o", str(out / "runner")])
    _run(cmd, "compiling the runner")
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    return {"triple": triple, "offload": offload, "library": so.name, "runner": "runner",
            "runner_source": "runner.cc", "model_io": "model_io.h",
            "generated_c": "edgepool_neon_gen.c" if csrc else None, "io": io,
            "offloaded": {"external_functions": stats["external_functions"],
                          "composites": stats["composites"],
                          "kinds": stats["composite_kinds"]},
            "tvm_compiled": {"ops": stats["tvm_op_count"], "by_op": stats["tvm_ops"]},
            "files": files}


# --------------------------------------------------------------------------- the build step
def build_cpu(graph: Graph, triple: str, build_dir: Path, model_path: Path,
              bits: int | None = None) -> tuple[CpuSection, str]:
    """The build's ``cpu`` step: ``build_dir/cpu/`` for ``triple`` (cached under the model
    file's bytes and ``bits``); returns the manifest's ``cpu`` section and a note."""
    if triple not in TVM_TARGETS:
        raise ToolchainError(f"no CPU toolchain for triple {triple!r}",
                             f"CPU triples: {', '.join(TVM_TARGETS)}")
    out = Path(build_dir) / "cpu"
    key = Path(model_path).read_bytes() + f"|bits={bits}".encode()
    info = compile_model(graph, triple, out, offload=True, cache_key=key)
    info["files"] = ["cpu/" + f for f in info["files"]]
    native = triple != "aarch64-linux-gnu"
    run = f"./runner model_{triple}.so in.bin out.bin [REPEAT]"
    info["how_to_run"] = (
        f"cd OUT/cpu && {run}" if native else
        "scp -r OUT/cpu board:edgepool-cpu && ssh board 'cd edgepool-cpu && "
        f"{run}' (in.bin: float32 NCHW images back to back; off-board: qemu-aarch64 -L "
        "/usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=lib:/usr/aarch64-linux-gnu/lib ./runner …)")
    section = decode(CpuSection, info, "cpu")
    off = section.offloaded
    return section, (f"cpu: {off.composites} layers offloaded to the NEON kernels in "
                     f"{off.external_functions} external functions, "
                     f"{section.tvm_compiled.ops} Relax ops compiled by TVM (LLVM {triple})")
