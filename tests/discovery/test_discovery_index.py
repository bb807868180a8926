"""The lexical index behind ``ops_search_tools`` and its quality bar on the written phrasings."""

from __future__ import annotations

from ops_mcp.catalogue import load_catalogue
from ops_mcp.server.search_index import SearchIndex, stem, terms


def _endpoints():
    return [e for m in load_catalogue().values() for e in m.endpoints]


def test_stemming_joins_the_forms_people_type():
    for a, b in [
        ("invoices", "invoice"),
        ("invoiced", "invoice"),
        ("cancelled", "cancel"),
        ("approving", "approve"),
        ("companies", "company"),
        ("statuses", "status"),
        ("scheduled", "schedule"),
    ]:
        assert stem(a) == stem(b), (a, b)
    assert stem("call") == "call" and stem("status") == "status"
    assert "timeoff" in terms("Time-Off types")  # hyphenated words also match the joined form


def test_index_knows_only_the_tools_it_was_built_from():
    subset = [e for e in _endpoints() if e.area == "remote.timeoff" and e.access == "read"]
    index = SearchIndex(subset)
    assert len(index) == len(subset)
    hits = index.search("issue the overdue invoice and approve the timesheet", 10)
    assert {h.name for h in hits} <= {e.tool for e in subset}
    assert index.search("zzz qqq", 5) == [] and index.search("", 5) == []


def test_questions_prefer_reads_and_imperatives_prefer_writes():
    index = SearchIndex(_endpoints())
    assert index.search("who is off sick next week in Portugal", 1)[0].name == "remote_list_timeoff"
    assert index.search("approve the time off request", 1)[0].name == "remote_approve_timeoff"
    assert index.search("issue the draft invoice", 1)[0].name == "remoteops_issue_invoice"


def test_written_phrasings_meet_the_top3_target_and_meta_tools_stay_small():
    from benchmarks.discovery_eval import CASES, evaluate

    result = evaluate()
    assert len(CASES) >= 40
    assert result["top3_accuracy"] >= 0.9, result["misses"]
    assert result["held_out"]["top3"] >= 0.85, result["held_out"]["misses"]
    assert result["meta_tools_total_tokens"] <= 1200
