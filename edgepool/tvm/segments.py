# SPDX-License-Identifier: Apache-2.0
"""The CPU segments of a heterogeneous (fabric + Cortex-A53) build.

Each CPU segment of a :class:`~edgepool.tvm.placement.Placement` is a graph of its own
(:func:`~edgepool.tvm.placement.segment_graph`: its inputs are the boundary tensors it reads —
several when a skip connection crosses the fabric segment — and its outputs those it hands on),
compiled exactly like a ``cortex-a53`` build by :func:`edgepool.tvm.build.compile_model`
(Relax import, NEON BYOC, TVM LLVM for the rest, one shared library + runner per segment):

    checkpoints/segment_<i>.onnx     every segment's graph (fabric ones too)
    cpu/seg<i>/                      model_<triple>.so, runner, lib/, model_io.h, relax.txt
    cpu/hetero/                      the whole graph as ONE Relax module (fabric_byoc.py):
                                     model_<triple>.so, relax.txt, generated NEON + fabric C

The x86 libraries the tests and ``edgepool run --backend`` use off the board are compiled on
demand (:func:`compile_segment`, cached by :func:`edgepool.toolchain.cached_build`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .. import toolchain
from ..ir import serialize
from ..ir.graph import Graph
from .build import THREADS, _key, compile_model
from .fabric_byoc import compile_hetero
from .placement import CPU, Placement, segment_graph


def checkpoint(i: int) -> tuple[str, str]:
    """Path parts of segment ``i``'s graph in a build directory."""
    return ("checkpoints", f"segment_{i}.onnx")


def save_segments(fg: Graph, placement: Placement, build_dir: Path) -> list[str]:
    """Write every segment's graph; returns the relative paths."""
    files = []
    for s in placement.segments:
        p = Path(build_dir).joinpath(*checkpoint(s.index))
        p.parent.mkdir(parents=True, exist_ok=True)
        serialize.save(segment_graph(fg, s.nodes, s.index), p)
        files.append("/".join(checkpoint(s.index)))
    return files


def load_segment(build_dir: Path, i: int) -> Graph:
    """Segment ``i``'s graph from its checkpoint."""
    return serialize.load(Path(build_dir).joinpath(*checkpoint(i)))


def compile_segment(sg: Graph, triple: str, out: Path, cache_key: bytes) -> dict:
    """Compile one CPU segment into ``out`` (cached under ``cache_key`` + the segment)."""
    return compile_model(sg, triple, out, offload=True,
                         cache_key=cache_key + f"|segment={sg.name}".encode())


def build_cpu_segments(fg: Graph, placement: Placement, triple: str, build_dir: Path,
                       cache_key: bytes) -> dict:
    """The build's ``cpu-segments`` step: ``cpu/seg<i>/`` for each CPU segment; returns the
    manifest's ``cpu_segments`` section."""
    segs = []
    for s in placement.segments:
        if s.device != CPU:
            continue
        sg = segment_graph(fg, s.nodes, s.index)
        info = compile_segment(sg, triple, Path(build_dir) / "cpu" / f"seg{s.index}", cache_key)
        segs.append({"index": s.index, "dir": f"cpu/seg{s.index}",
                     "graph": "/".join(checkpoint(s.index)), "inputs": list(s.inputs),
                     "outputs": list(s.outputs), "cpu": info,
                     "files": [f"cpu/seg{s.index}/{f}" for f in info["files"]]})
    hetero = compile_hetero_cached(fg, placement, triple, Path(build_dir) / "cpu" / "hetero",
                                   cache_key)
    return {"triple": triple, "segments": segs, "hetero": hetero}


def compile_hetero_cached(fg: Graph, placement: Placement, triple: str, out: Path,
                          cache_key: bytes) -> dict:
    """:func:`edgepool.tvm.fabric_byoc.compile_hetero` through the build cache."""
    key = _key(cache_key + b"|hetero|" + repr(placement.segments).encode(), triple, True)
    cached = toolchain.cached_build(
        "cpu", key, lambda tmp: compile_hetero(fg, placement, triple, tmp,
                                              THREADS.get(triple, 1)))
    out.mkdir(parents=True, exist_ok=True)
    for f in sorted(cached.iterdir()):
        shutil.copy2(f, out / f.name)
    lib = f"model_{triple}.so"
    return {"dir": "cpu/hetero", "library": lib,
            "files": [f"cpu/hetero/{f.name}" for f in sorted(out.iterdir())]}
