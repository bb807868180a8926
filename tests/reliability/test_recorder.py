"""The figures recorder: silent unless asked, and a re-render keeps the sections of items not measured."""

from __future__ import annotations

import json

from . import recorder

OLD = """# Reliability and security figures

## 1. Bad input

| case | tried | outcome | figures | result |
|---|---|---|---|---|
| old row | 1 | old | x=1 | pass |

## 7. Soak

Measured 2026-01-01 00:00 UTC.

| case | tried | outcome | figures | result |
|---|---|---|---|---|
| soak: 10 min | 83304 | 0 unexpected | rss_growth_mb=4.77 | pass |
"""


def test_nothing_is_written_unless_a_results_directory_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv(recorder.RESULTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    recorder.record("1", "case", tried=1, outcome="ok", passed=True)
    assert list(tmp_path.iterdir()) == []


def test_rows_go_to_the_named_directory_and_render_over_the_old_document(tmp_path, monkeypatch):
    results = tmp_path / "results"
    monkeypatch.setenv(recorder.RESULTS_ENV, str(results))
    recorder.record("1", "fresh case", tried=3, outcome="3 refused", passed=True, tools=2)
    recorder.record("6", "webhook case", tried=2, outcome="2 rejected", passed=False)
    rows = recorder.load(results)
    assert [json.loads(line)["case"] for line in (results / "item1.jsonl").read_text().splitlines()] == ["fresh case"]

    doc = recorder.render(rows, OLD)
    assert "| fresh case | 3 | 3 refused | tools=2 | pass |" in doc
    assert "old row" not in doc  # item 1 was measured again: its old section is replaced
    assert "| webhook case | 2 | 2 rejected |  | FAIL |" in doc
    assert "| soak: 10 min | 83304 | 0 unexpected | rss_growth_mb=4.77 | pass |" in doc  # kept as it was
    assert "## 3. Isolation\n\nNot measured yet." in doc
    assert doc.index("## 1.") < doc.index("## 6.") < doc.index("## 7.")
