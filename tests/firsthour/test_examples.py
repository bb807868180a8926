"""The example config is valid as shipped, and its commented logging/telemetry block is valid uncommented."""

from __future__ import annotations

import re
from pathlib import Path

from ops_mcp.config import load_settings

from .demo_support import REPO


def test_the_commented_logs_and_traces_block_is_valid_config(tmp_path: Path) -> None:
    text = (REPO / "examples" / "ops-mcp.toml").read_text()
    shipped = load_settings(REPO / "examples" / "ops-mcp.toml")
    assert shipped.logging.format == "text" and not shipped.telemetry.enabled
    block = text[text.index("# --- logs and traces"):]
    uncommented = re.sub(r"^# (?=\[|[a-z_]+ = )", "", block, flags=re.M)
    (tmp_path / "ops-mcp.toml").write_text(text.replace(block, uncommented))
    settings = load_settings(tmp_path / "ops-mcp.toml")
    assert settings.logging.format == "json"
    assert settings.telemetry.enabled and settings.telemetry.exporter == "console"
    assert settings.telemetry.endpoint == "http://127.0.0.1:4318/v1/traces"
