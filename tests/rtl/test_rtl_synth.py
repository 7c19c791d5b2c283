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
