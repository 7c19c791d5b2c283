# SPDX-License-Identifier: Apache-2.0
"""Training is deterministic on this machine, selects its model on a validation split carved
from the training data (never the test set) and writes every artifact."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from edgepool.quant.export import brevitas_int_outputs
from edgepool.quant.models import get_model_info
from edgepool.quant.trainer import load_trained, split_dataset, split_validation, train


def _rows(x: np.ndarray) -> list[bytes]:
    return sorted(r.tobytes() for r in x.reshape(len(x), -1))


def test_training_twice_writes_byte_identical_weights(tmp_path) -> None:
    """What the README's "re-running rewrites the same weights" rests on: two runs in one
    process, on this machine's CPU and torch build (not a claim across CPUs or builds)."""
    a = train("lenet-digits", 8, tmp_path / "a", epochs=2, seed=3, progress=False)
    b = train("lenet-digits", 8, tmp_path / "b", epochs=2, seed=3, progress=False)
    assert a.state_dict.read_bytes() == b.state_dict.read_bytes()
    assert a.onnx is not None and b.onnx is not None
    assert a.onnx.read_bytes() == b.onnx.read_bytes()
    sa = torch.load(a.state_dict, weights_only=True)
    sb = torch.load(b.state_dict, weights_only=True)
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    ma, mb = (json.loads(r.metrics.read_text()) for r in (a, b))
    assert ma["history"] == mb["history"] and ma["selection"] == mb["selection"]
    assert (a.val_acc, a.test_acc, a.int_test_acc) == (b.val_acc, b.test_acc, b.int_test_acc)
    assert a.curve.exists() and b.curve.exists()
    with np.load(a.test_set) as ta, np.load(b.test_set) as tb:
        np.testing.assert_array_equal(ta["x"], tb["x"])
        np.testing.assert_array_equal(ta["y"], tb["y"])
    # a different seed gives different weights: the comparison above can fail
    c = train("lenet-digits", 8, tmp_path / "c", epochs=2, seed=4, progress=False, export=False)
    assert c.state_dict.read_bytes() != a.state_dict.read_bytes()


def test_validation_split_is_carved_from_the_training_part() -> None:
    info = get_model_info("lenet-digits")
    xtrain, ytrain, xte, yte = split_dataset(info, 0)
    xf, yf, xv, yv = split_validation(xtrain, ytrain, info.val_size, 0)
    assert len(xf) + len(xv) == len(xtrain) and len(xte) == info.test_size
    # fit + validation is exactly the training part (as multisets of images), so no test image
    # can be in either
    assert _rows(np.concatenate([xf, xv])) == _rows(xtrain)
    assert sorted(np.concatenate([yf, yv]).tolist()) == sorted(ytrain.tolist())
    # stratified: every class is in the validation split
    assert set(yv.tolist()) == set(ytrain.tolist())


def test_selected_epoch_is_the_best_on_validation(tmp_path) -> None:
    r = train("lenet-digits", 8, tmp_path, epochs=4, seed=1, patience=1, progress=False,
              export=False)
    m = json.loads(r.metrics.read_text())
    hist = m["history"]
    assert all("test_acc" not in h and "test_loss" not in h for h in hist), \
        "the test set must not be scored during training"
    best = max(hist, key=lambda h: (h["val_acc"], -h["val_loss"]))
    assert m["selection"]["best_epoch"] == best["epoch"] == r.best_epoch
    assert m["val_acc"] == best["val_acc"] == r.val_acc
    assert m["n_train"] + m["n_val"] + m["n_test"] == 1797
    # patience 1: the run stops at the first epoch that does not improve on the best
    assert r.epochs_run == len(hist) <= 4
    if r.epochs_run < 4:
        assert r.epochs_run - r.best_epoch == 1
    # the saved weights are the selected epoch's: their integer test accuracy is recorded
    model = load_trained("lenet-digits", 8, tmp_path)
    with np.load(r.test_set) as t:
        acc = float((brevitas_int_outputs(model, t["x"]).argmax(1) == t["y"]).mean())
    assert acc == pytest.approx(m["int_test_acc"], abs=1e-12)
