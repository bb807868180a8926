"""``OPS_MCP_<SECTION>__<KEY>`` environment variables, laid over the configuration file's data.

What pydantic-settings' environment source did for ``Settings``, in the few lines this project needs:
pydantic-settings and python-dotenv cost ~12 ms of every start (import and the settings class), a tenth
of the start-up budget (benchmarks/RESULTS.md figure 1), for one feature. The rules are the same:

- names are case-insensitive; ``__`` separates levels (``OPS_MCP_SERVER__PORT``,
  ``OPS_MCP_BACKENDS__REMOTE__TOKEN``); only variables whose first level is a section of ``Settings``
  count, so ``OPS_MCP_CONFIG``, ``OPS_MCP_SECRET_KEY`` and the like are left to their readers;
- a value meant for a table or a list (``OPS_MCP_AGENTS='{"bot": {…}}'``) is JSON; anything else is the
  text, which validation converts (``"9100"`` → 9100) or refuses naming the key;
- the environment wins over the file, key by key (tables are merged, not replaced).
"""

from __future__ import annotations

import json
import os
import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

PREFIX = "ops_mcp_"
LEVELS = "__"


class EnvError(ValueError):
    """A variable that could not be read (names it)."""


def environment_overrides(model: type[BaseModel], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The nested data the ``OPS_MCP_*`` variables give ``model``'s fields (empty when none do)."""
    found: dict[str, Any] = {}
    # Deeper keys last, so that OPS_MCP_SERVER__PORT refines a whole OPS_MCP_SERVER='{…}' rather than losing to it.
    named = sorted(((name.lower(), name, value) for name, value in (environ or os.environ).items()
                    if name.lower().startswith(PREFIX)), key=lambda item: item[0].count(LEVELS))
    for lowered, name, value in named:
        path = lowered[len(PREFIX):].split(LEVELS)
        if path[0] not in model.model_fields or not all(path):
            continue
        leaf = _decoded(name, value, _annotation_at(model, path))
        merge_into(found, _nested(path, leaf))
    return found


def merge_into(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` laid onto ``base`` (in place): tables merge key by key, anything else is replaced."""
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            base[key] = merge_into(dict(base[key]), value)
        else:
            base[key] = value
    return base


def _nested(path: list[str], leaf: Any) -> dict[str, Any]:
    node: Any = leaf
    for key in reversed(path):
        node = {key: node}
    return node


def _decoded(name: str, value: str, annotation: Any) -> Any:
    if not _structured(annotation):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        raise EnvError(f"{name}: expected JSON (a table or a list), got {value[:40]!r}: {exc}") from None


def _annotation_at(model: type[BaseModel], path: list[str]) -> Any:
    """The type the field at ``path`` holds, or None where the path names no field (validation names it)."""
    annotation: Any = model
    for key in path:
        annotation = _optional_inner(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(key)
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        else:
            return None
    return annotation


def _optional_inner(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(inner) == 1:
            return inner[0]
    return annotation


def _structured(annotation: Any) -> bool:
    """A table or a list (given as JSON), as opposed to a value written as text."""
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_structured(arg) for arg in get_args(annotation) if arg is not type(None))
    target = get_origin(annotation) or annotation
    return isinstance(target, type) and issubclass(target, (BaseModel, dict, list, tuple, set, frozenset))
