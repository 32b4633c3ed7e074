"""The Cue panel: a protocol's cue, large, for the participant (`ctx.protocol`, set by the
application's ProtocolRunner); built like the other panels from a pure view-model
(viewmodels/cue.py) and a thin drawing function (views/cue.py)."""

from __future__ import annotations

from typing import Any

from .viewmodels.cue import apply_cue, cue_view
from .views.cue import draw_cue


def cue_panel(ctx: Any) -> None:
    protocol = getattr(ctx, "protocol", None)
    if protocol is None:
        return
    ramps = getattr(getattr(protocol, "spec", None), "ramp_s", 0) > 0
    apply_cue(protocol, draw_cue(cue_view(protocol.snapshot(), ramps)))
