"""The command line that serves the live view: ``python -m solara run v2gsim.view.app``.

``v2gsim view`` starts it (with the scenario in ``$V2GSIM_VIEW_SCENARIO``, read by
:mod:`v2gsim.view.app`); tests start it the same way. Imports only the standard library.
"""

from __future__ import annotations

import sys

__all__ = ["SCENARIO_VARIABLE", "view_command"]

#: The environment variable :mod:`v2gsim.view.app` reads the scenario from (empty: the default).
SCENARIO_VARIABLE = "V2GSIM_VIEW_SCENARIO"


def view_command(port: int, host: str = "localhost") -> list[str]:
    """The ``solara run`` command line serving :mod:`v2gsim.view.app`, as an argument list (no shell).

    Args:
        port: port to listen on.
        host: host to listen on.
    """
    return [sys.executable, "-m", "solara", "run", "v2gsim.view.app", "--host", host, "--port", str(port),
            "--no-open", "--production"]
