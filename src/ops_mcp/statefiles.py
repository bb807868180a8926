"""The state dir is private: the directory is 0700 and every file in it 0600, whoever creates it.

State files hold whole back-end objects, names, amounts, token hashes and signing secrets. Every module
that writes in the state dir goes through here: ``private_dir`` before creating anything (it also
tightens a directory, and the files in it, left looser by an older version or another tool, and says
so once in the log), ``private_file`` for a file it opens itself, ``connect_sqlite`` for a database
(SQLite creates its ``-wal`` and ``-shm`` files later, so the umask is tightened around the connection
and the files are checked after), and ``write_atomic`` for whole-file rewrites.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger("ops_mcp.state")

DIR_MODE = 0o700
FILE_MODE = 0o600
_LOOSE = 0o077  # any permission for group or others

_umask_lock = threading.Lock()
_checked: set[Path] = set()
_checked_lock = threading.Lock()


def private_dir(path: Path) -> Path:
    """``path`` created 0700 (with its parents), or tightened to 0700 with its files to 0600 if looser.

    The walk over existing files happens once per directory and process; it is cheap and idempotent.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    with _checked_lock:
        first = path not in _checked
        _checked.add(path)
    if first:
        _tighten_tree(path)
    else:
        _tighten(path, DIR_MODE, "state dir")
    return path


def private_file(path: Path) -> Path:
    """``path`` exists and is 0600 (created empty if missing); its directory is private too."""
    path = Path(path)
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    except FileExistsError:
        _tighten(path, FILE_MODE, "state file")
    return path


@contextmanager
def private_umask() -> Iterator[None]:
    """Files created meanwhile (by this or another thread) get no group or other permissions.

    The umask is per process, so this only ever makes a concurrent creation stricter, never looser.
    """
    with _umask_lock:
        previous = os.umask(_LOOSE)
        try:
            yield
        finally:
            os.umask(previous)


def connect_sqlite(path: Path, **options: Any) -> sqlite3.Connection:
    """A connection to the database at ``path``, its file and its WAL/SHM files 0600.

    ``options`` go to ``sqlite3.connect``; the journal mode is set here (WAL) because that is when
    SQLite creates the -wal and -shm files.
    """
    path = private_file(Path(path))
    with private_umask():
        connection = sqlite3.connect(path, **options)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
        except BaseException:
            connection.close()
            raise
    for suffix in ("-wal", "-shm", "-journal"):
        sidecar = path.with_name(path.name + suffix)
        if sidecar.exists():
            _tighten(sidecar, FILE_MODE, "state file")
    return connection


def write_atomic(path: Path, text: str, *, prefix: str = ".tmp.") -> None:
    """Replace ``path`` with ``text`` so a reader (another replica) never sees half of it; mode 0600."""
    path = Path(path)
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix)  # mkstemp creates 0600
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _tighten_tree(path: Path) -> None:
    changed = [path] if _tighten(path, DIR_MODE, None) else []
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and _tighten(Path(entry.path), FILE_MODE, None):
                changed.append(Path(entry.path))
        except OSError:
            continue
    if changed:
        names = ", ".join(p.name for p in changed[1 if changed[0] == path else 0:][:10])
        log.warning("state dir %s was readable by others; tightened it to 0700 and its files to 0600%s", path,
                    f" ({names}{', …' if len(changed) > 11 else ''})" if names else "")


def _tighten(path: Path, mode: int, what: str | None) -> bool:
    """chmod ``path`` to ``mode`` if group or others have any access; True if it did."""
    try:
        current = stat.S_IMODE(os.stat(path, follow_symlinks=False).st_mode)
    except OSError:
        return False
    if not current & _LOOSE:
        return False
    try:
        os.chmod(path, mode)
    except OSError as exc:  # not ours (another user's file): say so, do not crash
        log.error("cannot make %s private (mode %o): %s", path, current, exc)
        return False
    if what is not None:
        log.warning("%s %s was mode %o; tightened it to %o", what, path, current, mode)
    return True
