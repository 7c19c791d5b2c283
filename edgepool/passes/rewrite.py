# SPDX-License-Identifier: Apache-2.0
"""Pattern → condition → replacement rewriting with bounded fixed-point iteration."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import VerifyError
from ..ir.graph import Graph, Node, topo_sort

# A rule looks at one node and returns None (no match) or (nodes_to_remove, nodes_to_add,
# value_renames) where value_renames maps old value name -> new value name for consumers.
Rewrite = tuple[list[Node], list[Node], dict[str, str]]
Rule = Callable[[Graph, Node], "Rewrite | None"]

MAX_ITERATIONS = 100


def apply_rules(g: Graph, rules: list[Rule], name: str) -> Graph:
    """Apply ``rules`` until none matches. One rewrite per sweep keeps indexes valid; the number
    of sweeps is bounded and a :class:`VerifyError` is raised if it does not converge."""
    for _ in range(MAX_ITERATIONS):
        for node in g.nodes:
            for rule in rules:
                res = rule(g, node)
                if res is not None:
                    g = _apply(g, *res)
                    break
            else:
                continue
            break
        else:
            return g
    raise VerifyError(f"pass {name} did not converge after {MAX_ITERATIONS} rewrites")


def _apply(g: Graph, remove: list[Node], add: list[Node], renames: dict[str, str]) -> Graph:
    removed = {id(n) for n in remove}
    def ren(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(renames.get(n, n) for n in names)
    kept = [n.with_(inputs=ren(n.inputs)) if any(i in renames for i in n.inputs) else n
            for n in g.nodes if id(n) not in removed]
    # insert new nodes where the first removed one was, then restore topological order
    first = next((i for i, n in enumerate(g.nodes) if id(n) in removed), len(kept))
    pos = sum(1 for n in g.nodes[:first] if id(n) not in removed)
    nodes = kept[:pos] + add + kept[pos:]
    outputs = ren(g.outputs)
    nodes = topo_sort(nodes, list(g.inputs) + list(g.constants))
    return g.replace(nodes=tuple(nodes), outputs=outputs)
