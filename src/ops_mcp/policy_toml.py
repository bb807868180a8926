"""The policy in force as TOML ``[agents.NAME]`` tables (``ops-mcp policy export``).

Only what agent tables hold is written: strings, integers, lists of strings and tables of strings. The
output parses back (``tomllib``) into the same ``AgentConfig``.
"""

from __future__ import annotations

import json
import re
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_key(key: str) -> str:
    return key if _BARE.match(key) else _string(key)


def _string(value: str) -> str:
    # A JSON string is a valid TOML basic string for everything json.dumps emits (\" \\ \n \uXXXX ...).
    return json.dumps(value, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{toml_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
            if value
            else "{}"
        )
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def agents_toml(tables: dict[str, dict[str, Any]], header: str = "") -> str:
    lines = [f"# {line}" for line in header.splitlines()] if header else []
    for name, table in tables.items():
        if lines:
            lines.append("")
        lines.append(f"[agents.{toml_key(name)}]")
        lines += [f"{toml_key(key)} = {_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"
