"""Keep httpx's command-line client out of ops-mcp's start-up.

``import httpx`` runs ``from ._main import main`` for its CLI, which imports click and, where they are
installed (a test or dev environment: schemathesis brings them), rich and pygments: 10 ms with click
alone, ~50 ms more with the others, on every cold start and before the first call. ops-mcp never runs
that CLI, so until httpx is imported its ``_main`` module is a stand-in whose ``main`` loads the real
one on demand; nothing else of httpx changes.
"""

from __future__ import annotations

import sys
import types
from typing import Any

_NAME = "httpx._main"


def defer() -> None:
    if "httpx" in sys.modules or _NAME in sys.modules:
        return  # too late, or already done
    stand_in = types.ModuleType(_NAME, "Stand-in for httpx's CLI until it is run (ops_mcp._httpx_cli).")

    def main(*args: Any, **kwargs: Any) -> Any:
        if sys.modules.get(_NAME) is stand_in:
            del sys.modules[_NAME]
        import importlib

        return importlib.import_module(_NAME).main(*args, **kwargs)

    stand_in.main = main  # type: ignore[attr-defined]
    sys.modules[_NAME] = stand_in
