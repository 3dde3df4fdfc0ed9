"""``python -m v2gsim.cli``: the ``v2gsim`` console script."""

import sys

from v2gsim.cli import main

sys.exit(main())
