# SPDX-License-Identifier: Apache-2.0
"""Placement of layers on the fabric or the Cortex-A53 (edgepool.tvm.placement): costs, pins,
refusals, and the partitioned graph bit-exact with the golden interpreter (CPU segments through
TVM on x86 — NEON via SIMDe + TVM LLVM — and the fabric segment through the accelerator
program's golden model)."""

from __future__ import annotations

import numpy as np
import pytest
from hetero_graphs import depthwise_graph

import edgepool
import edgepool.tvm.placement
from edgepool import toolchain
from edgepool.accel.lower import lower_segment, unstream_output
from edgepool.accel.program import run_reference
from edgepool.errors import PlacementError
from edgepool.passes.pipelines import run_phase
from edgepool.targets import boards
from edgepool.tvm.placement import (
    CPU,
    FABRIC,
    check_boundaries,
    fused,
    place,
    reference_cpu,
    run_partitioned,
)

DIGITS = toolchain.REPO_ROOT / "models" / "lenet-digits"
ULTRA96 = boards()["ultra96"]


def _graph(**kw):
    return run_phase("canonicalize", depthwise_graph(**kw))


def _digits(n=None):
    d = np.load(DIGITS / "test.npz")
    return d["x"][:n]


def _fabric_ref(index, sg, x):
    prog, host = lower_segment(sg)
    return np.stack([unstream_output(run_reference(prog, np.moveaxis(img, 0, -1)), host)
                     for img in np.asarray(x)])


def test_depthwise_model_splits_and_beats_both():
    g = _graph(residual=False)
    p = place(g, ULTRA96)
    by = {la.name: la for la in p.layers}
    dw = next(la for la in p.layers if la.op == "FusedConv" and la.fabric_cycles is None)
    assert dw.device == CPU and "depthwise" in dw.reason
    assert by["quant0"].device == CPU and by["quant0"].engine == "host"
    assert p.fabric_segment is not None and p.heterogeneous
    assert p.fabric_only_us is None and "depthwise" in p.fabric_only_reason
    assert p.hetero_us <= p.cpu_only_us
    assert p.boundary_bytes == p.fabric_segment.in_bytes + p.fabric_segment.out_bytes > 0
    assert p.pipelined_us <= p.hetero_us
    check_boundaries(fused(g), p)
    assert "| conv1 | FusedConv | fabric | rtl |" in p.table()


@pytest.mark.parametrize("model", ["lenet-digits", "lenet-mnist"])
def test_shipped_models_hetero_not_worse(model):
    """The search includes the fabric-only and the CPU-only placements: the chosen one is never
    slower (estimated)."""
    g = edgepool.load(toolchain.REPO_ROOT / "models" / model / f"{model}.onnx")
    p = place(g, ULTRA96)
    assert p.fabric_only_us is not None
    assert p.hetero_us <= min(p.fabric_only_us, p.cpu_only_us) + 1e-9


def test_pins_steer_and_refuse():
    g = _graph(residual=False)
    p = place(g, ULTRA96, ["conv1=cpu"])
    by = {la.name: la for la in p.layers}
    assert by["conv1"].device == CPU and by["conv1"].pinned == CPU
    # a canonical node fused into a unit pins that unit (the conv's requantizer)
    p2 = place(g, ULTRA96, {"conv6": FABRIC})
    assert {la.name: la for la in p2.layers}["conv6"].device == FABRIC
    dw = next(n.name for n in fused(g).nodes if n.op == "FusedConv" and n.attrs["groups"] != 1)
    with pytest.raises(PlacementError, match=rf"{dw}.*depthwise"):
        place(g, ULTRA96, [f"{dw}=fabric"])
    with pytest.raises(PlacementError, match="nosuch"):
        place(g, ULTRA96, ["nosuch=cpu"])
    with pytest.raises(PlacementError, match="gpu"):
        place(g, ULTRA96, ["conv1=gpu"])
    with pytest.raises(PlacementError, match="one chain"):
        place(g, ULTRA96, ["conv1=fabric", "conv6=fabric"])
    with pytest.raises(PlacementError, match="host work"):
        place(g, ULTRA96, ["quant0=fabric"])


