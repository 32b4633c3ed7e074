"""matplotlib adapter: the training report drawn as `report.png` (confusion heat map and
learning curve), rendered off-screen with the Agg canvas (no window, no pyplot state).

Needs the `report` extra (matplotlib): `pip install "hexloop[report]"`.
"""

from hexloop.adapters._optional import optional

optional("matplotlib", extra="report", purpose="hexloop.adapters.matplotlib")

from .report import FIGURE_PIXELS, save_report_png

__all__ = ["FIGURE_PIXELS", "save_report_png"]
