"""Discovery-mode search quality: does the right tool rank in the top 3 for realistic task phrasings?

Run: ``python -m benchmarks.discovery_eval`` (``--json`` for the full result). The phrasings
(``discovery_phrasings.py``) are written the way a person asks an assistant, not copied from tool
summaries; each names the tool that does the job. The index sees every tool of both back ends (an
agent with ``remote.* = full`` and ``remoteops.* = full``), the hardest case. Reports the tuning set
and the held-out set (written after tuning, never tuned on) separately, and what the three meta-tools
cost in tokens against the full catalogue tool list.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from .discovery_phrasings import GROWN_AREAS, HELD_OUT, TUNING, Case

CASES = TUNING  # the name earlier callers use


def evaluate() -> dict[str, Any]:
    from .ops_internals import discovery_parts

    parts = discovery_parts()
    catalogue, policy = parts.catalogue, parts.policy
    definition_tokens, tool_definition, wire = parts.definition_tokens, parts.tool_definition, parts.wire
    visible = policy.visible()
    areas = {a: area.title for m in catalogue.values() for a, area in m.areas.items()}
    descriptions = {a: area.description for m in catalogue.values() for a, area in m.areas.items()}
    index = parts.search_index(visible, areas, descriptions)
    known = {e.tool for e in visible}
    tuned, held_out = _score(index, known, CASES), _score(index, known, HELD_OUT)
    grown = _score(index, known, GROWN_AREAS)
    meta = {name: definition_tokens(wire(tool)) for name, tool in parts.meta_tools.items()}
    catalogue_tokens = sum(definition_tokens(tool_definition(e)) for e in visible)
    return {
        "cases": len(CASES),
        "top1_accuracy": tuned["top1"],
        "top3_accuracy": tuned["top3"],
        "misses": tuned["misses"],
        "grown_areas": {k: grown[k] for k in ("cases", "top1", "top3")},
        "held_out": held_out,
        "meta_tool_tokens": meta,
        "meta_tools_total_tokens": sum(meta.values()),
        "catalogue_tools": len(visible),
        "catalogue_tokens": catalogue_tokens,
    }


def _score(index: Any, known: set[str], cases: list[Case]) -> dict[str, Any]:
    top1 = top3 = 0
    misses: list[dict[str, Any]] = []
    for phrase, expected in cases:
        right = (expected,) if isinstance(expected, str) else expected
        for tool in right:
            if tool not in known:
                raise ValueError(f"{tool} is not in the catalogue (case {phrase!r})")
        ranked = [hit.name for hit in index.search(phrase, 3)]
        top1 += bool(ranked) and ranked[0] in right
        top3 += any(tool in ranked for tool in right)
        if not any(tool in ranked for tool in right):
            misses.append({"query": phrase, "expected": " or ".join(right), "got": ranked})
    n = len(cases)
    return {"cases": n, "top1": round(top1 / n, 3), "top3": round(top3 / n, 3), "misses": misses}


def main() -> int:
    result = evaluate()
    grown = result["grown_areas"]
    print(f"discovery search over {result['catalogue_tools']} tools (every area visible)")
    print(f"  tuning set ({result['cases']} phrasings): top-1 {result['top1_accuracy']:.1%}, "
          f"top-3 {result['top3_accuracy']:.1%}; of which the grown areas ({grown['cases']}): "
          f"top-1 {grown['top1']:.1%}, top-3 {grown['top3']:.1%}")
    print(
        f"  meta-tools {result['meta_tools_total_tokens']} tokens "
        f"({', '.join(f'{k} {v}' for k, v in result['meta_tool_tokens'].items())}) "
        f"vs {result['catalogue_tokens']} tokens for the catalogue tool list"
    )
    held = result["held_out"]
    print(
        f"  held-out set ({held['cases']} phrasings, never tuned on): top-1 {held['top1']:.1%}, "
        f"top-3 {held['top3']:.1%}"
    )
    for miss in result["misses"] + held["misses"]:
        print(
            f"  miss: {miss['query']!r}: expected {miss['expected']}, got {', '.join(miss['got']) or 'nothing'}"
        )
    if "--json" in sys.argv:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
