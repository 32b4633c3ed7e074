"""Which version of a stream's samples a signal viewer shows (issue #14): a stream with a
conditioning chain offers "conditioned" (what the ring buffer, display and predict see; shown
first) and "raw" (the samples before the chain, as recorded: `Stream.display(raw=True)`); one
without offers only "acquired". Pure; no ImGui.
"""

from __future__ import annotations

from typing import Any

from hexloop.domain.conditioning import describe_chain

#: Versions of the samples a viewer can show (ViewerSettings.signal): "acquired" for a stream
#: without conditioning, "conditioned" / "raw" (before the chain, as recorded) for one with.
SIGNALS = ("acquired", "conditioned", "raw")
#: The choices a stream offers (signal_choices): the first is shown until the user picks another.
ACQUIRED_SIGNALS = ("acquired",)
CONDITIONED_SIGNALS = ("conditioned", "raw")


def signal_choices(stream: Any) -> tuple[str, ...]:
    """("conditioned", "raw") for a stream with a conditioning chain, else ("acquired",)."""
    return CONDITIONED_SIGNALS if getattr(stream, "conditioning", None) else ACQUIRED_SIGNALS


def shown_signal(stream: Any, settings: Any) -> str:
    """The signal the viewer shows: the chosen one if the stream offers it, else its first."""
    choices = signal_choices(stream)
    return settings.signal if settings.signal in choices else choices[0]


def shows_raw(stream: Any, settings: Any) -> bool:
    """Whether the viewer reads the stream's raw view (before its conditioning chain)."""
    return shown_signal(stream, settings) == "raw"


def choose_signal(settings: Any, signal: str) -> None:
    """Switch the viewer to `signal`; the scales start afresh, since raw and conditioned
    samples differ in offset and size (a raw electrode offset would hide a filtered trace)."""
    if signal == settings.signal:
        return
    settings.signal = signal
    settings.centers = None
    settings.spacing = 0.0
    settings.heat_scale = 0.0


def signal_label(stream: Any, settings: Any) -> str:
    """The plot's title naming what it shows; "" for a stream without conditioning."""
    signal = shown_signal(stream, settings)
    if signal == "raw":
        return "raw (before conditioning, as recorded)"
    if signal == "conditioned":
        conditioning = stream.conditioning
        chain = getattr(conditioning, "chain", None) or getattr(conditioning, "specs", None) or ()
        return f"conditioned: {describe_chain(chain)}"
    return ""
