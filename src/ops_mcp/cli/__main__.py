"""``python -m ops_mcp.cli``: the same as the ``ops-mcp`` command."""

import sys

from . import main

sys.exit(main())
