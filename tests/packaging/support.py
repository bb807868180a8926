"""Helpers for the packaging tests: the checkout's paths and version, uv, and the environment of a user
whose machine has never seen this repository."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).with_name("uv")


def project_version() -> str:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def run(args: list[str], *, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kwargs)


def outside_env(home: Path, **extra: str) -> dict[str, str]:
    """A user's environment with nothing of the checkout or its venv in it: no PYTHONPATH, no VIRTUAL_ENV,
    no OPS_MCP_* settings, the venv's bin not on PATH, a fresh HOME."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    # What reaching the package index needs on this machine (CA bundle, proxies), and uv's cache location.
    for name in ("UV_CACHE_DIR", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "SSL_CERT_FILE", "SSL_CERT_DIR", "TMPDIR",
                 "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        if name in os.environ:
            env[name] = os.environ[name]
    # uv keeps its cache under the real HOME unless told otherwise: reuse it (it is not the checkout).
    env.setdefault("UV_CACHE_DIR", _uv_cache_dir())
    env.update(extra)
    return env


@cache
def _uv_cache_dir() -> str:
    done = run([UV, "cache", "dir"], timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@dataclass(frozen=True)
class CleanInstall:
    """The wheel installed into its own venv, and a place outside the checkout to run it from."""

    venv: Path
    home: Path
    work: Path

    @property
    def ops_mcp(self) -> Path:
        return self.venv / "bin" / "ops-mcp"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def env(self, **extra: str) -> dict[str, str]:
        return outside_env(self.home, **extra)
