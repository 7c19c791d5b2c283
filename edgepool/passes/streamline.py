# SPDX-License-Identifier: Apache-2.0
"""Streamlining: monotonic float chains between an integer accumulator and the next quantizer
become integer thresholds; float chains that end a network become one float64 affine head.

An imported graph holds a quantized layer's float tail as explicit ops::

    acc (integer codes) → Affine(scale) → [Mul|Div|Add|Sub const, BatchNorm, Clip, Relu]* → Quant

:func:`absorb_thresholds` replaces every such chain by one ``Threshold`` node. It first proves
the chain monotonic **per channel**: every op is weakly monotone in IEEE float64 (rounding is
monotone), non-decreasing except a multiplication or division by a negative constant, a negative
batch-norm scale or ``const − x``, which flip the direction. A channel whose direction is
flipped gets ``direction = −1`` (the op then thresholds ``−acc``). The thresholds are then
found **exactly**: the chain is evaluated in float64, op by op, on integer accumulator values,
and a binary search over the accumulator's whole range finds, per channel and output level, the
smallest integer that reaches that level. By monotonicity the Threshold op equals the float64
chain on *every* accumulator value (tests enumerate them); no float rounding guess is involved.

:func:`compose_float_heads` folds ``Affine → [Mul|Div|Add|Sub const, BatchNorm]*`` (a network's
float head: output scale, bias, TensorNorm) into one ``Affine`` whose constants are float64;
the host evaluates it in float64 and returns float32.

A chain that cannot be thresholded (a constant that is not per channel, a division by zero, a
zero variance with zero epsilon, a table that would not fit) raises
:class:`~edgepool.errors.UnsupportedOpError` naming the node and what would work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedOpError
from ..ir.graph import Graph, Node
from ..ir.ops import MAX_THRESHOLD_BITS, attrs_of
from ..ir.qtype import FLOAT, QType
from .rewrite import Rewrite, apply_rules

CHAIN_OPS = ("Mul", "Div", "Add", "Sub", "BatchNorm", "Clip", "Relu")
AFFINE_OPS = ("Mul", "Div", "Add", "Sub", "BatchNorm")

Step = Callable[[np.ndarray], np.ndarray]     # float64 (C, M) → float64 (C, M)


def _single_use(g: Graph, value: str) -> bool:
    return len(g.consumers(value)) == 1 and value not in g.outputs


def _fail(node: Node, reason: str, hint: str) -> UnsupportedOpError:
    return UnsupportedOpError([f"node {node.name!r} ({node.op}): {reason}"], hint)


_HINT = ("keep this layer's activation on the CPU as float (no quantizer after it), or make "
         "the chain per-channel affine (scales, biases, batch-norm, HardTanh/ReLU)")


def per_channel(c: np.ndarray, x_shape: tuple[int, ...], node: Node) -> np.ndarray:
    """A constant broadcast against a tensor of ``x_shape`` as a float64 vector along channel
    axis 1: shape (C,) or (1,) for per tensor; a typed error when it varies along another axis
    (then no per-channel threshold exists)."""
    c = np.asarray(c, np.float64)
    nd = max(len(x_shape), c.ndim)
    shape = (1,) * (nd - c.ndim) + tuple(c.shape)
    for ax, d in enumerate(shape):
        if d != 1 and ax != 1:
            raise _fail(node, f"constant of shape {tuple(c.shape)} varies along axis {ax} of "
                              f"the {list(x_shape)} tensor, not only per channel", _HINT)
    return c.reshape(-1) if c.size > 1 else c.reshape(1)


def channel_vector(c: np.ndarray) -> np.ndarray:
    """An Affine / BatchNorm constant (already a channel vector, axis 1) as float64 (C,) or
    (1,)."""
    return np.asarray(c, np.float64).reshape(-1)


def _col(v: np.ndarray) -> np.ndarray:
    return v.reshape(-1, 1)


@dataclass
class _Chain:
    """A float chain from an Affine on integer codes to its end, as float64 steps."""

    nodes: list[Node]            # Affine, ops..., [Quant]
    steps: list[Step]
    direction: np.ndarray        # (C,) or (1,): +1 non-decreasing, −1 non-increasing


def _const(g: Graph, name: str) -> np.ndarray | None:
    return g.constants.get(name)


def _step_of(g: Graph, n: Node, x: str, x_shape: tuple[int, ...]
             ) -> tuple[Step, np.ndarray] | None:
    """The float64 semantics of chain op ``n`` applied to value ``x`` and its monotone direction
    per channel (+1 / −1), or None when ``n`` is not a per-channel monotone op of ``x``."""
    if n.op in ("Mul", "Add", "Div", "Sub"):
        a, b = n.inputs
        if a == x and _const(g, b) is not None:
            cv, x_first = per_channel(_const(g, b), x_shape, n), True
        elif b == x and _const(g, a) is not None:
            cv, x_first = per_channel(_const(g, a), x_shape, n), False
        else:
            return None
        if not np.all(np.isfinite(cv)):
            raise _fail(n, "a non-finite constant (inf / NaN) makes the chain undefined", _HINT)
        c = _col(cv)
        if n.op == "Add":
            return (lambda v: v + c), np.ones_like(cv)
        if n.op == "Mul":
            return (lambda v: v * c), np.where(cv < 0, -1.0, 1.0)
        if n.op == "Sub":
            if x_first:
                return (lambda v: v - c), np.ones_like(cv)
            return (lambda v: c - v), -np.ones_like(cv)
        if not x_first:
            raise _fail(n, "division of a constant by the activation is not monotonic (it "
                           "changes direction at 0)", _HINT)
        if np.any(cv == 0):
            raise _fail(n, "division by zero", _HINT)
        return (lambda v: v / c), np.where(cv < 0, -1.0, 1.0)
    if n.op == "BatchNorm":
        if n.inputs[0] != x:
            return None
        ps = [_const(g, i) for i in n.inputs[1:5]]
        if any(p is None for p in ps):
            return None
        gamma, beta, mean, var = (_col(channel_vector(p)) for p in ps)
        if not all(np.all(np.isfinite(p)) for p in (gamma, beta, mean, var)):
            raise _fail(n, "a batch-norm parameter is not finite", "re-export the model")
        eps = np.float64(attrs_of(n)["epsilon"])
        den = np.sqrt(var + eps)
        if np.any(~np.isfinite(den)) or np.any(den == 0):
            raise _fail(n, "variance + epsilon is zero or negative in some channel: the "
                           "normalization is undefined", "re-export with a positive batch-norm "
                           "epsilon (PyTorch's default is 1e-5)")
        # the ONNX order of operations, in float64: each step is monotone
        return ((lambda v: (v - mean) / den * gamma + beta),
                np.where(gamma.reshape(-1) < 0, -1.0, 1.0))
    if n.op == "Clip":
        lo = attrs_of(n)["min"]
        hi = attrs_of(n)["max"]
        lo = -np.inf if lo is None else float(lo)
        hi = np.inf if hi is None else float(hi)
        return (lambda v: np.clip(v, lo, hi)), np.ones(1)
    if n.op == "Relu":
        return (lambda v: np.maximum(v, 0.0)), np.ones(1)
    return None


def trace_chain(g: Graph, affine: Node, ops: tuple[str, ...]) -> _Chain | None:
    """Follow single-use ``ops`` from an Affine on integer codes. Returns the chain (without a
    terminal quantizer) or None if ``affine`` is not such a root."""
    if affine.op != "Affine" or g.values[affine.inputs[0]].type.is_float:
        return None
    x_in = g.values[affine.inputs[0]]
    mul = channel_vector(g.const(affine.inputs[1]))
    add = channel_vector(g.const(affine.inputs[2])) if len(affine.inputs) > 2 else np.zeros(1)
    sc = 2.0 ** -x_in.type.frac
    m, a = _col(mul), _col(add)
    steps: list[Step] = [lambda v: v * sc * m + a]
    direction = np.where(mul < 0, -1.0, 1.0)
    nodes = [affine]
    cur = affine.outputs[0]
    while _single_use(g, cur):
        n = g.consumers(cur)[0]
        if n.op not in ops:
            break
        st = _step_of(g, n, cur, g.values[cur].shape)
        if st is None:
            break
        steps.append(st[0])
        direction = direction * st[1]
        nodes.append(n)
        cur = n.outputs[0]
    return _Chain(nodes, steps, direction)


def _quant_step(q: Node, g: Graph, x_shape) -> Callable[[np.ndarray], np.ndarray]:
    at = attrs_of(q)
    t: QType = at["type"]
    if at["bipolar"]:
        return lambda v: np.where(v >= 0, 1, -1).astype(np.int64)
    if len(q.inputs) > 1:
        s = channel_vector(g.const(q.inputs[1]))
        if np.any(s <= 0) or not np.all(np.isfinite(s)):
            raise _fail(q, "quantizer scale is not positive and finite", "use positive scales")
        sc = _col(s)
        return lambda v: np.clip(np.round(v / sc * (2.0 ** t.frac)), t.min, t.max).astype(
            np.int64)
    return lambda v: np.clip(np.round(v * (2.0 ** t.frac)), t.min, t.max).astype(np.int64)


def chain_codes(steps: list[Step], quant: Callable[[np.ndarray], np.ndarray],
                acc: np.ndarray) -> np.ndarray:
    """The float64 reference: output codes of the chain for integer accumulators ``acc``
    (shape (C, M), channel first)."""
    v = np.asarray(acc, np.int64).astype(np.float64)
    for s in steps:
        v = s(v)
    return quant(v)


def threshold_table(steps: list[Step], quant: Callable[[np.ndarray], np.ndarray],
                    direction: np.ndarray, channels: int, lo: int, hi: int, out: QType,
                    bipolar: bool) -> np.ndarray:
    """Exact thresholds (channels, n) on ``direction · acc`` for accumulators in [lo, hi].

    For each channel and level L_k (k = 1..n) the smallest y in [ylo, yhi] whose chain code is
    >= L_k, found by binary search on the float64 chain (monotone by construction), or yhi + 1
    when no accumulator reaches the level (never crossed)."""
    levels = np.array([1] if bipolar else list(range(out.min + 1, out.max + 1)), np.int64)
    n = levels.size
    d = np.broadcast_to(np.asarray(direction, np.int64).reshape(-1), (channels,)).reshape(-1, 1)
    ylo = np.where(d > 0, lo, -hi) * np.ones((channels, n), np.int64)
    yhi = np.where(d > 0, hi, -lo) * np.ones((channels, n), np.int64)
    a, b = ylo.copy(), yhi + 1                    # answer in [a, b]; b = "never"
    while np.any(a < b):
        mid = a + (b - a) // 2
        codes = chain_codes(steps, quant, d * mid)
        ok = codes >= levels[None, :]
        b = np.where((a < b) & ok, mid, b)
        a = np.where((a < b) & ~ok, mid + 1, a)
    return a


def _threshold_rule(g: Graph, q: Node) -> Rewrite | None:
    if q.op != "Quant":
        return None
    p = g.producer(q.inputs[0])
    # walk back to the chain's root
    seen: list[Node] = []
    while p is not None and p.op in CHAIN_OPS and _single_use(g, p.outputs[0]):
        seen.append(p)
        src = [i for i in p.inputs if not g.is_const(i)]
        if len(src) != 1:
            return None
        p = g.producer(src[0])
    if p is None or p.op != "Affine" or not _single_use(g, p.outputs[0]):
        return None
    ch = trace_chain(g, p, CHAIN_OPS)
    if ch is None or ch.nodes[-1].outputs[0] != q.inputs[0]:
        return None
    acc = g.values[p.inputs[0]]
    if acc.type.bits > 62:
        raise _fail(q, f"the accumulator is {acc.type.bits} bits wide: its thresholds cannot be "
                       "searched in int64", "use narrower weights or activations for this layer")
    if attrs_of(p)["global_avg"]:
        return None
    at = attrs_of(q)
    out: QType = at["type"]
    bipolar = bool(at["bipolar"])
    x_shape = g.values[q.inputs[0]].shape
    channels = x_shape[1] if len(x_shape) > 1 else 1
    # every per-channel constant must agree with the channel count
    if ch.direction.size not in (1, channels):
        raise _fail(q, "per-channel constants do not match the channel count", _HINT)
    # the cheap shift: a plain power-of-two requantization of the accumulator
    if (len(ch.nodes) == 1 and len(p.inputs) == 2 and not bipolar and len(q.inputs) == 1
            and np.all(g.const(p.inputs[1]) == 1.0)):
        return [p, q], [Node(q.name, "Requant", (acc.name,), q.outputs, {"type": out})], {}
    if not bipolar and out.bits > MAX_THRESHOLD_BITS:
        raise _fail(q, f"a {out.bits}-bit quantizer after a float chain would need "
                       f"{out.max - out.min} thresholds per channel (at most "
                       f"{(1 << MAX_THRESHOLD_BITS) - 1})",
                    f"quantize this activation to at most {MAX_THRESHOLD_BITS} bits, or use "
                    "power-of-two scales without batch-norm so it stays a shift")
    quant = _quant_step(q, g, x_shape)
    rows = channels if _varies(g, ch.nodes + [q]) else 1
    table = threshold_table(ch.steps, quant, ch.direction, rows, acc.type.min, acc.type.max,
                            out, bipolar)
    direction = np.broadcast_to(ch.direction, (table.shape[0],)).astype(np.int64)
    bound = max(abs(int(table.min())), abs(int(table.max())), 1)
    tq = QType(min(bound.bit_length() + 1, 64), True, acc.type.frac)
    tname = _fresh(g, q.name + "_thresholds")
    consts = {tname: (table, tq)}
    inputs = [acc.name, tname]
    if np.any(direction < 0):
        dname = _fresh(g, q.name + "_direction")
        consts[dname] = (direction.copy(), QType(2, True, 0))
        inputs.append(dname)
    node = Node(q.name, "Threshold", tuple(inputs), q.outputs,
                {"type": out, **({"bipolar": True} if bipolar else {})})
    return ch.nodes + [q], [node], {"__consts__": consts}  # type: ignore[dict-item]


def _varies(g: Graph, nodes: list[Node]) -> bool:
    """True when some constant of the chain is per channel (else one table row suffices)."""
    return any(np.asarray(g.constants[i]).size > 1 for n in nodes for i in n.inputs
               if i in g.constants)


def _fresh(g: Graph, base: str) -> str:
    name, k = base, 0
    while name in g.values:
        k += 1
        name = f"{base}_{k}"
    return name


def _apply_rules_with_consts(g: Graph, rule, name: str) -> Graph:
    """:func:`~edgepool.passes.rewrite.apply_rules` for a rule returning ``(remove, add,
    renames)`` whose renames may carry ``"__consts__"``: the constants (name → (array, type))
    it creates (thresholds, composed heads)."""
    def as_rewrite(g: Graph, node: Node) -> Rewrite | None:
        res = rule(g, node)
        if res is None:
            return None
        remove, add, extra = res
        extra = dict(extra)
        consts = extra.pop("__consts__", {})
        return Rewrite(list(remove), list(add), extra, consts)

    as_rewrite.__name__ = getattr(rule, "__name__", "rule")
    return apply_rules(g, [as_rewrite], name)


def absorb_thresholds(g: Graph) -> Graph:
    """Replace every ``Affine → monotone float chain → Quant`` by an exact ``Threshold``."""
    return _apply_rules_with_consts(g, _threshold_rule, "absorb_thresholds")


def _head_rule(g: Graph, n: Node) -> Rewrite | None:
    if n.op != "Affine" or not _single_use(g, n.outputs[0]):
        return None
    nxt = g.consumers(n.outputs[0])[0]
    if nxt.op == "Pool" and not attrs_of(n)["global_avg"]:
        pa = attrs_of(nxt)
        if pa["kind"] == "avg" and pa["global_"]:
            # the average commutes with the per-channel affine: average the codes first
            return [n, nxt], [n.with_(outputs=nxt.outputs, attrs={**n.attrs,
                                                                   "global_avg": True})], {}
        return None
    if nxt.op not in AFFINE_OPS:
        return None
    x_shape = g.values[n.inputs[0]].shape
    m = channel_vector(g.const(n.inputs[1]))
    a = channel_vector(g.const(n.inputs[2])) if len(n.inputs) > 2 else np.zeros(1)
    cur = n.outputs[0]
    if nxt.op == "BatchNorm":
        if nxt.inputs[0] != cur or any(_const(g, i) is None for i in nxt.inputs[1:5]):
            return None
        gamma, beta, mean, var = (channel_vector(_const(g, i)) for i in nxt.inputs[1:5])
        k = gamma / np.sqrt(var + np.float64(attrs_of(nxt)["epsilon"]))
        m, a = m * k, (a - mean) * k + beta
    else:
        x0, x1 = nxt.inputs
        if x0 == cur and _const(g, x1) is not None:
            c, first = per_channel(_const(g, x1), x_shape, nxt), True
        elif x1 == cur and _const(g, x0) is not None:
            c, first = per_channel(_const(g, x0), x_shape, nxt), False
        else:
            return None
        if nxt.op == "Mul":
            m, a = m * c, a * c
        elif nxt.op == "Add":
            a = a + c
        elif nxt.op == "Sub":
            m, a = (m, a - c) if first else (-m, c - a)
        else:
            if not first or np.any(c == 0):
                return None
            m, a = m / c, a / c
    mname, aname = _fresh(g, n.name + "_mul"), _fresh(g, n.name + "_add")
    consts = {mname: (np.asarray(m, np.float64), FLOAT), aname: (np.asarray(a, np.float64),
                                                                   FLOAT)}
    node = Node(n.name, "Affine", (n.inputs[0], mname, aname), nxt.outputs, dict(n.attrs))
    return [n, nxt], [node], {"__consts__": consts}  # type: ignore[dict-item]


def compose_float_heads(g: Graph) -> Graph:
    """Fold float affine ops after an ``Affine`` (output scale, bias, batch-norm, TensorNorm)
    and a global average pool into it: one float64 affine per channel on the host (averaging
    the exact integer sum first), returned as float32."""
    return _apply_rules_with_consts(g, _head_rule, "compose_float_heads")
