# SPDX-License-Identifier: Apache-2.0
"""BuildConfig: every user-settable knob of a build, in one frozen, serializable dataclass.

It is stored in ``manifest.json`` (``"build_config"``) so a build directory says how it was made,
and ``--from STAGE`` resumes with the same settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from .errors import ConfigError

Style = Literal["auto", "dataflow", "overlay"]
Engine = Literal["auto", "rtl", "hls"]
ENGINES = ("auto", "rtl", "hls")


@dataclass(frozen=True)
class BuildConfig:
    """Knobs of ``edgepool build``.

    Attributes:
        target: board (``ultra96``, ``zcu104``, ``pynq-z2``) or CPU (``cortex-a53``, ``x86``).
        style: accelerator architecture: one engine per layer (``dataflow``), one
            runtime-configured engine with layer descriptors streamed by DMA (``overlay``), or
            let the design-space exploration choose (``auto``).
        clock_mhz: fabric clock; ``None`` lets the exploration choose among the board's clocks.
        margin: fraction of each FPGA resource (DSP, BRAM, LUT) a design may use (place & route
            needs slack).
        jobs: worker processes for the exploration (0 = all cores).
        engine: accelerator implementation: the cocotb-verified SystemVerilog IP (``rtl``),
            the Vitis HLS IP (``hls``), or ``auto`` = RTL wherever it supports the model and
            style, else HLS (the reason is recorded in the manifest's ``engine`` section).
        synth: run Yosys ``synth_xilinx`` on the generated RTL top and put its LUT / FF / DSP /
            BRAM counts into report.md (opt-in: tens of minutes for LeNet on a loaded machine).
        place: layer pins ``NAME=cpu|fabric`` (boards; :mod:`edgepool.tvm.placement`). A pin,
            or a model the fabric cannot run whole, makes a heterogeneous build.
    """

    target: str = "ultra96"
    style: Style = "auto"
    clock_mhz: float | None = None
    margin: float = 0.85
    jobs: int = 0
    engine: Engine = "auto"
    synth: bool = False
    place: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.style not in ("auto", "dataflow", "overlay"):
            raise ConfigError(f"unknown style {self.style!r}", "use auto, dataflow or overlay")
        if not 0.05 <= self.margin <= 1.0:
            raise ConfigError(f"margin {self.margin} outside 0.05..1.0",
                              "it is the fraction of each FPGA resource a design may use")
        if self.clock_mhz is not None and not 10 <= self.clock_mhz <= 1000:
            raise ConfigError(f"clock {self.clock_mhz} MHz is not plausible for a Zynq fabric")
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.engine!r}", "use auto, rtl or hls")
        if self.jobs < 0:
            raise ConfigError("jobs must be >= 0 (0 = all cores)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BuildConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown build settings {unknown}", f"known: {sorted(known)}")
        if "place" in d:
            d = {**d, "place": tuple(d["place"])}
        return cls(**d)
