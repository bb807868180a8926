"""``ops-mcp migrate``: bring the PostgreSQL state store's schema to this version (run it before serving).

Idempotent: applied steps are recorded and skipped; concurrent runs wait for each other. ``--check`` only
reports (exit 1 when the schema is missing, older or newer). With the embedded store there is nothing to
migrate: each SQLite file creates its own tables.
"""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_config, config_of, fail, load_settings_or_exit


def register(sub: Any) -> None:
    migrate = sub.add_parser(
        "migrate",
        help="create or upgrade the PostgreSQL schema ([storage] url / $OPS_MCP_STORAGE_URL)",
        description="Apply the schema migrations this version of ops-mcp needs to the database named by "
        "[storage] url or $OPS_MCP_STORAGE_URL. Replicas refuse to serve until it has run.",
    )
    add_config(migrate)
    migrate.add_argument(
        "--check", action="store_true", help="only report the schema version (exit 1 if not current)"
    )
    migrate.set_defaults(handler=cmd_migrate)


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = load_settings_or_exit(config_of(args), require=False)
    if settings.storage.url is None:
        print(
            f"storage: embedded ({settings.state_dir()}); nothing to migrate (set [storage] url or "
            "$OPS_MCP_STORAGE_URL to use PostgreSQL)"
        )
        return 0
    from ..storage.postgres.database import Database, StorageUnavailable
    from ..storage.postgres.migrations import LATEST, SchemaMismatch, check_schema, migrate

    try:
        db = Database(settings.storage.url.get_secret_value(), pool_size=1)
    except StorageUnavailable as exc:
        raise fail(str(exc)) from None
    try:
        if args.check:
            try:
                version = check_schema(db)
            except SchemaMismatch as exc:
                print(f"ops-mcp: {exc}")
                return 1
            print(f"schema: version {version} (current) at {db.where}")
            return 0
        try:
            applied = migrate(db)
        except SchemaMismatch as exc:
            raise fail(str(exc)) from None
        for step in applied:
            print(f"applied {step.version}: {step.name}")
        print(f"schema: version {LATEST} at {db.where}" + ("" if applied else " (already current)"))
        return 0
    finally:
        db.close()
