"""FakeRenderer: calls the UI functions in a loop without drawing anything, counting frames."""

from __future__ import annotations

import time

from hexloop.ports.renderer import RenderTarget


class FakeRenderer:
    def __init__(self, frame_s: float = 0.01):
        self.frame_s = frame_s
        self.frames = 0

    def run(self, target: RenderTarget) -> None:
        while not target.exit_requested:
            for fn in target.ui_functions:
                fn(target.ctx)
            self.frames += 1
            time.sleep(self.frame_s)
