"""Entry module of ``solara run`` for ``v2gsim view``: the page of ``$V2GSIM_VIEW_SCENARIO``."""

from __future__ import annotations

import os

from v2gsim.view.page import make_page
from v2gsim.view.serve import SCENARIO_VARIABLE

page = make_page(os.environ.get(SCENARIO_VARIABLE) or None)
