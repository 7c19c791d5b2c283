# SPDX-License-Identifier: Apache-2.0
"""Test tiers. Tools that `make setup` installs must be present (a missing one fails loudly);
only vendor tools and the board are skipped, with the reason printed."""

from __future__ import annotations

import os

import pytest

from edgepool import toolchain


def pytest_collection_modifyitems(config, items):
    have_vitis = toolchain.which("vitis_hls") is not None
    have_vivado = toolchain.which("vivado") is not None
    board = os.environ.get("EDGEPOOL_BOARD")
    for item in items:
        if "vivado" in item.keywords and not (have_vitis and have_vivado):
            item.add_marker(pytest.mark.skip(
                reason="vendor tools absent: vitis_hls/vivado not on PATH (source Vitis "
                       "settings64.sh to run this tier)"))
        if "board" in item.keywords and not board:
            item.add_marker(pytest.mark.skip(
                reason="no PYNQ board: run on the board with EDGEPOOL_BOARD=ultra96"))
