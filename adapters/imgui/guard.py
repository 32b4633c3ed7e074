"""Drawing safely: `drawing()` (is there an ImGui frame?) and `call_guarded`, which runs a panel
and, when it raises, logs the error once and closes what it left open (`recover`).

Split out of renderer.py (#12); everything here is re-exported there and from
`hexloop.adapters.imgui`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from imgui_bundle import imgui
from imgui_bundle.imgui import internal as imgui_internal
from imgui_bundle.implot import internal as implot_internal


def drawing() -> bool:
    """True while an ImGui context exists (inside the window): @app.ui functions that also run
    under the headless renderer check it before drawing, since ImGui without one crashes."""
    return imgui.get_current_context() is not None


def call_guarded(fn: Callable[[Any], None], ctx: Any, source: str) -> bool:
    """Call fn(ctx); if it raises, log the error once and close what it left open. False then."""
    saved = imgui_internal.ErrorRecoveryState()
    imgui_internal.error_recovery_store_state(saved)
    try:
        fn(ctx)
        return True
    except Exception as e:  # noqa: BLE001 - one broken panel must not end the window
        ctx.log.error_once(f"gui {source}", e)
        recover(saved)
        return False


def recover(saved: Any) -> None:
    """Close what a failed panel left open (an ImPlot plot, ImGui windows, ids, styles)."""
    io = imgui.get_io()
    flags = (io.config_error_recovery_enable_assert, io.config_error_recovery_enable_debug_log,
             io.config_error_recovery_enable_tooltip)
    io.config_error_recovery_enable_assert = False
    io.config_error_recovery_enable_debug_log = False
    io.config_error_recovery_enable_tooltip = False
    try:
        try:
            if implot_internal.get_current_plot() is not None:
                from imgui_bundle import implot

                implot.end_plot()
        except Exception:  # noqa: BLE001, S110 - best effort; ImGui's recovery follows
            pass
        imgui_internal.error_recovery_try_to_recover_state(saved)
    finally:
        (io.config_error_recovery_enable_assert, io.config_error_recovery_enable_debug_log,
         io.config_error_recovery_enable_tooltip) = flags
