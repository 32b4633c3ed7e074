"""Test-session setup: LSL stays on loopback before any binding can be imported."""

import os
from pathlib import Path

LOOPBACK_CFG = Path(__file__).resolve().parents[1] / "application" / "composition" / "lsl_loopback.cfg"
os.environ["LSLAPICFG"] = str(LOOPBACK_CFG)
