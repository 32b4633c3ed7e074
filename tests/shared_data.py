"""Where the shared test data lives: `shared/` beside the checkout, as CI lays it out."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
UCI_EMG = SHARED / "data" / "uci-emg-gestures"
