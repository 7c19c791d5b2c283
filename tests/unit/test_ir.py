# SPDX-License-Identifier: Apache-2.0
"""IR: printer snapshot, checkpoint round trip, verifier, every listed pass runs, lowering."""

from pathlib import Path

import numpy as np
import pytest

import edgepool
from edgepool.errors import VerifyError
from edgepool.ir import serialize
from edgepool.ir.graph import Node
from edgepool.ir.qtype import QType
from edgepool.ir.verify import verify
from edgepool.passes import pipelines

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "lenet-digits" / "lenet-digits.onnx"
SNAP = ROOT / "tests" / "golden" / "snapshots" / "lenet-digits.ir.txt"


def test_printer_snapshot():
    """The canonical IR of the shipped model is stable (update the snapshot on purpose only:
    EDGEPOOL_UPDATE_SNAPSHOTS=1; a missing snapshot is a failure, never written silently)."""
    import os

    text = str(edgepool.load(MODEL))
    if os.environ.get("EDGEPOOL_UPDATE_SNAPSHOTS") == "1":
        SNAP.parent.mkdir(parents=True, exist_ok=True)
        SNAP.write_text(text)
    assert SNAP.exists(), f"snapshot {SNAP} is missing: write it on purpose with " \
                          "EDGEPOOL_UPDATE_SNAPSHOTS=1 and review it"
    assert text == SNAP.read_text()


def test_checkpoint_roundtrip(tmp_path):
    g = edgepool.load(MODEL)
    p = serialize.save(g, tmp_path / "ck.onnx")
    g2 = serialize.load(p)
    assert str(g2) == str(g)
    x = np.load(ROOT / "models" / "lenet-digits" / "test.npz")["x"][:50]
    assert np.array_equal(g.run(x), g2.run(x))
    import onnx

    onnx.checker.check_model(onnx.load(str(p)))        # Netron-openable, valid ONNX


def test_every_listed_pass_runs():
    """Import, then both lowerings: every pass of every phase in pipelines.py is executed."""
    pipelines.TRACE.clear()
    g = edgepool.load(MODEL)
    for target in pipelines.TARGETS:
        pipelines.lower(g, target)
    listed = [f"{ph}.{p.__name__}" for ph, ps in pipelines.PHASES.items() for p in ps]
    assert {"canonicalize", "fuse", "lower-fabric", "lower-cpu"} <= set(pipelines.PHASES)
    missing = [name for name in listed if name not in pipelines.TRACE]
    assert listed and not missing, missing


def test_passes_change_what_they_promise():
    from edgepool.frontend import import_onnx

    raw = import_onnx(MODEL)
    canon = edgepool.load(MODEL)
    assert "Relu" in raw.ops() and "Relu" not in canon.ops()
    assert any(n.op == "Requant" and n.attr("relu") for n in canon.nodes)
    x = np.load(ROOT / "models" / "lenet-digits" / "test.npz")["x"]
    assert np.array_equal(raw.run(x), canon.run(x))


def test_verifier_reports_bad_graphs():
    g = edgepool.load(MODEL)
    conv = next(n for n in g.nodes if n.op == "Conv")
    bad = g.replace(nodes=tuple(n.with_(attrs={**n.attrs, "strides": (2, 2)}) if n is conv else n
                                for n in g.nodes))
    with pytest.raises(VerifyError, match="op infers"):
        verify(bad)
    dup = g.replace(nodes=g.nodes + (Node("x", "Relu", (g.nodes[-1].outputs[0],),
                                          (g.nodes[0].outputs[0],)),))
    with pytest.raises(VerifyError):
        verify(dup)


def test_qtype_parse_roundtrip_and_ranges():
    for t in (QType(8, True, 7), QType(8, False, 8), QType(16, True, 14, True), QType(4, True, -2)):
        assert QType.parse(str(t)) == t
    assert (QType(8, True, 0, True).min, QType(8, True, 0).min, QType(8, False).max) == (-127, -128,
                                                                                          255)


def test_lowered_program_equals_interpreter():
    from edgepool.accel.lower import lower_to_hw, run_lowered

    # every shipped model: the dse's word-length study measures their accuracy this way
    for f in sorted(str(p.relative_to(ROOT / "models"))
                    for p in (ROOT / "models").glob("lenet-*/*.onnx")):
        g = edgepool.load(ROOT / "models" / f)
        program, host = lower_to_hw(g)
        x = np.load(ROOT / "models" / f.split("/")[0] / "test.npz")["x"][:40]
        assert np.array_equal(run_lowered(program, host, x), g.run(x))


def test_lowering_rejects_grouped_conv_with_all_offenders():
    """A depthwise conv cannot go to the accelerator: a typed error names the node."""
    from onnx import TensorProto, helper, numpy_helper

    from edgepool.accel.lower import lower_to_hw
    from edgepool.errors import UnsupportedOpError

    def q(name, x, scale, bits, signed=1, narrow=0):
        return [helper.make_node("Quant", [x, f"{name}_s", "zero", f"{name}_b"], [name],
                                 domain="qonnx.custom_op.general", signed=signed, narrow=narrow,
                                 name=name)], [
            numpy_helper.from_array(np.array(scale, np.float32), f"{name}_s"),
            numpy_helper.from_array(np.array(bits, np.float32), f"{name}_b")]
    rng = np.random.default_rng(0)
    nodes, inits = [], [numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
                        numpy_helper.from_array(rng.integers(-8, 8, (4, 1, 3, 3)).astype(
                            np.float32) / 16, "w")]
    for n_, i_ in (q("xq", "x", 2.0 ** -6, 8), q("wq", "w", 2.0 ** -4, 8, narrow=1)):
        nodes += n_
        inits += i_
    nodes.append(helper.make_node("Conv", ["xq", "wq"], ["y"], group=4, pads=[1, 1, 1, 1],
                                  name="depthwise"))
    g = helper.make_graph(nodes, "dw", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                       [1, 4, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(g)
    graph = edgepool.load(model)                 # the interpreter runs it
    x = rng.random((2, 4, 6, 6)).astype(np.float32)
    assert graph.run(x).shape == (2, 4, 6, 6)
    with pytest.raises(UnsupportedOpError, match="depthwise"):
        lower_to_hw(graph)
