# SPDX-License-Identifier: Apache-2.0
"""The RTL resource model and DSP packing per device family (no tools needed)."""

from __future__ import annotations

import pytest

from edgepool.accel.program import random_one_bit_program, random_program
from edgepool.codegen.rtl import generate_rtl
from edgepool.dse.cost import (
    dsp_packing_supported,
    rtl_block_resources,
    rtl_blocks,
    rtl_resources,
    rtl_uses_xnor,
)


@pytest.mark.parametrize("part,ok", [("xczu3eg-sbva484-1-e", True), ("xczu7ev-ffvc1156-2-e", True),
                                     ("xc7z020clg400-1", False)])
def test_dsp_packing_by_part(part, ok):
    assert dsp_packing_supported(part) is ok


def test_exploration_packs_only_on_ultrascale():
    from edgepool.dse.space import DseSpace, dataflow_configs, device_of
    from edgepool.targets import get_target

    p = random_program(1, in_shape=(8, 8, 1), spec="c4k3r-m2-f10")
    for board, ok in (("pynq-z2", False), ("ultra96", True)):
        b = get_target(board)
        cfgs = dataflow_configs(p, b, DseSpace(), device_of(b))
        assert cfgs and {c.int8_dsp_packing for c, _, _ in cfgs} == {ok}


def test_rtl_resources_sum_of_blocks_and_packing_halves_dsp():
    p = random_program(2, in_shape=(8, 8, 2), spec="c4k3r-a2-f10")
    blocks = rtl_blocks(p)
    assert [b for b, _ in blocks] == ["ep_swg", "ep_mvau", "ep_ser", "ep_swg", "ep_pool",
                                      "ep_ser", "ep_swg", "ep_mvau", "ep_ser"]
    packed, plain = rtl_resources(p), rtl_resources(p, dsp_pack=False)
    assert packed.lut == sum(rtl_block_resources(b, q).lut for b, q in blocks)
    assert plain.dsp > packed.dsp > 0
    mv = dict(blocks[1][1], PE=4, SIMD=3, IDW=8, WW=8)
    assert rtl_block_resources("ep_mvau", dict(mv, DSP_PACK=1)).dsp == 6
    assert rtl_block_resources("ep_mvau", dict(mv, DSP_PACK=0)).dsp == 12
    assert rtl_block_resources("ep_mvau", dict(mv, DSP_PACK=1, IDW=12)).dsp == 12


def test_xnor_and_threshold_layers_in_the_block_list(tmp_path):
    """1-bit layers: ep_mvau XNOR = 1, never packed, no DSP; a threshold layer's MAC array and
    serializer carry the exact accumulator (the generator's own parameters)."""
    program = random_one_bit_program(7, spec="c8k3-m2-f16-f6")
    convs = [ly for ly in program.layers if ly.kind == "conv"]
    assert convs and all(rtl_uses_xnor(ly) for ly in convs)
    mvaus = [q for b, q in rtl_blocks(program) if b == "ep_mvau"]
    assert [(q["XNOR"], q["DSP_PACK"]) for q in mvaus] == [(1, 0)] * len(convs)
    assert rtl_resources(program).dsp == 0
    design = generate_rtl(program, tmp_path)
    gen = [b.params for b in design.blocks if b.kind == "conv"]
    assert [(g["xnor"], g["dsp_pack"], g["odw"]) for g in gen] == \
        [(q["XNOR"], q["DSP_PACK"], q["ODW"]) for q in mvaus]
    assert any(ly.thresholds is not None for ly in convs)
