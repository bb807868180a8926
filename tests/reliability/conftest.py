"""The reliability suite writes its figures into docs/RELIABILITY.md when it finishes."""

from __future__ import annotations

import pytest

from . import recorder


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    text = recorder.render("make test  # or: .venv/bin/python -m pytest tests/reliability")
    if text is not None:
        recorder.DOC.parent.mkdir(exist_ok=True)
        recorder.DOC.write_text(text + "\n")
