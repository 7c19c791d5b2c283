# SPDX-License-Identifier: Apache-2.0
"""Typed parts of the cocotb benches: driver, monitor, model, checker, probe, config."""
