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
