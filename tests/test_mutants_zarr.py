"""Tests that kill mutants which survived `make mutation` over adapters/zarr/ (see docs/reliability.md).

Each test states the behaviour the surviving mutant broke without any other test noticing.
"""

import datetime as dt

import pytest

pytest.importorskip("zarr")

from hexloop.adapters.zarr.layout import session_folder_name  # noqa: E402


def test_the_session_folder_name_keeps_at_most_40_safe_characters_of_the_slug():
    # Survivor: the slug limit 40 raised to 41. The folder name is
    # <16-character UTC stamp>_<slug>_<8-hex id>, so a pasted-in description cannot make a
    # path too long for archive tools; unsafe characters become '_'.
    created = dt.datetime(2025, 3, 1, 11, 15, 2, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    name = session_folder_name(created, "p01 / right arm: " + "x" * 100, "3fa2c1d0")
    slug = "p01_right_arm_" + "x" * (40 - len("p01_right_arm_"))
    assert name == f"20250301T101502Z_{slug}_3fa2c1d0"
    assert session_folder_name(created, "../", "3fa2c1d0") == "20250301T101502Z_session_3fa2c1d0"
