"""The pieces every view-model is made of: a button that may be refused, a line of text with a
tone, and the short text forms of durations and ages."""

from __future__ import annotations

import math

import attrs

#: Tones a drawing function maps to colours: "normal" text, "muted" (greyed), or a colour.
TONES = ("normal", "muted", "green", "orange", "red", "blue", "grey")


@attrs.frozen
class Button:
    """A button: enabled when `refusal` is None, else drawn disabled with the refusal as tooltip.
    `tooltip` is shown while it is enabled."""

    label: str
    refusal: str | None = None
    tooltip: str | None = None

    @property
    def enabled(self) -> bool:
        return self.refusal is None


@attrs.frozen
class Text:
    """A line (or table cell) of text, its tone, and an optional hover explanation."""

    text: str
    tone: str = attrs.field(default="normal", validator=attrs.validators.in_(TONES))
    tooltip: str | None = None


def age_text(age_s: float) -> str:
    """'230 ms' below a second, '4.2 s' above, '-' when nothing arrived yet."""
    if not math.isfinite(age_s):
        return "-"
    return f"{age_s * 1000:.0f} ms" if age_s < 1 else f"{age_s:.1f} s"


def duration_text(seconds: float) -> str:
    """'m:ss', or 'h:mm:ss' from an hour on."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:d}:{secs:02d}"
