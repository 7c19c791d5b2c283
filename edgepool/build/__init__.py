# SPDX-License-Identifier: Apache-2.0
"""``edgepool build``: the staged compiler (:mod:`.driver`), its stages, one typed step each
with its manifest sections (:mod:`.stages`), the state they share (:mod:`.context`) and the
build's report.md (:mod:`.report`)."""

from .context import BuildContext, BuildResult
from .driver import build, check_target, restore
from .stages import REGISTRY, STAGES, Stage

__all__ = ["BuildContext", "BuildResult", "REGISTRY", "STAGES", "Stage", "build",
           "check_target", "restore"]
