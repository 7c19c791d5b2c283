# SPDX-License-Identifier: Apache-2.0
"""verilator --lint-only -Wall on every module (several parameter sets) and on generated tops;
codegen errors and name sanitizing."""

from __future__ import annotations

import re

import numpy as np
import pytest

from edgepool.accel.program import random_program
from edgepool.codegen.rtl import (
    LIBRARY,
    RTL_DIR,
    SHELL_LIBRARY,
    LayerFolding,
    generate_accel,
    generate_rtl,
)
from edgepool.errors import UnsupportedOpError
from edgepool.runtime.rtlsim import lint

SOURCES = [RTL_DIR / f for f in LIBRARY + SHELL_LIBRARY]

MODULE_PARAMS = {
    "ep_ram_sdp": [{}, {"DW": 24, "DEPTH": 40, "AW": 6}],
    "ep_rom": [{}],
    "ep_ser": [{}, {"N": 4, "DW": 12}, {"N": 8, "M": 2}, {"N": 4, "M": 4}],
    "ep_swg": [{}, {"SIMD": 2, "C": 4, "KH": 2, "KW": 3, "SH": 3, "SW": 2, "PT": 1, "PB": 1,
                    "PL": 2, "PR": 2, "OH": 2, "OW": 3, "REPEAT": 3},
               {"SIMD": 4, "C": 8, "IN_LANES": 2}],
    "ep_requant": [{}, {"SHIFT": -3, "RELU": 1}, {"SHIFT": 1, "ACCW": 40, "ODW": 16},
                   {"SHIFT": 2, "PIPE": 1}],
    "ep_mvau": [{}, {"PE": 4, "SIMD": 2, "NF": 3, "SHIFT": -1, "IN_SIGNED": 1},
                {"PE": 3, "SIMD": 2, "DSP_PACK": 1}, {"PE": 4, "IDW": 12, "DSP_PACK": 1},
                {"PE": 2, "SIMD": 8, "IDW": 2, "WW": 2, "IN_SIGNED": 1, "XNOR": 1},
                {"SIMD": 4, "IDW": 8, "WW": 8, "IN_SIGNED": 1, "XNOR": 1},
                {"PE": 4, "SIMD": 2, "IDW": 2, "WW": 2, "IN_SIGNED": 1, "XNOR": 1,
                 "DSP_PACK": 1}],
    "ep_pool": [{}, {"MODE": 1, "SIMD": 3, "KK": 9, "COUNT_PAD": 1, "SIGNED": 1},
                {"MODE": 1, "DIV_BITS": 0}, {"MODE": 1, "DIV_BITS": 1, "DW": 16, "KK": 49}],
    "ep_conv_layer": [{}, {"PE": 2, "OC": 4, "SIMD": 2, "C": 2},
                      {"PE": 4, "OC": 8, "OUT_LANES": 2}],
    "ep_pool_layer": [{}, {"MODE": 1, "SIMD": 2, "C": 2},
                      {"MODE": 1, "SIMD": 4, "C": 4, "IN_LANES": 4, "DIV_BITS": 3}],
    "ep_threshold": [{}, {"LANES": 2, "C": 4, "N": 3, "ODW": 3, "STEP": 1},
                     {"ACCW": 40, "TW": 41, "N": 255, "ODW": 8, "STEP": 1}],
    "ep_axil_ctrl": [{}, {"AW": 8, "OFF_GIER": 16, "OFF_IER": 24, "OFF_ISR": 32}],
    "ep_axis_unpack": [{}, {"EB": 8}, {"EB": 2, "N": 5}, {"EB": 4, "N": 3, "BEAT_BYTES": 16}],
    "ep_axis_pack": [{}, {"EB": 8, "N": 1}, {"EB": 1, "N": 17}, {"EB": 2, "BEAT_BYTES": 16}],
    "ep_accel_shell": [{}, {"IN_EB": 2, "OUT_EB": 8, "N_IN": 7, "N_OUT": 3}],
}


@pytest.mark.rtlsim
@pytest.mark.parametrize("module", sorted(MODULE_PARAMS))
def test_lint_module(module):
    for params in MODULE_PARAMS[module]:
        lint(SOURCES, module, params)


