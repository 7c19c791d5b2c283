# SPDX-License-Identifier: Apache-2.0
"""Pattern → condition → replacement rewriting, iterated to a fixed point.

A rule looks at one node of the current graph (it finds neighbours through the graph's producer
and consumer indexes, never by position in the node list) and returns ``None`` (no match) or a
:class:`Rewrite`. :func:`apply_rules` sweeps over the nodes, applying every match, until a whole
sweep matches nothing. It gives up with a :class:`~edgepool.errors.RewriteDivergedError` naming
the pass and its rules when sweeps keep rewriting without reaching a new graph (rules that undo
each other) or when the number of rewrites exceeds a generous bound proportional to the graph's
size (rules that grow the graph forever).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import NamedTuple

import numpy as np

from ..errors import RewriteDivergedError, VerifyError
from ..ir.graph import Graph, Node, Value, topo_sort, unique_name
from ..ir.qtype import QType


class Rewrite(NamedTuple):
    """The replacement: remove ``remove``, add ``add`` (at the place of the first removed node),
    rename value uses ``renames`` (old → new, for consumers and graph outputs) and define new
    constants ``constants`` (name → (array, type)) and intermediate values ``values`` (the
    outputs of added nodes that are new); new names must be fresh (:func:`fresh_name`)."""

    remove: list[Node]
    add: list[Node]
    renames: dict[str, str]
    constants: Mapping[str, tuple[np.ndarray, QType]] = {}
    values: Mapping[str, Value] = {}


Rule = Callable[[Graph, Node], "Rewrite | None"]

#: sweeps in a row that rewrite something but only revisit graphs already seen
MAX_IDLE_SWEEPS = 4
#: absolute bound on rewrites: REWRITES_PER_NODE × (nodes + 16) of the input graph
REWRITES_PER_NODE = 64


def _fingerprint(g: Graph) -> int:
    """A structural key of the graph (ops, wiring, attributes, constant names)."""
    return hash(tuple((n.op, n.inputs, n.outputs, repr(sorted(n.attrs.items(), key=str)))
                      for n in g.nodes) + tuple(g.outputs))


def apply_rules(g: Graph, rules: list[Rule], name: str) -> Graph:
    """Apply ``rules`` until none matches (a fixed point) and return the new graph.

    One sweep visits the nodes of the graph as it was when the sweep began, skipping those a
    rewrite already removed, and tries the rules in order on each (against the current graph,
    whose indexes are rebuilt after every rewrite). Raises :class:`RewriteDivergedError` after
    :data:`MAX_IDLE_SWEEPS` sweeps in a row without progress (every graph they produced had been
    seen before) or more than ``REWRITES_PER_NODE × (nodes + 16)`` rewrites in all.
    """
    budget = REWRITES_PER_NODE * (len(g.nodes) + 16)
    seen = {_fingerprint(g)}
    rewrites = idle = 0
    while True:
        changed = False
        for node in list(g.nodes):
            if not _alive(g, node):
                continue
            for rule in rules:
                res = rule(g, node)
                if res is None:
                    continue
                g = _apply(g, Rewrite(*res))
                changed = True
                rewrites += 1
                if rewrites > budget:
                    raise _diverged(name, rules, f"more than {budget} rewrites "
                                    f"({REWRITES_PER_NODE} per node) without a fixed point")
                break
        if not changed:
            return g
        key = _fingerprint(g)
        idle = idle + 1 if key in seen else 0
        seen.add(key)
        if idle >= MAX_IDLE_SWEEPS:
            raise _diverged(name, rules, f"{idle} sweeps in a row rewrote the graph back into "
                            "states it had before (the rules undo each other)")


def _alive(g: Graph, node: Node) -> bool:
    """Whether ``node`` is still in ``g`` (a rewrite earlier in the sweep may have removed it)."""
    return bool(node.outputs) and g.producer(node.outputs[0]) is node


def _diverged(name: str, rules: list[Rule], why: str) -> RewriteDivergedError:
    names = ", ".join(getattr(r, "__name__", repr(r)) for r in rules)
    return RewriteDivergedError(f"pass {name} did not converge: {why}; rules: {names}",
                                "a rule must not undo another rule's rewrite, and each rewrite "
                                "must make the graph smaller or more canonical")


def fresh_name(g: Graph, base: str, taken: Collection[str] = ()) -> str:
    """``base``, or ``base_<k>`` for the smallest k that names no value of ``g`` and is not in
    ``taken`` (names already chosen for the same rewrite)."""
    return unique_name(base, set(g.values).union(taken))


def _apply(g: Graph, rw: Rewrite) -> Graph:
    removed = {id(n) for n in rw.remove}
    renames = rw.renames

    def ren(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(renames.get(n, n) for n in names)
    kept = [n.with_(inputs=ren(n.inputs)) if any(i in renames for i in n.inputs) else n
            for n in g.nodes if id(n) not in removed]
    # insert new nodes where the first removed one was, then restore topological order
    first = next((i for i, n in enumerate(g.nodes) if id(n) in removed), len(g.nodes))
    pos = sum(1 for n in g.nodes[:first] if id(n) not in removed)
    nodes = kept[:pos] + list(rw.add) + kept[pos:]
    values, constants = dict(g.values), dict(g.constants)
    for cname, (arr, qtype) in rw.constants.items():
        if cname in g.values:
            raise VerifyError(f"a rewrite defines constant {cname!r}, a name already in use",
                              "rules must pick fresh names for new constants (fresh_name)")
        constants[cname] = arr
        values[cname] = Value(cname, tuple(arr.shape), qtype)
    for vname, v in rw.values.items():
        if vname in g.values:
            raise VerifyError(f"a rewrite defines value {vname!r}, a name already in use",
                              "rules must pick fresh names for new values (fresh_name)")
        values[vname] = v
    outputs = ren(g.outputs)
    nodes = topo_sort(nodes, list(g.inputs) + list(constants))
    return g.replace(nodes=tuple(nodes), outputs=outputs, values=values, constants=constants)
