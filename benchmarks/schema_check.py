"""Does a server's result for the read call match the ``outputSchema`` it advertised for that tool?

The SDK client refuses results that do not (SDK notes §2), so a mismatch means a real agent would
get an exception instead of data. Computed from one live call; the figures skip the client's check.
"""

from __future__ import annotations

from typing import Any

import jsonschema


def check(tools: list[dict[str, Any]], tool: str | None, result: dict[str, Any]) -> str:
    schema = next((t.get("outputSchema") for t in tools if t["name"] == tool), None)
    if schema is None:
        return "no outputSchema advertised"
    structured = result.get("structuredContent")
    if structured is None:
        return "no structuredContent returned"
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(structured))
    if error is None:
        return "result matches the advertised outputSchema"
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"result does NOT match the advertised outputSchema at `{where}`: {error.message[:160]}"
