# SPDX-License-Identifier: Apache-2.0
"""Graph → Graph passes. Their order lives in :mod:`edgepool.passes.pipelines` only."""
