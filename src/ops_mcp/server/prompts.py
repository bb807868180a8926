"""The MCP prompts ops-mcp ships: ready-made tasks for the work agents do here, each offered only to agents
whose policy can carry it out.

The prompts are data (``prompts.json`` beside the manifests): a name, a text with ``{argument}`` slots,
its arguments and the tools it names. An agent is listed a prompt only when every tool it names is one
the agent may use, so a prompt never asks for something the policy would refuse. ``prompts/get`` of an
unknown name and of a name this agent is not listed get the same -32602 answer.

Argument values come from the agent's client, so they are treated as data: checked against the
argument's pattern or length, neutralised (no line breaks, controls or reordering characters) and
quoted as a JSON string inside the text, so they cannot pass for more instructions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import mcp_types as t
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..config import ConfigError
from ..policy import AgentPolicy
from ..text import neutralise

PROMPTS_FILE = "prompts.json"
MAX_ARGUMENT_CHARS = 256
_SLOT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PromptArgument(_Strict):
    name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    description: str
    required: bool = False
    given: str = Field(description="Text put in the prompt when the argument is given; {value} is the value.")
    absent: str = Field(default="", description="Text put in the prompt when it is not.")
    pattern: str | None = None
    max_length: int = Field(default=MAX_ARGUMENT_CHARS, gt=0, le=MAX_ARGUMENT_CHARS)

    @model_validator(mode="after")
    def _value_slot(self) -> PromptArgument:
        if "{value}" not in self.given:
            raise ValueError(f"argument {self.name}: 'given' must contain {{value}}")
        if self.pattern is not None:
            re.compile(self.pattern)
        return self


class PromptDefinition(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    description: str
    tools: tuple[str, ...] = Field(min_length=1)
    arguments: tuple[PromptArgument, ...] = ()
    template: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _slots_are_arguments(self) -> PromptDefinition:
        declared = {a.name for a in self.arguments}
        used = {slot for line in self.template for slot in _SLOT.findall(line)}
        if used != declared:
            raise ValueError(f"prompt {self.name}: slots {sorted(used)} do not match arguments {sorted(declared)}")
        return self


class PromptFile(_Strict):
    prompts: tuple[PromptDefinition, ...]


def load_prompts(directory: Path) -> tuple[PromptDefinition, ...]:
    """The prompts in ``directory/prompts.json`` (none when there is no such file)."""
    path = directory / PROMPTS_FILE
    if not path.is_file():
        return ()
    try:
        return PromptFile.model_validate(json.loads(path.read_text())).prompts
    except (ValueError, ValidationError) as exc:  # a start-up error naming the file, never a traceback
        raise ConfigError(f"{path}: {exc}") from None


def invalid(message: str) -> MCPError:
    return MCPError(t.INVALID_PARAMS, message)


class PromptLibrary:
    """Lists and renders prompts for one agent's policy.

    ``via_meta_tools(policy)`` says whether the agent reaches tools through discovery mode's meta-tools;
    the rendered text then says so, since the tools it names are not in that agent's list.
    """

    def __init__(self, prompts: tuple[PromptDefinition, ...],
                 via_meta_tools: Callable[[AgentPolicy], bool] = lambda policy: False) -> None:
        names = [p.name for p in prompts]
        if len(set(names)) != len(names):
            raise ValueError("prompt names must be unique")
        self._prompts = {p.name: p for p in prompts}
        self._via_meta_tools = via_meta_tools

    def names(self) -> list[str]:
        return list(self._prompts)

    def usable(self, policy: AgentPolicy, prompt: PromptDefinition) -> bool:
        """Every tool the prompt names is one this agent may use."""
        return all(policy.decide(tool).allowed for tool in prompt.tools)

    def listed(self, policy: AgentPolicy | None) -> list[t.Prompt]:
        if policy is None:
            return []
        return [_wire(p) for p in self._prompts.values() if self.usable(policy, p)]

    def render(self, policy: AgentPolicy | None, name: Any, arguments: Mapping[str, Any] | None) -> t.GetPromptResult:
        """The prompt's text for this agent, or -32602 for an unknown/unlisted name or bad arguments."""
        prompt = self._prompts.get(name) if isinstance(name, str) else None
        if prompt is None or policy is None or not self.usable(policy, prompt):
            # One answer for unknown and unlisted names: it tells the agent nothing about other policies.
            raise invalid(f"Unknown prompt: {neutralise(name, 128)}")
        values = _check_arguments(prompt, arguments or {})
        slots = {a.name: (a.given.replace("{value}", _quoted(values[a.name])) if a.name in values else a.absent)
                 for a in prompt.arguments}
        lines = [" ".join(_SLOT.sub(lambda m: slots[m.group(1)], line).split()) for line in prompt.template]
        lines += self._notes(policy, prompt)
        message = t.PromptMessage(role="user", content=t.TextContent(type="text", text="\n".join(lines)))
        return t.GetPromptResult(description=prompt.description, messages=[message])

    def _notes(self, policy: AgentPolicy, prompt: PromptDefinition) -> list[str]:
        notes = []
        if self._via_meta_tools(policy):
            notes.append("Your tool list is ops_search_tools, ops_describe_tool and ops_call_tool: run each tool "
                         "named above with ops_call_tool (ops_describe_tool shows its arguments).")
        if any(d.endpoint is not None and d.needs_confirmation for d in map(policy.decide, prompt.tools)):
            notes.append("Some of these writes need a person's approval: when a call answers that it is pending, "
                         "tell me its approval id and go on with the rest.")
        return notes


def _check_arguments(prompt: PromptDefinition, arguments: Mapping[str, Any]) -> dict[str, str]:
    """The given arguments, each checked; the first problem is a -32602 naming the argument."""
    declared = {a.name: a for a in prompt.arguments}
    allowed = ", ".join(declared) or "none"
    for key in arguments:
        if key not in declared:
            raise invalid(f"{prompt.name}: unknown argument {neutralise(key, 64)}; arguments: {allowed}")
    values: dict[str, str] = {}
    for argument in prompt.arguments:
        value = arguments.get(argument.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if argument.required:
                raise invalid(f"{prompt.name}: missing required argument {argument.name} ({argument.description})")
            continue
        if not isinstance(value, str):
            raise invalid(f"{prompt.name}: argument {argument.name} must be a string")
        value = value.strip()
        if len(value) > argument.max_length:
            raise invalid(f"{prompt.name}: argument {argument.name}: at most {argument.max_length} characters")
        if argument.pattern is not None and not re.fullmatch(argument.pattern, value):
            raise invalid(f"{prompt.name}: argument {argument.name}: {argument.description}")
        values[argument.name] = value
    return values


def _quoted(value: str) -> str:
    """An agent-supplied value as data: one visible line, inside a JSON string."""
    return json.dumps(neutralise(value), ensure_ascii=False)


def _wire(prompt: PromptDefinition) -> t.Prompt:
    return t.Prompt(
        name=prompt.name, title=prompt.title, description=prompt.description,
        arguments=[t.PromptArgument(name=a.name, description=a.description, required=a.required)
                   for a in prompt.arguments],
    )
