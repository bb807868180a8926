"""The peer's own virtual environment (``benchmarks/.peer-venv``), created on demand.

``pip install fastmcp==4.1.6`` fails on this package index: its server extra pins
``certifi>=2026.10.19`` and the newest certifi here is older (SDK notes §9, pitfall 16). So we
install ``fastmcp-slim`` with the dependencies of its ``server`` and ``client`` extras listed by
hand (certifi unpinned), then ``fastmcp`` itself with ``--no-deps``. A stamp file makes the
second run a no-op.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV_DIR = HERE / ".peer-venv"
STAMP = VENV_DIR / ".bench-ready.json"
WANTED = "4.1.6"

# fastmcp-slim[server,client] 4.1.6 requirements, minus the certifi pin the index cannot meet.
SERVER_DEPS = [
    "mcp>=2.3.0,<3.0.0",
    "authlib>=1.6.11",
    "cyclopts>=4.0.0",
    "exceptiongroup>=1.2.2",
    "griffelib>=2.0.0",
    "httpx2>=2.5.0",
    "joserfc>=1.5.0",
    "jsonref>=1.1.0",
    "jsonschema-path>=0.3.4",
    "openapi-pydantic>=0.6.0",
    "opentelemetry-api>=1.28.0",
    "packaging>=24.0",
    "py-key-value-aio[filetree,memory]>=0.4.4,<0.5.0",
    "pyperclip>=1.9.0",
    "python-multipart>=0.0.26",
    "pyyaml>=6.0,<7.0",
    "starlette>=1.0.1",
    "uncalled-for>=0.4.0",
    "uvicorn>=0.35",
    "watchfiles>=1.0.0",
    "websockets>=15.0.1",
    "certifi",
]


def python() -> Path:
    return VENV_DIR / "bin" / "python"


def versions() -> dict[str, str]:
    """What the peer runs, as recorded when the venv was built."""
    return json.loads(STAMP.read_text())


def ensure(log=print) -> Path:
    """The peer venv's python, building the venv first if needed."""
    if STAMP.is_file() and python().is_file():
        return python()
    log(f"building the peer venv in {VENV_DIR} (FastMCP {WANTED}, about a minute the first time)")
    if not python().is_file():
        venv.EnvBuilder(with_pip=True).create(VENV_DIR)
    slim = _install_pinned("fastmcp-slim", SERVER_DEPS)
    full = _install_pinned("fastmcp", [], no_deps=True)
    found = _installed(["fastmcp", "fastmcp-slim", "mcp", "httpx2"])
    found["requested"] = {"fastmcp-slim": slim, "fastmcp": full}
    STAMP.write_text(json.dumps(found, indent=2))
    return python()


def _pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(python()), "-m", "pip", "--disable-pip-version-check", "-q", *args],
        capture_output=True,
        text=True,
    )


def _install_pinned(package: str, deps: list[str], *, no_deps: bool = False) -> str:
    """Install ``package==WANTED``, else the available version nearest to it; returns the version."""
    flags = ["--no-deps"] if no_deps else []
    done = _pip("install", *flags, f"{package}=={WANTED}", *deps)
    if done.returncode == 0:
        return WANTED
    nearest = _nearest(package)
    if nearest is None:
        raise RuntimeError(f"cannot install {package}: {done.stderr.strip()[-600:]}")
    retry = _pip("install", *flags, f"{package}=={nearest}", *deps)
    if retry.returncode != 0:
        raise RuntimeError(f"cannot install {package}=={nearest}: {retry.stderr.strip()[-600:]}")
    return nearest


def _nearest(package: str) -> str | None:
    listing = _pip("index", "versions", package)
    match = re.search(r"Available versions:\s*(.+)", listing.stdout)
    if not match:
        return None
    target = _key(WANTED)
    candidates = [v.strip() for v in match.group(1).split(",") if re.fullmatch(r"[\d.]+", v.strip())]
    return min(
        candidates,
        key=lambda v: (
            abs(_key(v)[0] - target[0]) * 10_000
            + abs(_key(v)[1] - target[1]) * 100
            + abs(_key(v)[2] - target[2])
        ),
        default=None,
    )


def _key(version: str) -> tuple[int, int, int]:
    parts = [int(p) for p in version.split(".")[:3]] + [0, 0, 0]
    return parts[0], parts[1], parts[2]


def _installed(names: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys; "
        "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    )
    out = subprocess.run([str(python()), "-c", code, *names], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


if __name__ == "__main__":
    print(ensure(log=lambda m: print(m, file=sys.stderr)))
    print(json.dumps(versions(), indent=2))
