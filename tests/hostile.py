# SPDX-License-Identifier: Apache-2.0
"""Names hostile to every language edgepool generates (C / C++, Tcl, shell, SystemVerilog, C
comments and string literals, paths), the fragments of them that must never appear in generated
code, and an ONNX model renamed with them (graph, nodes and every value name)."""

from __future__ import annotations

from pathlib import Path

import onnx

HOSTILE = [
    'q"uote\'s',                       # C / Tcl / shell quotes
    "back\\slash\\",                  # escapes, line continuation
    "new\nline\r#include <x>",         # newline: ends comments, starts preprocessor lines
    "c*/omment/*",                     # closes a C comment
    "${HOME}$(id)`id`",                # shell / Tcl substitution
    "[exec rm -rf ~]",                 # Tcl command substitution
    "\\escaped_id ",                   # a Verilog escaped identifier
    "`define X $finish;",              # Verilog macro / system task
    "ünïcödé-λ",                       # non-ASCII
    "??=trigraph%s%n",                 # C trigraph, printf formats
]
#: fragments of HOSTILE that generated code must not contain
NEEDLES = ['"uote', "back\\slash", "new\nline", "\r", "*/omment", "${HOME}", "$(id)", "`id`",
           "[exec rm", "\\escaped_id", "`define", "$finish", "ünï", "λ", "??=", "%n"]


def hostile_onnx(src: Path, dst: Path) -> list[str]:
    """``src`` saved as ``dst`` with its graph, nodes and value names replaced by HOSTILE ones
    (each unique); returns the new names of the graph inputs then outputs."""
    proto = onnx.load(src)
    g = proto.graph
    g.name = HOSTILE[0] + HOSTILE[1]
    for i, node in enumerate(g.node):
        node.name = HOSTILE[i % len(HOSTILE)] + f"#{i}"
    names: dict[str, str] = {}

    def new(old: str) -> str:
        if old and old not in names:
            names[old] = f"{HOSTILE[len(names) % len(HOSTILE)]}~{len(names)}"
        return names.get(old, old)

    for v in list(g.input) + list(g.output) + list(g.value_info):
        v.name = new(v.name)
    for t in g.initializer:
        t.name = new(t.name)
    for node in g.node:
        for k, x in enumerate(node.input):
            node.input[k] = new(x)
        for k, x in enumerate(node.output):
            node.output[k] = new(x)
    onnx.save(proto, dst)
    return [v.name for v in g.input if v.name not in {t.name for t in g.initializer}] + \
        [v.name for v in g.output]


def unsafe_fragments(text: str) -> list[str]:
    """The NEEDLES found in ``text``."""
    return [s for s in NEEDLES if s in text]
