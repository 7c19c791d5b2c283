# SPDX-License-Identifier: Apache-2.0
"""The accelerator's model, defined once: the hardware program (:mod:`.program`), its lowering
from the IR (:mod:`.lower`), engine configurations and folding rules (:mod:`.engine`,
:mod:`.folding`), the overlay's descriptor format (:mod:`.descriptor`, :mod:`.pad`), stream
packing (:mod:`.axis`), the register map (:mod:`.regmap`) and the build manifest reader
(:mod:`.manifest`).

The compiler, the exploration, the code generators, the simulated device and the board driver
all import these modules; the standalone board package is generated from the same files.
"""
