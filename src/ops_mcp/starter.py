"""``ops-mcp init [DIR]``: write the commented starter config (sandbox back ends, two example agents) with
its state dir beside it, and say which three commands come next.

The config text lives in ``templates/starter.toml`` inside the package, so an installed wheel needs nothing
from the repository. An existing config is never overwritten without ``--force``; the state dir (tokens,
audit log) is kept either way.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
import tomllib
from importlib import resources
from pathlib import Path

CONFIG_NAME = "ops-mcp.toml"
STATE_DIR_NAME = ".ops-mcp"


class StarterError(Exception):
    """Why ``init`` wrote nothing; ``exit_code`` is what the command returns."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def starter_text() -> str:
    return resources.files("ops_mcp").joinpath("templates", "starter.toml").read_text(encoding="utf-8")


def starter_agents(text: str | None = None) -> list[str]:
    """The agents the starter config defines, in file order (the first one is the example in the hints)."""
    return list(tomllib.loads(text if text is not None else starter_text()).get("agents", {}))


def write_starter(directory: Path, *, force: bool = False) -> Path:
    """Write ``DIR/ops-mcp.toml`` and create ``DIR/.ops-mcp``; return the config path."""
    if directory.exists() and not directory.is_dir():
        raise StarterError(f"{directory} exists and is not a directory", 2)
    config = directory / CONFIG_NAME
    if config.exists() and not force:
        raise StarterError(
            f"{config} already exists; nothing was written. Pass --force to replace it with the starter "
            f"config (its state dir {directory / STATE_DIR_NAME} is kept), or choose another directory.", 1)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _write_atomically(config, starter_text())
        # The state dir holds token hashes and the audit log: owner only, as the server itself creates it.
        (directory / STATE_DIR_NAME).mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise StarterError(f"cannot write {config}: {exc.strerror or exc}", 2) from None
    return config


def _write_atomically(path: Path, text: str) -> None:
    # A half-written config would be worse than none: write beside it, then rename over.
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def program_name(argv0: str | None = None) -> str:
    """How to call this very ``ops-mcp`` again: its bare name when PATH finds this executable, else its path."""
    argv0 = argv0 if argv0 is not None else (sys.argv[0] if sys.argv else "")
    if not argv0 or Path(argv0).name != "ops-mcp":
        return "ops-mcp"
    this = Path(argv0).resolve()
    on_path = shutil.which("ops-mcp")
    if on_path and Path(on_path).resolve() == this:
        return "ops-mcp"
    return str(this)


def next_steps(config: Path, program: str, agent: str) -> str:
    quoted = shlex.quote(str(config))
    exe = shlex.quote(program)
    return "\n".join([
        "Next:",
        f"  1. {exe} check --config {quoted}",
        "     validates the config and reaches both back ends (the embedded sandbox as written)",
        f"  2. {exe} serve --transport stdio --agent {agent} --config {quoted}",
        "     what an MCP client such as Claude Desktop launches: one agent per process",
        f"  3. {exe} run --config {quoted}",
        "     streamable HTTP on 127.0.0.1 with a demo agent token, for hosted agents and curl",
    ])


def run_init(directory: str, *, force: bool = False) -> int:
    target = Path(directory).expanduser().absolute()
    try:
        config = write_starter(target, force=force)
    except StarterError as exc:
        print(f"ops-mcp: {exc}", file=sys.stderr)
        return exc.exit_code
    agents = starter_agents()
    print(f"Wrote {config}: both back ends on the embedded sandbox, agents {' and '.join(agents)}.")
    print(f"State (audit log, agent tokens, approvals) lives in {target / STATE_DIR_NAME}.")
    print()
    print(next_steps(config, program_name(), agents[0]))
    return 0
