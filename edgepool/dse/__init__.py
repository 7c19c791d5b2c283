# SPDX-License-Identifier: Apache-2.0
"""Design-space exploration: analytic cost model of the HLS accelerator (:mod:`.cost`)."""
