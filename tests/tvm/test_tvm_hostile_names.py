# SPDX-License-Identifier: Apache-2.0
"""Hostile names against the CPU path's generated C: a model whose file, node and value names
hold quotes, backslashes, newlines, ``*/``, shell / Tcl substitutions, Verilog escapes and
unicode still yields NEON glue C and ``model_io.h`` that compile (gcc, the build's flags) and
hold none of those fragments; names survive byte for byte only inside escaped C strings."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hostile import HOSTILE, hostile_onnx, unsafe_fragments

import edgepool
from edgepool import toolchain
from edgepool.errors import ConfigError
from edgepool.neon.bridge import CFLAGS, NEON_DIR
from edgepool.neon.glue import Arg, GlueCall, GlueFunction, Layer, Requant, generate_c
from edgepool.toolchain import REPO_ROOT
from edgepool.tvm import byoc
from edgepool.tvm.build import include_dirs, model_io, model_io_header
from edgepool.tvm.relax_import import graph_to_relax

pytestmark = pytest.mark.tvm
DIGITS = REPO_ROOT / "models" / "lenet-digits" / "lenet-digits.onnx"
EVIL_NAME = 'm"*/ $(id) [exec rm] `define \\x ü\nz'


def _gcc(args: list[str], cwd: Path) -> None:
    cc = toolchain.require("gcc")
    inc = [f"-I{NEON_DIR / 'include'}", f"-I{NEON_DIR / 'src'}",
           f"-I{toolchain.require('simde')}"] + [f"-I{d}" for d in include_dirs()]
    res = subprocess.run([cc, *CFLAGS, *inc, *args], cwd=cwd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]


def test_glue_and_model_io_of_a_hostile_model_compile(tmp_path: Path) -> None:
    io_names = hostile_onnx(DIGITS, tmp_path / "m.onnx")
    g = edgepool.load(tmp_path / "m.onnx", name=EVIL_NAME)
    assert g.name == EVIL_NAME and list(g.inputs) + list(g.outputs) == io_names
    _, stats, src = byoc.offload(graph_to_relax(g))
    assert stats["composites"] == 4                      # the names do not change the offload
    header = model_io_header(g, model_io(g))
    for text in (src, header):
        assert unsafe_fragments(text) == []
    (tmp_path / "glue.c").write_text(src)
    (tmp_path / "model_io.h").write_text(header)
    _gcc(["-fsyntax-only", "glue.c"], tmp_path)
    # the names in model_io.h are the model's, byte for byte
    (tmp_path / "names.c").write_text(
        '#include <stdio.h>\n#include "model_io.h"\nint main(void) {\n'
        '    printf("%s\\n%s\\n%s\\n", EP_MODEL_NAME, ep_input_names[0], ep_output_names[0]);\n'
        "    return 0;\n}\n")
    _gcc(["names.c", "-o", "names"], tmp_path)
    out = subprocess.run([str(tmp_path / "names")], capture_output=True, check=True).stdout
    assert out == "\n".join([EVIL_NAME, *io_names, ""]).encode()


def _requant_function(symbol: str, composite: str) -> GlueFunction:
    layer = Layer("requant", (1, 16), "int32", (1, 16), "int8",
                  rq=Requant(shift=3, relu=True, qmin=-128, qmax=127, out="int8"))
    return GlueFunction(symbol, 1, 1, [GlueCall(composite, layer, Arg(0), Arg(1))])


@pytest.mark.parametrize("name", HOSTILE)
def test_glue_refuses_a_hostile_symbol(name: str) -> None:
    with pytest.raises(ConfigError):
        generate_c([_requant_function(name, "edgepool_neon.requant")])


def test_glue_comments_carry_no_hostile_text(tmp_path: Path) -> None:
    funcs = [_requant_function(f"f{i}", name) for i, name in enumerate(HOSTILE)]
    src = generate_c(funcs)
    assert src.symbols == [f"f{i}" for i in range(len(HOSTILE))]
    assert unsafe_fragments(src.text) == []
    (tmp_path / "glue.c").write_text(src.text)
    _gcc(["-fsyntax-only", "glue.c"], tmp_path)
