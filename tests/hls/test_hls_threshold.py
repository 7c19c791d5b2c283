# SPDX-License-Identifier: Apache-2.0
"""C simulation of the HLS multi-threshold unit (hls/include/edgepool/threshold.h) over random
configurations (lanes, thresholds 1..255, directions, ties), against edgepool.ir.kernels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hls_csim import compile_tb, divisors, load, read_counts, run_tb, save

from edgepool.ir import kernels as K
from edgepool.ir.qtype import QType

pytestmark = pytest.mark.csim

OUTS = [(QType(2, True, 0, True), True), (QType(2, True, 0, True), False),
        (QType(2, True), False), (QType(3, False), False), (QType(8, False), False),
        (QType(4, True), False)]

RUNNER = r"""
template <class CFG>
void run_thr(const std::string& p) {
    tb::vec acc = tb::read_i64(p + ".in"), t = tb::read_i64(p + ".t"), d = tb::read_i64(p + ".d");
    static ap_int<CFG::TB> thr[CFG::C][CFG::N];
    static ap_int<2> dir[CFG::C];
    for (int c = 0; c < CFG::C; c++) {
        dir[c] = (int)d[c];
        for (int k = 0; k < CFG::N; k++) thr[c][k] = t[c * CFG::N + k];
    }
    const int pixels = (int)(acc.size() / CFG::C);
    hls::stream<ap_uint<CFG::PE * CFG::AB> > in("in");
    hls::stream<ap_uint<CFG::PE * CFG::OB> > out("out");
    for (int i = 0; i < pixels * CFG::C / CFG::PE; i++) {
        ap_uint<CFG::PE * CFG::AB> w = 0;
        for (int l = 0; l < CFG::PE; l++) set_lane<CFG::AB>(w, l, acc[i * CFG::PE + l]);
        in.write(w);
    }
    reset_counts();
    threshold_layer<CFG>(in, out, thr, dir, pixels);
    tb::vec y;
    for (int i = 0; i < pixels * CFG::C / CFG::PE; i++) {
        ap_uint<CFG::PE * CFG::OB> w = out.read();
        for (int l = 0; l < CFG::PE; l++) y.push_back(get_lane<CFG::OB>(w, l, true).to_int64());
    }
    tb::write_i64(p + ".out", y);
    tb::write_counts(p + ".cnt");
}
"""


def test_threshold_unit_random_configs(tmp_path: Path) -> None:
    rng = np.random.default_rng(13)
    decls, body, cases = [], [], []
    for i in range(24):
        out, bipolar = OUTS[int(rng.integers(len(OUTS)))]
        n = 1 if bipolar else out.max - out.min
        ab = int(rng.choice([6, 12, 20]))
        c = int(rng.choice([1, 3, 4, 8]))
        pe = int(rng.choice(divisors(c)))
        pixels = int(rng.integers(1, 6))
        acc_t = QType(ab, True)
        t = np.sort(rng.integers(acc_t.min, acc_t.max + 2, (c, n)), axis=1)
        tb_bits = max(int(np.abs(t).max()).bit_length() + 1, 2)
        acc = rng.integers(acc_t.min + 1, acc_t.max + 1, (pixels, c))
        ties = rng.random(acc.shape) < 0.3
        acc[ties] = np.clip(t[np.nonzero(ties)[1], rng.integers(0, n, ties.sum())],
                            acc_t.min + 1, acc_t.max)
        d = rng.choice([-1, 1], c)
        base, step = (-1, 2) if bipolar else (out.min, 1)
        ob = 2 if bipolar else out.bits + (0 if out.signed else 1)
        name = f"th{i}"
        decls.append(f"typedef threshold_config<{ab}, {tb_bits}, {ob}, {n}, {c}, {pe}, {base}, "
                     f"{step}> {name};\n")
        body.append(f'    run_thr<{name}>(d + "/{name}");\n')
        save(tmp_path / f"{name}.in", acc)
        save(tmp_path / f"{name}.t", t)
        save(tmp_path / f"{name}.d", d)
        cases.append((name, acc, t, d, out, bipolar, pe))
    src = ('#include "tb_util.h"\n#include "edgepool/threshold.h"\n#include <string>\n'
           "using namespace edgepool;\n" + RUNNER + "".join(decls)
           + "int main(int, char** argv) {\n    const std::string d = argv[1];\n"
           + "".join(body) + "    return 0;\n}\n")
    run_tb(compile_tb(src, "threshold"), tmp_path)
    for name, acc, t, d, out, bipolar, pe in cases:
        ref = K.threshold(acc, t, out, bipolar, d).ravel()
        assert np.array_equal(load(tmp_path / f"{name}.out"), ref), name
        # II = 1: one iteration per word of PE accumulators
        assert read_counts(tmp_path / f"{name}.cnt") == {"threshold": acc.size // pe}
