"""The Renderer port: the main-thread loop (a window, or a status line when headless)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class RenderTarget(Protocol):
    """What a renderer drives: the app as seen from the main thread."""

    @property
    def ctx(self) -> Any: ...

    @property
    def ui_functions(self) -> Sequence[Callable[[Any], None]]: ...

    @property
    def exit_requested(self) -> bool: ...

    def request_exit(self) -> None: ...

    def status_line(self) -> str: ...


@runtime_checkable
class Renderer(Protocol):
    """`run` loops on the calling (main) thread until `target.exit_requested`, then returns.

    Nothing but the renderer's own thread touches its UI toolkit. `target.request_exit()` may
    come from any thread; `run` returns within about a second of it. Test with
    `contracts.check_renderer`; docs/adapters.md.
    """

    def run(self, target: RenderTarget) -> None: ...
