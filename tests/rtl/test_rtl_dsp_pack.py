# SPDX-License-Identifier: Apache-2.0
"""ep_mvau's DSP packing (two <= 8-bit MACs per DSP48E2, ``DSP_PACK``) is bit-exact: the
packed and the unpacked RTL against the golden model, with the extreme int8 values
(-128 * -128 accumulated over a whole window, 255 * -128 for unsigned activations)."""

from __future__ import annotations

import numpy as np
import pytest

from edgepool.accel.program import HwLayer, HwProgram, run_reference
from edgepool.codegen.rtl import LayerFolding
from edgepool.ir.qtype import QType
from edgepool.runtime.rtlsim import simulate_program

pytestmark = pytest.mark.rtlsim


def _program(in_signed: bool, pe: int) -> tuple[HwProgram, dict]:
    tin = QType(8, in_signed, 6)
    wt = QType(8, True, 7)                       # not narrow: -128 is a legal weight
    rng = np.random.default_rng(3)
    oc, c, k = 6, 4, 3
    weights = rng.integers(-128, 128, size=(oc, k, k, c))
    weights[0] = -128                            # the extreme lanes, packed low and high
    weights[1] = -128
    weights[2] = 127
    acc_frac = tin.frac + wt.frac
    tout = QType(16, True, acc_frac - 4)
    bias = rng.integers(-(1 << 14), 1 << 14, size=oc)
    layer = HwLayer("pack", "conv", (5, 5, c), (0, 0, oc), tin, tout, kernel=(k, k),
                    stride=(1, 1), pads=(1, 1, 1, 1), weights=weights, weight_type=wt,
                    bias=bias, acc_frac=acc_frac, relu=False)
    oh, ow = layer.conv_out_hw
    layer = layer.with_(out_shape=(oh, ow, oc))
    return HwProgram(f"pack{int(in_signed)}{pe}", (layer,)), {"pack": LayerFolding(pe, 2)}


@pytest.mark.parametrize("in_signed,pe", [(True, 6), (False, 3)])
def test_dsp_packing_bit_exact_with_extreme_int8(in_signed, pe):
    program, folding = _program(in_signed, pe)
    t = program.in_type
    shape = program.in_shape
    images = [np.full(shape, t.min), np.full(shape, t.max),
              np.where(np.indices(shape).sum(0) % 2 == 0, t.min, t.max),
              *[np.random.default_rng(s).integers(t.min, t.max, size=shape, endpoint=True)
                for s in range(3)]]
    outs = {}
    for pack in (True, False):
        res = simulate_program(program, images, folding=folding, backpressure=0.3,
                               input_gaps=0.2, seed=5, dsp_pack=pack)
        assert res.frames == list(range(len(images)))
        outs[pack] = res.outputs
        for img, out in zip(images, res.outputs, strict=True):
            assert np.array_equal(out, run_reference(program, img))
    assert all(np.array_equal(a, b) for a, b in zip(outs[True], outs[False], strict=True))
