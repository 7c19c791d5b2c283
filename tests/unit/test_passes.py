# SPDX-License-Identifier: Apache-2.0
"""Passes: the rewrite driver reaches fixed points on long chains and names diverging rules;
fusion follows producer/consumer edges (not node-list adjacency); every lowering is bit-exact
with the golden interpreter; EDGEPOOL_DEBUG dumps every pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import edgepool
from edgepool.accel.lower import lower_to_hw, run_lowered
from edgepool.errors import RewriteDivergedError, UnsupportedOpError
from edgepool.ir.graph import Graph, GraphBuilder, Node, Value
from edgepool.ir.ops import OPS
from edgepool.ir.qtype import FLOAT, QType
from edgepool.ir.verify import verify
from edgepool.passes import pipelines
from edgepool.passes.rewrite import Rewrite, apply_rules, fresh_name

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "lenet-digits" / "lenet-digits.onnx"
W8 = QType(8, True, 6, narrow=True)
A8 = QType(8, True, 5)


def _add(b: GraphBuilder, op: str, inputs: list[str], **attrs) -> str:
    """Append one node; its output's shape and type come from the op's own rule."""
    name = f"{op.lower()}{len(b.nodes)}"
    out = b.fresh(name + "_out")
    node = Node(name, op, tuple(inputs), (out,), attrs)
    (shape, qtype), = OPS[op].infer(node, [b.values[i] for i in inputs],
                                    [b.constants.get(i) for i in inputs])
    b.add_value(Value(out, tuple(shape), qtype))
    b.add_node(node)
    return out


def _input(b: GraphBuilder, shape, t: QType = A8) -> str:
    b.add_value(Value("x", shape, FLOAT))
    b.inputs.append("x")
    return _add(b, "Quant", ["x"], type=t)


def chain(layers: int, seed: int = 0, channels: int = 3) -> Graph:
    """Quant → (Conv 3×3 → Relu → Requant) × ``layers`` → Dequant, random small weights."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder(f"chain{layers}")
    x = _input(b, (1, channels, 6, 6))
    for i in range(layers):
        w = b.add_const(f"w{i}", rng.integers(-40, 41, (channels, channels, 3, 3)), W8)
        bias = b.add_const(f"b{i}", rng.integers(-200, 201, (channels,)), QType(16, True, 11))
        acc = _add(b, "Conv", [x, w, bias], pads=(1, 1, 1, 1))
        r = _add(b, "Relu", [acc])
        x = _add(b, "Requant", [r], type=QType(8, True, 5))
    b.outputs.append(_add(b, "Dequant", [x]))
    return verify(b.build())


def test_200_layer_chain_converges_and_runs_bit_exact():
    """200 Relu→Requant pairs (the old driver stopped at 100 rewrites in all) fold in one
    phase; fused and lowered forms equal the raw graph on the interpreter."""
    raw = chain(200)
    x = np.random.default_rng(1).uniform(-2, 2, (3, 3, 6, 6)).astype(np.float32)
    ref_all = raw.run(x, keep_all=True)
    ref = raw.run(x)
    # the test is only meaningful if the chain carries information to its end
    last_codes = ref_all[raw.producer(raw.outputs[0]).inputs[0]]
    assert len(np.unique(last_codes)) > 5

    canon = pipelines.run_phase("canonicalize", raw)
    assert "Relu" not in canon.ops()
    assert sum(n.op == "Requant" and n.attr("relu") for n in canon.nodes) == 200
    assert np.array_equal(canon.run(x), ref)
    for target in pipelines.TARGETS:
        low = pipelines.lower(canon, target)
        assert low.ops().count("FusedConv") == 200 and "Conv" not in low.ops()
        assert np.array_equal(low.run(x), ref)
    program, host = lower_to_hw(canon)
    assert len(program.layers) == 200
    assert np.array_equal(run_lowered(program, host, x), ref)


def _toggle_on(g: Graph, n: Node):
    if n.op == "Requant" and not n.attr("relu"):
        return Rewrite([n], [n.with_(attrs={**n.attrs, "relu": True})], {})
    return None


def _toggle_off(g: Graph, n: Node):
    if n.op == "Requant" and n.attr("relu"):
        return Rewrite([n], [n.with_(attrs={**n.attrs, "relu": False})], {})
    return None


def test_rules_that_undo_each_other_raise_a_typed_error_naming_them():
    g = pipelines.run_phase("canonicalize", chain(3))
    with pytest.raises(RewriteDivergedError, match="_toggle_on, _toggle_off") as e:
        apply_rules(g, [_toggle_on, _toggle_off], "toggle")
    assert "pass toggle" in str(e.value) and "undo each other" in str(e.value)


