# SPDX-License-Identifier: Apache-2.0
"""Trainer options beyond LeNet: per-channel power-of-two weight scales (exact through the
importer: the golden interpreter equals Brevitas's integers), the bnn_pynq MLPs as ``--arch``,
and the CLI's refusals."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import edgepool
from edgepool.cli import main
from edgepool.errors import ConfigError
from edgepool.ir.interp import run_codes
from edgepool.quant.export import brevitas_quant_outputs
from edgepool.quant.models import get_model_info
from edgepool.quant.presets import preset
from edgepool.quant.trainer import artifact_suffix, load_trained, train


def test_per_channel_presets_and_suffixes() -> None:
    assert preset(4, True).weight_pc is not None and preset(8).weight_pc is None
    assert preset(8, True).layer_weight(last=True) is preset(8).weight
    with pytest.raises(ConfigError, match="per-channel"):
        preset(16, True)
    assert artifact_suffix(4, True) == "-w4.pc" and artifact_suffix(8, True) == "-w8.pc"
    assert artifact_suffix(8) == "" and artifact_suffix(4) == "-w4"


def test_per_channel_training_is_exact_in_the_interpreter(tmp_path) -> None:
    """One epoch of lenet-digits with per-channel 4-bit weights: distinct power-of-two scales
    per output channel, and the imported graph's integer outputs equal Brevitas's exactly."""
    r = train("lenet-digits", 4, tmp_path, epochs=1, seed=0, progress=False, per_channel=True)
    assert r.onnx.name == "lenet-digits-w4.pc.onnx"
    model = load_trained("lenet-digits", 4, tmp_path, per_channel=True)
    scales = model.layers[0].quant_weight().scale.detach().reshape(-1).numpy()
    assert scales.size == 16 and np.all(np.frexp(scales)[0] == 0.5)     # powers of two
    x = np.load(tmp_path / "test.npz")["x"]
    (codes, qtype), = run_codes(edgepool.load(r.onnx), x)
    ref, frac = brevitas_quant_outputs(model, x)
    assert qtype.frac == frac and np.array_equal(codes, ref)


@pytest.mark.slow
def test_bnn_pynq_arch_trains(tmp_path) -> None:
    r = train("tfc_1w1a", 8, tmp_path, epochs=1, seed=0, progress=False)
    assert get_model_info("tfc_1w1a").bnn_pynq and r.int_test_acc is None
    assert 0.0 <= r.test_acc <= 1.0 and r.onnx.exists()


@pytest.mark.parametrize("args", [[], ["lenet-digits", "--arch", "tfc_1w1a"],
                                  ["--arch", "lenet-digits"]])
def test_cli_train_refuses_bad_model_choice(args, tmp_path) -> None:
    res = CliRunner().invoke(main, ["train", *args, "-o", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    assert "NAME or --arch" in res.output or "not a bnn_pynq MLP" in res.output
    assert not (tmp_path / "o").exists()
