# SPDX-License-Identifier: Apache-2.0
"""Accuracy impact of the activation word length (for trained models with a test set).

A model's types are fixed by quantization-aware training. This study measures

* the accuracy of every *shipped* bit width (the trained artifacts, e.g. 8/16/4-bit lenet-digits)
  with the golden model of its lowered program (:func:`edgepool.accel.lower.run_lowered`, equal
  to the interpreter ``edgepool.load(path).run(x)``: tested, and about a third faster), and
* post-training re-quantized variants of the program: every activation (the input and each
  requantized layer output) moved to ``b`` bits keeping its integer range (the MSB stays, the
  LSB moves: ``frac' = frac - (bits - b)``); weights stay as trained; biases are re-aligned to the
  new accumulator fraction (rounded half to even). These run on the program's golden model
  (:func:`edgepool.accel.lower.run_lowered`, equal to the interpreter for the unchanged
  program) and are *not trained*: indicative only, marked as such in the table.

For each row the design-space exploration is rerun on the modified program, so the latency and
resources are what the DSE would choose at that word length.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..accel.lower import lower_to_hw, run_lowered
from ..accel.program import HwProgram
from ..ir import kernels as K
from ..ir.qtype import QType
from ..passes.pipelines import load
from ..targets import Board
from .explore import chosen_of, explore
from .space import DseSpace, is_accumulator_output

ACT_WIDTHS = (4, 6, 8, 10, 12, 16)


@dataclass(frozen=True)
class WordLengthRow:
    """One line of the study."""

    model: str
    act_bits: int
    w_bits: int
    trained: bool
    accuracy: float
    n_images: int
    latency_s: float
    dsp: int
    bram36: int
    lut: int
    config: str


def _move(t: QType, bits: int) -> QType:
    return QType(bits, t.signed, t.frac - (t.bits - bits), t.narrow)


def requantize_activations(program: HwProgram, host, bits: int):
    """``(program', host')`` with every activation at ``bits`` bits (integer range kept, see the
    module docstring); a final raw accumulator output stays an accumulator."""
    new_in = _move(host.input_type, bits)
    layers = []
    cur = new_in
    for layer in program.layers:
        if layer.kind != "conv":
            layers.append(layer.with_(in_type=cur, out_type=cur))
            continue
        delta = cur.frac - layer.in_type.frac
        acc_frac = layer.acc_frac + delta
        bias = layer.bias
        if bias is not None:
            bias = K.shift_round(np.asarray(bias, np.int64), -delta) if delta < 0 else \
                np.asarray(bias, np.int64) << delta
        acc_bits = min(64, max(2, layer.acc_bits + (bits - layer.in_type.bits)))
        if is_accumulator_output(layer):
            out = QType(layer.out_type.bits, True, acc_frac)
        else:
            out = _move(layer.out_type, bits)
        layers.append(layer.with_(in_type=cur, out_type=out, acc_frac=acc_frac, bias=bias,
                                  acc_bits=acc_bits))
        cur = out
    prog = HwProgram(f"{program.name}@a{bits}", tuple(layers))
    return prog, replace(host, input_type=new_in, output_type=layers[-1].out_type)


def program_accuracy(program: HwProgram, host, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of the program's golden model on ``(x, y)``."""

    out = run_lowered(program, host, x)
    return float((np.asarray(out).reshape(len(y), -1).argmax(1) == y).mean())


def _dse_row(name: str, program: HwProgram, board: Board, space: DseSpace, act_bits: int,
             w_bits: int, trained: bool, acc: float, n: int) -> WordLengthRow:

    try:
        c = chosen_of(explore(program, board, space, jobs=1))
        return WordLengthRow(name, act_bits, w_bits, trained, acc, n, c.latency_s, c.dsp,
                             c.bram36, c.lut, c.label())
    except Exception as e:                                     # noqa: BLE001 - reported
        return WordLengthRow(name, act_bits, w_bits, trained, acc, n, float("nan"), 0, 0, 0,
                             f"no fit: {str(e).splitlines()[0]}")


def _bits_of(program: HwProgram) -> tuple[int, int]:
    a = program.in_type.bits
    w = max((layer.weight_type.bits for layer in program.layers if layer.weight_type), default=0)
    return a, w


def word_length_study(program: HwProgram, host, test_set: Path, board: Board,
                      space: DseSpace | None = None, siblings: tuple[Path, ...] = (),
                      widths: tuple[int, ...] = ACT_WIDTHS) -> list[WordLengthRow]:
    """The rows of the study (see module docstring): the program as trained, its shipped
    siblings (other trained bit widths, interpreter accuracy), then the re-quantized variants."""

    space = space or DseSpace()
    data = np.load(test_set)
    x, y = data["x"], data["y"]
    rows = []
    a0, w0 = _bits_of(program)
    rows.append(_dse_row(program.name, program, board, space, a0, w0, True,
                         program_accuracy(program, host, x, y), len(y)))
    for path in siblings:
        prog, h = lower_to_hw(load(path))
        acc = program_accuracy(prog, h, x, y)
        a, w = _bits_of(prog)
        rows.append(_dse_row(path.stem, prog, board, space, a, w, True, acc, len(y)))
    for b in widths:
        if b == a0:
            continue
        prog, h = requantize_activations(program, host, b)
        rows.append(_dse_row(prog.name, prog, board, space, b, w0, False,
                             program_accuracy(prog, h, x, y), len(y)))
    return rows


def study_markdown(rows: list[WordLengthRow]) -> str:
    """The study as a markdown section."""
    lines = ["## Word length: accuracy vs latency", "",
             "Trained rows are the shipped quantization-aware-trained artifacts. Other rows "
             "re-quantize the activations of the first row's program after training (integer "
             "range kept, LSBs dropped or added; weights as trained): **not trained, indicative "
             "only**; wider-than-trained activations cannot add information the training did "
             "not use. Latency and resources: the DSE's choice for that program.", "",
             "| model | activations | weights | trained | accuracy | latency [ms] | DSP | "
             "BRAM36 | LUT | chosen configuration |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.model} | {r.act_bits} | {r.w_bits} | {'yes' if r.trained else 'no'} "
                     f"| {r.accuracy:.2%} ({r.n_images}) | {r.latency_s * 1e3:,.4f} | {r.dsp} | "
                     f"{r.bram36} | {r.lut:,} | {r.config} |")
    return "\n".join(lines) + "\n"