def test_a_rule_that_grows_forever_hits_the_bound(monkeypatch):
    from edgepool.passes import rewrite

    monkeypatch.setattr(rewrite, "REWRITES_PER_NODE", 4)    # a smaller bound: a faster test
    g = chain(2)

    def split_relu(gr: Graph, n: Node):
        """Never done: every Relu becomes two Relus (always a new graph)."""
        if n.op != "Relu":
            return None
        mid = fresh_name(gr, f"{n.outputs[0]}_half")
        v = gr.values[n.outputs[0]]
        first = Node(fresh_name(gr, f"{n.name}_a"), "Relu", n.inputs, (mid,))
        return Rewrite([n], [first, n.with_(inputs=(mid,))], {}, values={mid: v.__class__(
            mid, v.shape, v.type)})

    with pytest.raises(RewriteDivergedError, match=r"more than \d+ rewrites .*split_relu"):
        apply_rules(g, [split_relu], "grow")


def _two_branch_graph(shared_acc: bool = False) -> tuple[Graph, np.ndarray]:
    """Two conv branches whose nodes interleave in the node list (conv1, conv2, requant1,
    requant2, …): a fused pair is never adjacent. With ``shared_acc`` conv1's accumulator also
    feeds a second Requant, so it must not be fused."""
    rng = np.random.default_rng(3)
    b = GraphBuilder("branches")
    x = _input(b, (1, 2, 7, 7))
    w1 = b.add_const("w1", rng.integers(-127, 128, (4, 2, 3, 3)), W8)
    w2 = b.add_const("w2", rng.integers(-127, 128, (4, 2, 3, 3)), W8)
    c1 = _add(b, "Conv", [x, w1], pads=(1, 1, 1, 1))
    c2 = _add(b, "Conv", [x, w2], pads=(1, 1, 1, 1))
    r1 = _add(b, "Requant", [c1], type=QType(8, True, 4), relu=True)
    r2 = _add(b, "Requant", [c2], type=QType(8, True, 4))
    p1 = _add(b, "Pool", [r1], kind="max", kernel=(2, 2), strides=(2, 2))
    p2 = _add(b, "Pool", [r2], kind="max", kernel=(2, 2), strides=(2, 2))
    y = _add(b, "Add", [p1, p2])
    if shared_acc:
        r3 = _add(b, "Requant", [c1], type=QType(8, True, 3))
        p3 = _add(b, "Pool", [r3], kind="max", kernel=(2, 2), strides=(2, 2))
        y = _add(b, "Add", [y, p3])
    b.outputs.append(_add(b, "Dequant", [y]))
    x_in = rng.uniform(-3, 3, (2, 2, 7, 7)).astype(np.float32)
    return verify(b.build()), x_in


def test_fusion_follows_edges_not_node_order():
    g, x = _two_branch_graph()
    assert [n.op for n in g.nodes][1:5] == ["Conv", "Conv", "Requant", "Requant"]
    for target, fused_pools in (("cpu", 2), ("fabric", 2)):
        low = pipelines.lower(g, target)
        fused = [n for n in low.nodes if n.op == "FusedConv"]
        assert len(fused) == 2 and sum(bool(n.attr("pool")) for n in fused) == fused_pools
        assert "Requant" not in low.ops() and "Pool" not in low.ops()
        assert np.array_equal(low.run(x), g.run(x))
    with pytest.raises(UnsupportedOpError, match="chain"):
        lower_to_hw(g)                                 # branches do not run on the fabric


def test_an_accumulator_read_twice_is_not_fused():
    g, x = _two_branch_graph(shared_acc=True)
    low = pipelines.lower(g, "cpu")
    assert low.ops().count("FusedConv") == 1           # only conv2 (single consumer)
    assert low.ops().count("Conv") == 1 and low.ops().count("Requant") == 2
    assert np.array_equal(low.run(x), g.run(x))


