# SPDX-License-Identifier: Apache-2.0
"""The committed models meet their accuracy targets (evaluated, not retrained)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from quant_helpers import MODELS_DIR, SHIPPED

from edgepool.quant.export import brevitas_int_outputs, int_predictions
from edgepool.quant.trainer import artifact_suffix, load_trained


@pytest.mark.parametrize("name,bits,fname,target", SHIPPED, ids=lambda v: str(v))
def test_shipped_accuracy(name, bits, fname, target, test_sets) -> None:
    t = test_sets[name]
    assert t["x"].dtype == np.float32 and t["x"].ndim == 4 and t["y"].dtype == np.int64
    metrics = json.loads((MODELS_DIR / name / f"metrics{artifact_suffix(bits)}.json").read_text())
    assert metrics["bits"] == bits and metrics["n_test"] == len(t["y"])
    model = load_trained(name, bits, MODELS_DIR / name)
    acc = float((int_predictions(brevitas_int_outputs(model, t["x"])) == t["y"]).mean())
    assert acc >= target
    assert acc == pytest.approx(metrics["int_test_acc"], abs=1e-12)
    assert metrics["test_acc"] >= target
    # the shipped weights were selected on the validation split, never on the test set
    hist = metrics["history"]
    assert all(not any(k.startswith("test") for k in h) for h in hist)
    best = max(hist, key=lambda h: (h["val_acc"], -h["val_loss"]))
    assert metrics["selection"]["best_epoch"] == best["epoch"]
    assert metrics["val_acc"] == best["val_acc"] and metrics["n_val"] > 0
