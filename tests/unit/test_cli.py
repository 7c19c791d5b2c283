# SPDX-License-Identifier: Apache-2.0
"""The CLI end to end on a freshly trained (1 epoch) model: train → inspect → run."""

import numpy as np
from click.testing import CliRunner

import edgepool
from edgepool.cli import main


def test_train_inspect_run(tmp_path):
    r = CliRunner().invoke(main, ["train", "lenet-digits", "--bits", "8", "-o", str(tmp_path),
                                  "--epochs", "1"])
    assert r.exit_code == 0, r.output
    model = tmp_path / "lenet-digits.onnx"
    for f in ("lenet-digits.onnx", "test.npz", "metrics.json", "training_curve.png"):
        assert (tmp_path / f).stat().st_size > 0
    r = CliRunner().invoke(main, ["inspect", str(model), "--target", "ultra96"])
    assert r.exit_code == 0, r.output
    assert "all nodes supported" in r.output and "MACs" in r.output
    assert "accelerator layers lowerable" in r.output
    x = np.load(tmp_path / "test.npz")["x"][:17]
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "y.npy"
    r = CliRunner().invoke(main, ["run", str(model), "--input", str(tmp_path / "x.npy"),
                                  "--output", str(out)])
    assert r.exit_code == 0, r.output
    assert np.array_equal(np.load(out), edgepool.load(model).run(x))
    # several outputs / named inputs: the .npz form
    np.savez(tmp_path / "x.npz", input=x)
    r = CliRunner().invoke(main, ["run", str(model), "--input", str(tmp_path / "x.npz"),
                                  "--output", str(tmp_path / "y.npz")])
    assert r.exit_code == 0, r.output
    assert np.array_equal(np.load(tmp_path / "y.npz")["logits"], np.load(out))


def test_help_on_every_command():
    for cmd in ("train", "inspect", "run", "build", "dse", "sim", "demo"):
        r = CliRunner().invoke(main, [cmd, "--help"])
        assert r.exit_code == 0 and "Usage" in r.output, cmd
