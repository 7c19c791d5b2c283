# SPDX-License-Identifier: Apache-2.0
"""The accelerator's configurations, each field defined once.

:class:`OverlayParams` holds the synthesis-time capacities of the layer-by-layer overlay (the
``OV`` config struct of ``hls/include/edgepool/overlay.h``). :class:`HlsConfig` is a complete
engine configuration — style, folding, stream width, clock and cost-model knobs — and *extends*
the overlay capacities rather than repeating them, so the compiler, the exploration, the code
generators, the simulated device and the board driver all read the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from ..errors import ConfigError, EngineUnsupportedError

#: most AXI read ports the RTL overlay streams FC weights over (a Zynq PS has four HP ports)
MAX_W_PORTS = 4
#: a weight word of at least this many bytes makes extra streaming ports pay (one burst per
#: word and port: shorter bursts leave the ports waiting on DDR latency)
W_PORT_MIN_WORD_BYTES = 256


@dataclass(frozen=True)
class OverlayParams:
    """Synthesis-time capacities of an overlay (the ``OV`` config struct of overlay.h; its C++
    is rendered by :func:`edgepool.codegen.hls.emit.overlay_struct`)."""

    simd: int = 8
    pe: int = 8
    act_bits: int = 8            # activation container in DDR: 8, 16 or 32
    w_bits: int = 8
    acc_bits: int = 32
    lb_words: int = 8192         # conv line buffer, words of SIMD lanes
    wbuf_words: int = 4096       # weight buffer, words of PE*SIMD lanes
    max_tile_nf: int = 8         # bias buffer = max_tile_nf * PE
    plb_words: int = 4096        # fused-pool line buffer, words of PE lanes
    splb_words: int = 4096       # standalone-pool line buffer, words of SIMD lanes
    sum_bits: int = 16           # pool sums (>= act_bits + 1 + log2(window))
    out_bits: int = 0            # final raw-accumulator output container (0: = act_bits)
    w_ports: int = 1             # RTL overlay: AXI read ports streaming FC weights (1..4)

    @property
    def out_container(self) -> int:
        """``OUT_BITS`` of overlay.h: the widest output element container (>= ACT_BITS)."""
        return max(self.out_bits, self.act_bits)

    @classmethod
    def from_mapping(cls, values: dict) -> OverlayParams:
        """The capacities named in ``values`` (e.g. a manifest's ``hls_config``); other keys are
        ignored, missing ones take their defaults."""
        return cls(**{f.name: int(values[f.name]) for f in fields(cls) if f.name in values})


def rq_lanes(p: OverlayParams) -> int:
    """Requantizers of the RTL overlay: every PE lane up to 8 lanes, else PE / 4 (at least 8):
    an output word of PE lanes takes PE / rq_lanes cycles, hidden behind the KH*KW*CF MAC steps
    of any layer with at least that many."""
    lanes = max(8, p.pe // 4)
    return lanes if p.pe > 8 and p.pe % lanes == 0 else p.pe


@dataclass(frozen=True)
class HlsConfig(OverlayParams):
    """A hardware configuration of the accelerator engine.

    The overlay capacities are inherited from :class:`OverlayParams`. ``pe`` / ``simd`` are one
    value (overlay, or every dataflow layer) or one per layer (dataflow). ``act_bits`` is the
    activation container of the overlay's DDR buffers; the dataflow engines use each layer's
    own types. ``depth`` is the pipeline depth charged per invocation of a pipelined loop
    (calibrate against Vitis' schedule report). ``ddr_port_gbps`` caps every overlay DMA
    transfer at the sustained bandwidth of one HP port (GB/s; e.g. the board's
    ``memory.ddr_gbps / hp_ports``): a transfer of ``B`` bytes then takes at least
    ``B / (ddr_port_gbps / clock)`` cycles. 0 keeps the port-width bound alone.
    """

    pe: int | tuple[int, ...] = 1          # type: ignore[assignment]
    simd: int | tuple[int, ...] = 1        # type: ignore[assignment]
    style: Literal["dataflow", "overlay"] = "dataflow"
    act_frac: int = 6
    w_frac: int = 7
    dma_bits: int = 64
    clock_mhz: float = 200.0
    int8_dsp_packing: bool = True
    depth: int = 10
    ddr_port_gbps: float = 0.0   # sustained DDR bandwidth of one m_axi port (0 = port-width bound)

    def pe_of(self, i: int) -> int:
        """PE of layer ``i`` (the one PE of the overlay)."""
        return self.pe if isinstance(self.pe, int) else self.pe[i]

    def simd_of(self, i: int) -> int:
        """SIMD of layer ``i`` (the one SIMD of the overlay)."""
        return self.simd if isinstance(self.simd, int) else self.simd[i]

    def overlay_params(self) -> OverlayParams:
        """The overlay capacities of this configuration."""
        if not (isinstance(self.pe, int) and isinstance(self.simd, int)):
            raise ValueError("the overlay has one PE and one SIMD")
        return OverlayParams(**{f.name: getattr(self, f.name) for f in fields(OverlayParams)})


# --------------------------------------------------------------------------- engine choice
#: which accelerator styles have an RTL implementation that goes into the bitstream (the
#: dataflow chain of ``sim/rtl`` and the RTL overlay ``sim/rtl/ep_ovl_*.sv``)
RTL_STYLES: dict[str, bool] = {"dataflow": True, "overlay": True}
ENGINE_NAMES = ("rtl", "hls")


@dataclass(frozen=True)
class EngineChoice:
    """The engine a build uses for its accelerator and why (the manifest's ``engine``)."""

    name: Literal["rtl", "hls"]
    reason: str
    style: str
    requested: str = "auto"
    #: what the RTL datapath cannot do for this program (empty when it can)
    rtl_problems: tuple[str, ...] = ()


def choose_engine(style: str, requested: str, rtl_problems: list[str] | tuple[str, ...]
                  ) -> EngineChoice:
    """Pick the accelerator engine of a build.

    ``style`` is the chosen configuration's style, ``requested`` the user's ``--engine``
    (``auto``, ``rtl`` or ``hls``), ``rtl_problems`` what the RTL datapath cannot do for the
    program (see :func:`edgepool.build.engine.rtl_problems`). ``auto`` takes the RTL wherever
    it supports the style and the program, else the HLS engine; ``rtl`` on a program or style
    the RTL cannot run raises :class:`~edgepool.errors.EngineUnsupportedError` naming each
    problem and suggesting ``--engine hls``.
    """
    if requested not in ("auto", *ENGINE_NAMES):
        raise ConfigError(f"unknown engine {requested!r}", "use auto, rtl or hls")
    problems = tuple(rtl_problems)
    if not RTL_STYLES.get(style, False):
        problems = (f"style {style!r}: the RTL engine has no {style} implementation yet "
                    f"(RTL styles: {', '.join(s for s, ok in RTL_STYLES.items() if ok)})",
                    *problems)
    if requested == "hls":
        return EngineChoice("hls", "requested (--engine hls)", style, requested, problems)
    if requested == "rtl":
        if problems:
            raise EngineUnsupportedError(
                "rtl", list(problems),
                "build with --engine hls (the Vitis HLS IP runs every lowered model), or "
                "--engine auto to let edgepool fall back to it")
        return EngineChoice("rtl", "requested (--engine rtl)", style, requested, problems)
    if problems:
        return EngineChoice("hls", "auto: the RTL engine cannot run this build: "
                            + "; ".join(problems), style, requested, problems)
    return EngineChoice("rtl", f"auto: the RTL engine supports every layer of this {style} "
                        "program (the cocotb-verified IP is the default)", style, requested)