def _fc_graph(trans_b: bool, pool: dict) -> tuple[Graph, np.ndarray]:
    rng = np.random.default_rng(5)
    b = GraphBuilder("fc")
    x = _input(b, (1, 3, 9, 9))
    w = b.add_const("w", rng.integers(-127, 128, (6, 3, 3, 3)), W8)
    c = _add(b, "Conv", [x, w], strides=(2, 2), pads=(0, 1, 1, 0))
    r = _add(b, "Requant", [c], type=QType(8, False, 4), relu=True)
    p = _add(b, "Pool", [r], **pool)
    f = _add(b, "Flatten", [p], axis=1)
    k = b.values[f].shape[1]
    wg = b.add_const("wg", rng.integers(-127, 128, (5, k) if trans_b else (k, 5)),
                     QType(8, True, 7, narrow=True))
    y = _add(b, "Gemm", [f, wg], trans_b=trans_b)
    y = _add(b, "Requant", [y], type=QType(8, True, 3))
    wg2 = b.add_const("wg2", rng.integers(-127, 128, (5, 4)), QType(8, True, 7, narrow=True))
    y = _add(b, "Gemm", [y, wg2])
    b.outputs.append(_add(b, "Dequant", [y]))
    return verify(b.build()), rng.uniform(-3, 3, (4, 3, 9, 9)).astype(np.float32)


@pytest.mark.parametrize("trans_b", [True, False])
@pytest.mark.parametrize("pool", [
    {"kind": "avg", "kernel": (2, 2), "strides": (1, 1), "pads": (1, 0, 0, 1),
     "count_include_pad": False, "ceil_mode": True},
    {"kind": "max", "kernel": (3, 3), "strides": (2, 2)},
    {"kind": "avg", "global_": True},
])
def test_layout_passes_are_exact(trans_b, pool):
    """Channels-last flatten (Gemm columns permuted), OHWI conv weights, row-major FC weights
    and pool fusion: the lowered graph, the hardware program and the raw graph all agree."""
    g, x = _fc_graph(trans_b, pool)
    ref = g.run(x)
    fab = pipelines.lower(g, "fabric")
    flat = next(n for n in fab.nodes if n.op == "Flatten")
    assert flat.attr("channels_last")
    assert all(n.attr("trans_b") for n in fab.nodes if n.op == "FusedGemm")
    assert all(n.attr("weight_layout") == "OHWI" for n in fab.nodes if n.op == "FusedConv")
    assert np.array_equal(fab.run(x), ref)
    assert np.array_equal(pipelines.lower(g, "cpu").run(x), ref)
    program, host = lower_to_hw(g)
    assert [layer.kind for layer in program.layers] == ["conv", "conv", "conv"]
    assert program.layers[0].pool is not None and program.layers[0].pool.kind == pool["kind"]
    assert np.array_equal(run_lowered(program, host, x), ref)
    # lowering twice changes nothing
    assert str(pipelines.lower(fab, "fabric")) == str(fab)


def test_fused_ops_count_the_macs_of_their_parts():
    g = edgepool.load(MODEL)
    low = pipelines.lower(g, "fabric")

    def macs(gr):
        return sum(OPS[n.op].macs(n, [gr.values[i] for i in n.inputs],
                                  [gr.values[o] for o in n.outputs]) for n in gr.nodes)
    program, _ = lower_to_hw(g)
    assert macs(low) == macs(g) == sum(layer.macs for layer in program.layers) > 0


def test_debug_dumps_every_pass(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEPOOL_DEBUG", "1")
    monkeypatch.setenv("EDGEPOOL_DEBUG_DIR", str(tmp_path))
    g = edgepool.load(MODEL)
    pipelines.lower(g, "fabric")
    pipelines.lower(g, "cpu")
    names = sorted(p.name for p in tmp_path.iterdir())
    for phase in ("canonicalize", "fuse", "lower-fabric", "lower-cpu"):
        for i, p in enumerate(pipelines.PHASES[phase]):
            assert f"{g.name}.{phase}.{i:02d}.{p.__name__}.txt" in names
    last = tmp_path / f"{g.name}.lower-fabric.04.gemm_weights_rows.txt"
    assert last.read_text() == str(pipelines.lower(g, "fabric"))
    assert "FusedConv" in last.read_text() and "weight_layout=OHWI" in last.read_text()


def test_lowered_graphs_survive_a_checkpoint(tmp_path):
    """Fused ops and their attributes (None type, pool attrs, weight layout) serialize."""
    from edgepool.ir import serialize

    g = edgepool.load(MODEL)
    x = np.load(ROOT / "models" / "lenet-digits" / "test.npz")["x"][:20]
    for target in pipelines.TARGETS:
        low = pipelines.lower(g, target)
        back = serialize.load(serialize.save(low, tmp_path / f"{target}.onnx"))
        assert str(back) == str(low)
        assert np.array_equal(back.run(x), g.run(x))