def test_pynq_z2_without_cpu_segments_refuses():
    g = _graph(residual=False)
    with pytest.raises(PlacementError, match="Cortex-A9|TVM runtime"):
        place(g, boards()["pynq-z2"], cpu_available=False)
    lenet = edgepool.load(DIGITS / "lenet-digits.onnx")
    p = place(lenet, boards()["pynq-z2"], cpu_available=False)
    assert p.fabric_only_us is not None


@pytest.mark.parametrize("kw,pins", [
    ({"residual": True}, ()),
    ({"residual": True, "branch": "conv"}, ("conv4=fabric",)),
])
def test_partitioned_reference_bit_exact(kw, pins):
    """Segments through the golden interpreter (CPU) and the accelerator program's golden
    model (fabric) equal the whole graph, on the lenet-digits test set."""
    g = _graph(**kw)
    fg = fused(g)
    p = place(g, ULTRA96, list(pins))
    if kw.get("branch") == "conv":           # the skip connection goes around the fabric
        last = p.segments[-1]
        assert last.device == CPU and len(last.inputs) == 2
    x = _digits()
    want = g.run(x)
    got = run_partitioned(fg, p, x, reference_cpu, _fabric_ref)
    assert np.array_equal(next(iter(got.values())), want)


def test_partitioned_tvm_x86_bit_exact(tmp_path):
    """CPU segments compiled by TVM for x86 (NEON BYOC through SIMDe + TVM LLVM), the fabric
    segment on the accelerator program's golden model: the whole lenet-digits test set."""
    from edgepool.tvm.runner import NeonExecutor
    from edgepool.tvm.segments import compile_segment

    g = _graph(residual=True, branch="conv")
    fg = fused(g)
    p = place(g, ULTRA96, ["conv4=fabric"])

    def run_cpu(index, sg, inputs):
        out = tmp_path / f"seg{index}"
        info = compile_segment(sg, "x86_64-linux-gnu", out, b"test-hetero")
        ex = NeonExecutor.__new__(NeonExecutor)
        from edgepool.accel.manifest import CpuSection, decode
        ex.info, ex.cpu_dir, ex.triple, ex.last_stats = (
            decode(CpuSection, info, "seg"), out, "x86_64-linux-gnu", {})
        return ex.run(inputs)

    x = _digits()
    got = run_partitioned(fg, p, x, run_cpu, _fabric_ref)
    assert np.array_equal(next(iter(got.values())), g.run(x))


@pytest.mark.parametrize("kw,pins", [
    ({"residual": True, "branch": "conv"}, ("conv4=fabric",)),
    ({"residual": True}, ()),
])
def test_one_relax_module_with_fabric_byoc(tmp_path, kw, pins):
    """The whole placed graph as ONE Relax module: CPU segments through the NEON BYOC + TVM
    LLVM (x86, SIMDe), the fabric segment an external function of relax.ext.edgepool_fabric
    calling the packed function edgepool.fabric.run (here: the program's golden model)."""
    from edgepool.tvm.fabric_byoc import compile_hetero, register_fabric, run_hetero_library

    g = _graph(**kw)
    fg = fused(g)
    p = place(g, ULTRA96, list(pins))
    info = compile_hetero(fg, p, "x86_64-linux-gnu", tmp_path)
    assert info["fabric_functions"] == 1
    fseg = p.fabric_segment
    calls = []

    def run_codes(seg, codes):
        calls.append(seg)
        sg = edgepool.tvm.placement.segment_graph(fg, fseg.nodes, fseg.index)
        return _fabric_ref(seg, sg, codes)

    register_fabric(run_codes)
    x = _digits(64)
    got = run_hetero_library(tmp_path / info["library"], x)
    assert np.array_equal(got, g.run(x))
    assert set(calls) == {fseg.index} and len(calls) == len(x)
    assert "edgepool.fabric.run" in (tmp_path / "edgepool_fabric_gen.c").read_text()