@pytest.mark.rtlsim
@pytest.mark.parametrize("spec", ["c4k3r-m2-f10", "c3k3s2p1-a3-c5k1r-f4", "m2-c2k2r"])
def test_lint_generated_top(tmp_path, spec):
    design = generate_rtl(random_program(4, in_shape=(9, 9, 2), spec=spec), tmp_path)
    lint(design.sources, design.top)


@pytest.mark.rtlsim
@pytest.mark.parametrize("spec", ["c4k3r-m2-f10", "m2-c2k2r"])
def test_lint_generated_accel(tmp_path, spec):
    acc = generate_accel(random_program(4, in_shape=(9, 9, 2), spec=spec), tmp_path)
    lint(acc.sources, acc.top)


def test_unsupported_constructs_are_listed():
    p = random_program(1, in_shape=(8, 8, 1), spec="c4k3r-f10")
    conv = p.layers[0]
    bad = type(p)("bad", (conv.with_(dilation=(2, 2)),) + p.layers[1:])
    with pytest.raises(UnsupportedOpError) as e:
        generate_rtl(bad, "/nonexistent/never-written")
    assert any("dilation" in x for x in e.value.problems)
    with pytest.raises(UnsupportedOpError) as e:
        generate_rtl(p, "/nonexistent/never-written", {conv.name: LayerFolding(pe=3, simd=1)})
    assert any("pe 3" in x for x in e.value.problems)


def test_hostile_layer_name_is_sanitized(tmp_path):
    p = random_program(1, in_shape=(6, 6, 1), spec="c2k3r-f3")
    evil = 'x"); $finish; // ../../etc/passwd\n`define'
    layers = (p.layers[0].with_(name=evil),) + p.layers[1:]
    prog = type(p)('p*/ "name\nmodule', layers)
    design = generate_rtl(prog, tmp_path, {evil: LayerFolding(2, 1)})
    text = (tmp_path / "ep_top.sv").read_text()
    assert "$finish" not in text and "passwd\n" not in text and "`define" not in text
    assert '"name' not in text
    for f in tmp_path.iterdir():
        assert f.parent == tmp_path and f.name.replace(".", "_").replace("_", "").isalnum()
    assert all(m.parent == tmp_path for m in design.mem_files)
    words = (tmp_path / design.mem_files[0].name).read_text().split()
    assert len(words) == np.prod(layers[0].weights.shape) // 2


@pytest.mark.rtlsim
def test_lint_generated_top_64bit_output(tmp_path):
    """lenet-digits-w16: its last layer streams the 64-bit accumulator (OMIN = -2^63)."""
    import edgepool
    from edgepool.accel.lower import lower_to_hw
    from edgepool.toolchain import REPO_ROOT

    program, _ = lower_to_hw(edgepool.load(REPO_ROOT / "models" / "lenet-digits"
                                           / "lenet-digits-w16.onnx"))
    design = generate_rtl(program, tmp_path)
    assert design.out_bits == 64
    text = (tmp_path / "ep_top.sv").read_text()
    assert "[63:0] m_axis_tdata" in text and ".OMIN(64'sh8000000000000000)" in text
    lint(design.sources, design.top)


@pytest.mark.rtlsim
def test_hostile_names_lint(tmp_path):
    """Every layer and the program named with text hostile to SystemVerilog (escaped
    identifiers, macros, system tasks, quotes, newlines, ``*/``, unicode): the top lints clean
    and holds none of it; file names stay plain."""
    from hostile import HOSTILE, unsafe_fragments

    p = random_program(3, in_shape=(8, 8, 2), spec="c4k3r-m2-c4k1r-a2-f3")
    layers = tuple(layer.with_(name=HOSTILE[i % len(HOSTILE)] + f"{i}")
                   for i, layer in enumerate(p.layers))
    prog = type(p)("".join(HOSTILE), layers)
    design = generate_rtl(prog, tmp_path)
    assert unsafe_fragments((tmp_path / "ep_top.sv").read_text()) == []
    for f in tmp_path.iterdir():
        assert re.fullmatch(r"[a-z0-9_]+\.(sv|hex|json)", f.name), f.name
    lint(design.sources, design.top)
