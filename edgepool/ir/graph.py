# SPDX-License-Identifier: Apache-2.0
"""The edgepool IR: an immutable graph of typed values.

* :class:`Value` — a named tensor with a static shape and a :class:`QType` (fixed point or f32).
* :class:`Node` — one operation: op name, input and output value names, attributes.
* :class:`Graph` — nodes in topological order, values, constants (NumPy arrays; integer
  constants hold fixed-point codes), graph inputs and outputs. Producer and consumer indexes are
  built once per graph, never by scanning protobufs.

Graphs are never mutated: passes build new ones with :meth:`Graph.replace`.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import VerifyError
from .qtype import FLOAT, QType


@dataclass(frozen=True)
class Value:
    """A tensor: ``name``, static ``shape`` (NCHW for 4-D), fixed-point ``type``."""

    name: str
    shape: tuple[int, ...]
    type: QType = FLOAT

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1


@dataclass(frozen=True, eq=False)
class Node:
    """One operation. ``attrs`` holds plain Python values (ints, floats, tuples, str, QType)."""

    name: str
    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def attr(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)

    def with_(self, **kw: Any) -> Node:
        return replace(self, **kw)


@dataclass(frozen=True, eq=False)
class Graph:
    """A dataflow graph. ``constants`` maps value names to arrays (weights, biases, shapes)."""

    name: str
    nodes: tuple[Node, ...]
    values: Mapping[str, Value]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    constants: Mapping[str, np.ndarray] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ indexes
    @cached_property
    def _producers(self) -> dict[str, Node]:
        return {o: n for n in self.nodes for o in n.outputs}

    @cached_property
    def _consumers(self) -> dict[str, list[Node]]:
        idx: dict[str, list[Node]] = {}
        for n in self.nodes:
            for i in n.inputs:
                if i:
                    idx.setdefault(i, []).append(n)
        return idx

    @cached_property
    def _by_name(self) -> dict[str, Node]:
        return {n.name: n for n in self.nodes}

    def producer(self, value: str) -> Node | None:
        """The node that computes ``value`` (None for inputs and constants)."""
        return self._producers.get(value)

    def consumers(self, value: str) -> list[Node]:
        """Nodes that read ``value``, in graph order."""
        return list(self._consumers.get(value, ()))

    def node(self, name: str) -> Node:
        return self._by_name[name]

    def value(self, name: str) -> Value:
        return self.values[name]

    def is_const(self, name: str) -> bool:
        return name in self.constants

    def const(self, name: str) -> np.ndarray:
        return self.constants[name]

    # ------------------------------------------------------------------ building
    def replace(self, **kw: Any) -> Graph:
        """A new graph with some fields replaced; unreferenced values and constants are dropped."""
        g = replace(self, **kw)
        return g._pruned()

    def _pruned(self) -> Graph:
        used = set(self.inputs) | set(self.outputs)
        for n in self.nodes:
            used.update(i for i in n.inputs if i)
            used.update(n.outputs)
        values = {k: v for k, v in self.values.items() if k in used}
        consts = {k: v for k, v in self.constants.items() if k in used}
        if len(values) == len(self.values) and len(consts) == len(self.constants):
            return self
        return replace(self, values=values, constants=consts)

    # ------------------------------------------------------------------ conveniences
    def input_values(self) -> list[Value]:
        return [self.values[i] for i in self.inputs]

    def output_values(self) -> list[Value]:
        return [self.values[o] for o in self.outputs]

    def ops(self) -> list[str]:
        return [n.op for n in self.nodes]

    def run(self, x: np.ndarray | Mapping[str, np.ndarray], **kw: Any):
        """Run the golden interpreter; see :func:`edgepool.ir.interp.run`."""
        from .interp import run

        return run(self, x, **kw)

    def __str__(self) -> str:
        from .printer import format_graph

        return format_graph(self)


class GraphBuilder:
    """Accumulates values, constants and nodes; names are made unique on demand."""

    def __init__(self, name: str):
        self.name = name
        self.nodes: list[Node] = []
        self.values: dict[str, Value] = {}
        self.constants: dict[str, np.ndarray] = {}
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self._counter = 0

    def fresh(self, base: str) -> str:
        """``base``, or ``base_<k>`` if a value of that name exists."""
        name = base
        while name in self.values:
            self._counter += 1
            name = f"{base}_{self._counter}"
        return name

    def add_value(self, v: Value) -> str:
        self.values[v.name] = v
        return v.name

    def add_const(self, name: str, array: np.ndarray, qtype: QType = FLOAT) -> str:
        name = self.fresh(name) if name in self.values else name
        self.constants[name] = array
        self.values[name] = Value(name, tuple(array.shape), qtype)
        return name

    def add_node(self, node: Node) -> Node:
        self.nodes.append(node)
        return node

    def build(self, meta: Mapping[str, Any] | None = None) -> Graph:
        return Graph(self.name, tuple(self.nodes), dict(self.values), tuple(self.inputs),
                     tuple(self.outputs), dict(self.constants), dict(meta or {}))._pruned()


def unique_name(base: str, taken: Container[str]) -> str:
    """``base``, or ``base_<k>`` for the smallest k >= 1 that is not in ``taken``."""
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    return name


def topo_sort(nodes: Iterable[Node], available: Iterable[str]) -> tuple[Node, ...]:
    """Order ``nodes`` so every input is produced before use (stable for ordered input)."""
    ready = set(available)
    pending = list(nodes)
    out: list[Node] = []
    while pending:
        progressed = False
        rest = []
        for n in pending:
            if all((not i) or i in ready for i in n.inputs):
                out.append(n)
                ready.update(n.outputs)
                progressed = True
            else:
                rest.append(n)
        if not progressed:
            names = ", ".join(n.name for n in rest[:5])
            raise VerifyError(f"graph has a cycle or a missing input near: {names}")
        pending = rest
    return tuple(out)
