"""Entry module of ``solara run`` for ``v2gsim view``: the page of ``$V2GSIM_VIEW_SCENARIO``."""

from __future__ import annotations

import os

from v2gsim.view.page import make_page

page = make_page(os.environ.get("V2GSIM_VIEW_SCENARIO") or None)
