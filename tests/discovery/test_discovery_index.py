"""The lexical index behind ``ops_search_tools`` and its quality bar on the written phrasings."""

from __future__ import annotations

from ops_mcp.catalogue import load_catalogue
from ops_mcp.server.search_index import SearchIndex, stem, terms


def _endpoints():
    return [e for m in load_catalogue().values() for e in m.endpoints]


def _index() -> SearchIndex:
    """Every tool, indexed as the discovery view indexes them (with their areas' titles and descriptions)."""
    areas = {a: area for m in load_catalogue().values() for a, area in m.areas.items()}
    return SearchIndex(_endpoints(), {a: v.title for a, v in areas.items()}, {a: v.description for a, v in areas.items()})


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
    from benchmarks.discovery_phrasings import GROWN_AREAS, HELD_OUT

    result = evaluate()
    assert len(CASES) >= 40 and len(GROWN_AREAS) >= 40 and len(HELD_OUT) >= 40
    assert result["catalogue_tools"] >= 170  # every area of both back ends visible
    assert result["top3_accuracy"] >= 0.95, result["misses"]
    assert result["held_out"]["top3"] >= 0.95, result["held_out"]["misses"]
    assert result["meta_tools_total_tokens"] <= 1200


def test_the_words_people_use_reach_the_catalogues_words():
    index = _index()
    top = {query: [h.name for h in index.search(query, 3)] for query in (
        "Lina's pay stubs", "which people are leaving the company", "reimburse Tom's taxi receipt",
        "who can approve time off", "how much would it cost to employ someone in Spain")}
    assert "remote_list_payslips" in top["Lina's pay stubs"]
    assert top["which people are leaving the company"][0].startswith("remote_list_offboardings")
    assert "remote_create_expense" in top["reimburse Tom's taxi receipt"]
    assert "remote_list_company_managers" in top["who can approve time off"]
    assert "remote_estimate_employment_cost" in top["how much would it cost to employ someone in Spain"]


def test_the_verb_decides_between_tools_of_one_thing():
    index = _index()
    expected = {
        "cancel the commission we added by mistake": "remote_delete_incentive",
        "stop Sara's monthly stipend": "remote_delete_recurring_incentive",
        "extend Jonas's probation": "remote_create_probation_extension",
        "send me the PDF of payslip 88": "remote_download_payslip",  # "send me" asks to read
        "Ana wants Friday off, it is agreed: put it in": "remote_create_timeoff",  # "put … in", a pronoun inside
        "Marco's leave request, let it through": "remote_approve_timeoff",  # "request" is a noun here
    }
    for query, tool in expected.items():
        ranked = [h.name for h in index.search(query, 3)]
        assert tool in ranked, (query, ranked)
    # Without the verb's meaning the same nouns rank the creating tool first.
    assert index.search("the commission we added", 1)[0].name != "remote_delete_incentive"


def test_phrases_take_their_words():
    # "job title" is not a field job (work order); "leaving" is not leave (time off).
    index = _index()
    assert [h.name for h in index.search("change Luca's job title", 1)] == ["remote_update_employment_basic_information"]
    assert not any(h.name.startswith("remoteops_") for h in index.search("change Luca's job title", 3))
    assert index.search("check the status of the job", 1)[0].name == "remoteops_get_work_order"  # alone, a job
    assert not any("timeoff" in h.name for h in index.search("who is leaving the company", 3))
