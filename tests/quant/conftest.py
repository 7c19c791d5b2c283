# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the quantization tests (helpers live in quant_helpers.py)."""

from __future__ import annotations

import numpy as np
import pytest
from quant_helpers import MODELS_DIR


@pytest.fixture(scope="session")
def test_sets() -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for name in ("lenet-digits", "lenet-mnist", "resnet-mnist", "dwsep-mnist"):
        with np.load(MODELS_DIR / name / "test.npz") as t:
            out[name] = {"x": t["x"], "y": t["y"]}
    return out
