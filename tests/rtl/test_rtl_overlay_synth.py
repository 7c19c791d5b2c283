# SPDX-License-Identifier: Apache-2.0
"""Yosys (the system 0.23) synthesizes the RTL overlay IP for UltraScale+: a small overlay
through ``synth_xilinx -family xcup`` up to its DSP and block RAM inference (target
``xcup-dsp-bram``; the LUT mapping, most of the run time, is what benchmarks/rtl_synth_overlay.py
adds), with counts that follow from the capacities."""

from __future__ import annotations

import re

import pytest

from edgepool.accel.engine import OverlayParams
from edgepool.codegen.synth import synth_overlay

SMALL = OverlayParams(simd=4, pe=8, lb_words=512, wbuf_words=256, plb_words=256,
                      splb_words=256)


@pytest.mark.slow
@pytest.mark.rtlsim
def test_small_overlay_dsp_and_block_ram(tmp_path):
    rep = synth_overlay(SMALL, target="xcup-dsp-bram", workdir=tmp_path)
    t = rep.cell_types
    print(t)
    log = (tmp_path / "synth.log").read_text(errors="replace")
    assert re.search(r"Top module:\s+\\edgepool_overlay", log)
    # block RAM from the buffer shapes (RAMB36E2 at most 72 bits x 512, RAMB18E2 36 x 512):
    # the weight buffer, 256 words of PE*SIMD*8 = 256 bits -> ceil(256 / 72) = 4 RAMB36; the
    # pool buffer, 256 words of PE*8 = 64 bits -> 1 RAMB36; the line buffer, 512 words of
    # SIMD*8 = 32 bits -> 1 RAMB18; the bias buffer and the FIFOs are small (LUT RAM)
    assert t.get("RAMB36E2", 0) == 4 + 1
    assert t.get("RAMB18E2", 0) == 1
    # two int8 lanes of the MAC array share one DSP48E2 (x * (w_hi * 2^18 + w_lo)); the rest
    # are the control's run-time address and size products, each one 17 x 26-bit DSP
    macs = SMALL.pe * SMALL.simd
    assert t.get("DSP48E2", 0) == macs // 2 + ADDRESS_DSP


#: DSP48E2 of the small overlay's address / size arithmetic (Yosys 0.23, measured; 187 before
#: the products were narrowed and the 64-bit byte addresses became pointers, when the MACs
#: took one DSP each)
ADDRESS_DSP = 40
