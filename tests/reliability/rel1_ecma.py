"""Hand-decided cases for the JSON Schema ``pattern`` and ``uuid`` checks of the catalogue, by ECMA-262 rules.

JSON Schema patterns are ECMA-262 regular expressions, searched (not matched) against the whole string, with
no flags: ``\\d`` is ``[0-9]``, ``\\w`` is ``[A-Za-z0-9_]``, ``$`` matches only at the very end of the input
(never before a final newline), ``^`` only at its start. A ``uuid`` is RFC 4122's string form: 8-4-4-4-12
ASCII hex digits and nothing around them. Every row below was decided by reading those rules, not by running
any regular expression, so the test checks the server against the rules and not against itself.

Each entry: the pattern as the catalogue states it (the test fails if the catalogue's pattern changes, so
the rows are decided again), a tool and argument that carry it, then (value, accepted) rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

UUID = "format:uuid"  # the key for rows about the uuid format rather than a pattern
ARABIC_2024 = "\u0662\u0660\u0662\u0664"  # ٢٠٢٤: digits, but not ASCII digits
FULLWIDTH_2024 = "\uff12\uff10\uff12\uff14"  # ２０２４
A_UUID = "123e4567-e89b-42d3-a456-426614174000"


@dataclass(frozen=True)
class Rows:
    tool: str
    argument: str  # "name" for a top-level argument, "name.0" for the first item of an array argument
    cases: tuple[tuple[str, bool], ...]
    # Valid values for the tool's other required arguments: the validator reports a pattern only once the
    # call is otherwise complete, so a row about one field must not be hidden behind "required" errors.
    others: tuple[tuple[str, Any], ...] = ()

    def arguments(self, value: str) -> dict[str, Any]:
        name, _, item = self.argument.partition(".")
        return {**dict(self.others), name: [value] if item else value}


def _prefixed(prefix: str) -> tuple[tuple[str, bool], ...]:
    """Rows for ``^<prefix>_[A-Za-z0-9]+$`` ids."""
    return (
        (f"{prefix}_Ab9", True),
        (f"{prefix}_0", True),
        (f"{prefix}_Ab9\n", False),  # $ is the end of the input, not the end of a line
        (f"{prefix}_", False),  # + needs one character
        (f"{prefix}_a-b", False),
        (f"{prefix}_\u0661", False),  # an Arabic-Indic digit is not in [0-9]
        (f"{prefix}_\u0430", False),  # a Cyrillic a is not in [A-Za-z]
        (f"x{prefix}_a", False),  # ^ anchors at the start
        (f"{prefix.upper()}_a", False),  # no i flag
    )


TABLE: dict[str, Rows] = {
    # Every argument with this pattern is also a uuid: a row is accepted only if both rules accept it.
    "^[\\w-]+$": Rows("remote_get_employment", "employment_id", (
        (A_UUID, True),
        (A_UUID.upper(), True),
        (A_UUID + "\n", False),
        (A_UUID[:-1] + "\u0660", False),  # an Arabic-Indic digit: not \w in ECMA-262, not hex in RFC 4122
        (A_UUID[:-1] + "\u00e9", False),
        (A_UUID[:-1] + "\uff41", False),  # a full-width a
        ("abc_DEF-09", False),  # the pattern allows it; the uuid format does not
        (A_UUID[:8] + " " + A_UUID[9:], False),
        ("", False),
    )),
    "^wo_[A-Za-z0-9]+$": Rows("remoteops_get_work_order", "work_order_id", _prefixed("wo")),
    "^ctr_[A-Za-z0-9]+$": Rows("remoteops_get_contract", "contract_id", _prefixed("ctr")),
    "^loc_[A-Za-z0-9]+$": Rows("remoteops_create_asset", "location_id", _prefixed("loc")),
    "^inv_[A-Za-z0-9]+$": Rows("remoteops_get_invoice", "invoice_id", _prefixed("inv")),
    "^ast_[A-Za-z0-9]+$": Rows("remoteops_get_asset", "asset_id", _prefixed("ast")),
    "^tech_[A-Za-z0-9]+$": Rows("remoteops_check_out_equipment", "technician_id", _prefixed("tech")),
    "^cus_[A-Za-z0-9]+$": Rows("remoteops_get_customer", "customer_id", _prefixed("cus")),
    "^site_[A-Za-z0-9]+$": Rows("remoteops_get_site", "site_id", _prefixed("site")),
    "^call_[A-Za-z0-9]+$": Rows("remoteops_get_call", "call_id", _prefixed("call")),
    "^part_[A-Za-z0-9]+$": Rows("remoteops_create_stock_movement", "part_id", _prefixed("part")),
    "^whep_[A-Za-z0-9]+$": Rows("remoteops_update_webhook_endpoint", "webhook_endpoint_id", _prefixed("whep")),
    "^chk_[A-Za-z0-9]+$": Rows("remoteops_return_equipment", "checkout_id", _prefixed("chk")),
    "^evt_[A-Za-z0-9]+$": Rows("remoteops_redeliver_event", "event_id", _prefixed("evt")),
    "^[A-Z]{3}$": Rows("remote_list_eor_payroll_calendars", "country_code", (
        ("PRT", True),
        ("PRT\n", False),
        ("prt", False),
        ("PR", False),
        ("PRTX", False),
        ("\uff30\uff32\uff34", False),  # ＰＲＴ
        ("P\u0420T", False),  # a Cyrillic Р
    )),
    "^[A-Z]{2}$": Rows("remoteops_list_sites", "country", (
        ("PT", True),
        ("PT\n", False),
        ("pt", False),
        ("P", False),
        ("PTX", False),
    )),
    "^\\+[1-9][0-9]{1,14}$": Rows("remoteops_list_customers", "phone", (
        ("+351912345678", True),
        ("+12", True),
        ("+123456789012345", True),  # 15 digits in all: the E.164 maximum
        ("+1234567890123456", False),  # 16
        ("+1", False),
        ("+0123", False),
        ("351912345678", False),
        ("+351912345678\n", False),
        ("+\u0663\u0665\u0661", False),
        ("+351 912", False),
    )),
    "^https://": Rows("remote_create_webhook_callback", "url", (
        ("https://example.com/hooks", True),
        ("https://", True),  # only the start is constrained
        ("https://example.com/\n", True),  # no $: what follows is free
        ("http://example.com", False),
        (" https://example.com", False),
        ("HTTPS://example.com", False),
        ("\nhttps://example.com", False),  # ^ is the start of the input, not of a line
    )),
    "^(\\*|[a-z_]+\\.(\\*|[a-z_]+))$": Rows("remoteops_list_events", "type", (
        ("*", True),
        ("work_order.*", True),
        ("work_order.completed", True),
        ("work_order", False),
        ("*\n", False),
        ("work_order.completed\n", False),
        ("a.b.c", False),
        ("Work_order.*", False),
        ("work_order.\u0441ompleted", False),  # a Cyrillic с
    )),
    "^\\d{4}-\\d{2}$": Rows("remote_list_payroll_calendars_by_cycle", "cycle", (
        ("2024-01", True),
        ("0000-99", True),  # the pattern checks digits, not dates
        ("2024-01\n", False),
        (f"{ARABIC_2024}-\u0660\u0661", False),
        (f"{FULLWIDTH_2024}-\uff10\uff11", False),
        ("2024-1", False),
        ("24-01", False),
        ("2024-011", False),
    )),
    "^[a-z0-9_]+(\\.[a-z0-9_]+)+$": Rows("remote_create_webhook_callback", "subscribed_events.0", (
        ("timeoff.approved", True),
        ("a.b.c", True),
        ("timeoff", False),
        ("timeoff.", False),
        ("timeoff.approved\n", False),
        ("Timeoff.approved", False),
        ("timeoff.appr\u043eved", False),  # a Cyrillic о
    )),
    "^[a-z_]+(,[a-z_]+)*$": Rows("remote_list_employments", "status", (
        ("active", True),
        ("active,on_holiday", True),
        ("active,", False),
        ("active\n", False),
        ("Active", False),
        ("active, pending", False),
        ("\u0430ctive", False),
    )),
    "^[a-z0-9_]+$": Rows("remote_get_country_form", "form", (
        ("address_details", True),
        ("address_details\n", False),
        ("Address", False),
        ("a-b", False),
        ("\u0660", False),
    )),
    "^[A-Z]{2}-[A-Z0-9]{1,3}$": Rows("remote_list_holidays", "country_subdivision_code", (
        ("PT-11", True),
        ("US-CA", True),
        ("PT-11\n", False),
        ("PT-1234", False),
        ("pt-11", False),
        ("PT-\u0661", False),
    )),
    "^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$": Rows("remoteops_create_customer", "preferred_locale", (
        ("en", True),
        ("pt-PT", True),
        ("zh-Hant-TW", True),
        ("en\n", False),
        ("e", False),
        ("en-", False),
        ("en_US", False),
        ("\u00f1e", False),
    )),
    "^[0-9]{4}$": Rows("remote_list_holidays", "year", (
        ("2026", True),
        ("0000", True),
        ("2026\n", False),
        ("202", False),
        ("20260", False),
        (ARABIC_2024, False),
        (FULLWIDTH_2024, False),
        (" 2026", False),
    )),
    "^[1-9][0-9]?$": Rows("remote_create_recurring_incentive", "duration_in_months", (
        ("1", True),
        ("12", True),
        ("99", True),
        ("0", False),
        ("01", False),
        ("100", False),
        ("12\n", False),
        ("\u0661", False),
        ("", False),
    ), others=(("employment_id", A_UUID), ("type", "bonus"), ("amount", 1000), ("amount_tax_type", "gross"),
               ("effective_date", "2026-12-01"))),
    "^[a-z0-9-]+$": Rows("remote_get_cost_calculator_region_fields", "slug", (
        ("portugal-lisbon", True),
        ("us-ca-9", True),
        ("-", True),
        ("Portugal", False),
        ("a_b", False),
        ("a b", False),
        ("abc\n", False),
        ("\u0430bc", False),  # a Cyrillic a
        ("", False),
    )),
    UUID: Rows("remote_list_employments", "company_id", (
        (A_UUID, True),
        (A_UUID.upper(), True),
        ("\r" + A_UUID[1:], False),
        (" " + A_UUID, False),
        (A_UUID + "\n", False),
        ("\u0661" + A_UUID[1:], False),  # int() reads an Arabic-Indic digit as hex; RFC 4122 does not
        ("{" + A_UUID + "}", False),
        ("urn:uuid:" + A_UUID, False),
        (A_UUID.replace("-", ""), False),
        (A_UUID[:-1], False),
    )),
}
