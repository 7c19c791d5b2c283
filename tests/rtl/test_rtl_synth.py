# SPDX-License-Identifier: Apache-2.0
"""Yosys generic synthesis of a small configuration; the report parses into cell counts."""

from __future__ import annotations

import pytest

from edgepool.accel.program import random_program
from edgepool.codegen.synth import parse_stat, synth_program, table


@pytest.mark.slow
@pytest.mark.rtlsim
def test_synth_small_pool_block():
    rep = synth_program(random_program(1, in_shape=(4, 4, 1), spec="m2"))
    print(table([rep]))
    s = rep.summary()
    assert rep.cells == sum(rep.cell_types.values())
    assert s["ff"] > 0 and rep.cells > s["ff"]


def test_parse_stat_takes_last_block():
    log = ("   Number of wires:  5\n   Number of cells:  3\n     $_AND_  3\n\n"
           "   Number of wires:  9\n   Number of cells:  7\n     $_AND_  4\n     $_DFF_P_  3\n\n"
           "   Chip area: 0\n")
    cells, types, wires = parse_stat(log)
    assert (cells, types, wires) == (7, {"$_AND_": 4, "$_DFF_P_": 3}, 9)


@pytest.mark.slow
@pytest.mark.rtlsim
def test_synth_accel_ip_xc7_and_avg_pool_depth():
    """The whole IP of a small program through synth_xilinx (xc7), and the logic depth of an
    average pool: its pipelined divider keeps the LUT6 levels below those of one combinational
    restoring division (SUMW = 8 + 4 + 1 subtract-compare steps of 13 bits)."""
    from edgepool.codegen.synth import synth_accel

    rep = synth_accel(random_program(3, in_shape=(4, 4, 1), spec="c2k3r-f3"), target="xc7",
                      ltp=False)
    s = rep.summary()
    assert s["LUT"] > 0 and s["FF"] > 0 and rep.logic_depth is None
    pool = synth_program(random_program(1, in_shape=(6, 6, 2), spec="a3"), target="xcup",
                         ltp=True)
    print(table([rep, pool]), "avg pool LUT6 depth", pool.logic_depth)
    assert pool.logic_depth is not None and 0 < pool.logic_depth < 20


def test_parse_ltp_takes_last_report():
    from edgepool.codegen.synth import parse_ltp

    log = ("Longest topological path in ep_top (length=34):\n    0: \\a\n"
           "Longest topological path in ep_top (length=13):\n")
    assert parse_ltp(log) == 13


# --------------------------------------------------------------------------- per-block synthesis
BLOCKS_LOG = """\
Executing AST frontend in derive mode using pre-parsed AST for module `\\ep_mvau'.
Parameter \\PE = 4
Parameter \\SIMD = 2
Parameter \\WFILE = 232'0110
Generating RTLIL representation for module `$paramod$ab\\ep_mvau'.
EP_STAT_BLOCKS
=== $paramod$ab\\ep_mvau ===

   Number of wires:                 10
   Number of cells:                  7
     DSP48E2                         4
     FDRE                            2
     LUT6                            1

=== ep_top ===

   Number of cells:                  3
     $paramod$ab\\ep_mvau            2
     LUT2                            1

=== design hierarchy ===

   ep_top                            1
     $paramod$ab\\ep_mvau            2

   Number of cells:                 15
EP_LTP_BLOCKS
Longest topological path in $paramod$ab\\ep_mvau (length=2):
    0: \\a
    1: \\b (via c1)
    2: \\c (via c2)

EP_STAT_TOP
=== ep_top ===

   Number of cells:                 15
     DSP48E2                         8
     FDRE                            4
     LUT2                            1
     LUT6                            2

EP_LTP_TOP
Longest topological path in ep_top (length=3):
    0: \\x
    1: \\y (via c1)
    2: \\z (via c2)
    3: \\w (via c3)
"""


def test_parse_blocks_log():
    from edgepool.codegen.synth import critical_path, parse_blocks_log, yosys_resources

    d = parse_blocks_log(BLOCKS_LOG, "t", "xcup", "ep_top")
    (b,) = d.blocks
    assert (b.block, b.count, b.depth, b.path) == ("ep_mvau", 2, 2, ("\\a", "\\b", "\\c"))
    assert b.params == {"PE": 4, "SIMD": 2, "WFILE": "232'0110"}
    assert yosys_resources(b.report) == {"LUT": 1, "FF": 2, "DSP": 4, "BRAM36": 0}
    assert yosys_resources(d.top) == {"LUT": 3, "FF": 4, "DSP": 8, "BRAM36": 0}
    assert d.depth == 3 and critical_path(d) == "3 levels: \\x -> \\w"


def _fc_program():
    """One fully connected layer, 8 -> 4, int8 (PE 4 x SIMD 2: 8 MACs)."""
    from edgepool.codegen.rtl import LayerFolding

    p = random_program(5, in_shape=(1, 1, 8), spec="f4")
    return p, {p.layers[0].name: LayerFolding(4, 2)}


@pytest.mark.rtlsim
@pytest.mark.parametrize("target,pack,dsp", [("xcup", True, 4), ("xcup", False, 8),
                                             ("xc7", None, 8)])
def test_mvau_dsp_packing_shows_in_yosys(target, pack, dsp):
    """PE 4 x SIMD 2 int8 MACs: 8 DSP48, 4 with packing (UltraScale+); xc7 never packs. The
    RTL resource model counts the same DSPs."""
    from edgepool.codegen.synth import synth_blocks, yosys_resources
    from edgepool.dse.cost import rtl_block_resources

    program, folding = _fc_program()
    d = synth_blocks(program, folding, target=target, dsp_pack=pack)
    (mvau,) = [b for b in d.blocks if b.block == "ep_mvau"]
    assert yosys_resources(mvau.report)["DSP"] == dsp == yosys_resources(d.top)["DSP"]
    params = {k: v for k, v in mvau.params.items() if isinstance(v, int)}
    assert rtl_block_resources("ep_mvau", params).dsp == dsp
    assert mvau.depth is not None and 0 < mvau.depth <= d.depth


@pytest.mark.slow
@pytest.mark.rtlsim
def test_lenet_digits_ip_synthesis_fits_ultra96_and_model(tmp_path):
    """The whole lenet-digits IP (ep_accel) through synth_xilinx xcup: it fits the Ultra96,
    the DSPs are the packed count of the model, and the resource model's LUT total is within
    25 % of Yosys'."""
    import edgepool
    from edgepool.accel.lower import lower_to_hw
    from edgepool.codegen.synth import compare_blocks, rtl_synth_table, synth_blocks
    from edgepool.dse.cost import DEVICES
    from edgepool.toolchain import REPO_ROOT

    program, _ = lower_to_hw(edgepool.load(REPO_ROOT / "models" / "lenet-digits"
                                           / "lenet-digits.onnx"))
    d = synth_blocks(program, target="xcup", accel=True, workdir=tmp_path)
    total = compare_blocks(d)[-1]
    dev = DEVICES["ultra96"]
    y, m = total["yosys"], total["model"]
    assert y["LUT"] < dev.lut and y["DSP"] <= dev.dsp and y["BRAM36"] <= dev.bram36
    assert y["DSP"] == m["DSP"]
    assert abs(total["error"]["LUT"]) <= 25
    print(rtl_synth_table(program, design=d))
