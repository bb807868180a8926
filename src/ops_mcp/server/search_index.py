"""A small lexical search index over tool definitions (BM25 with field weights).

Discovery mode must rank the right tool for a task phrasing without a network or a model download,
so this is plain BM25 over a handful of weighted fields (tool name and title weigh most, then the
summary and area, then parameter names and enum values), with a light suffix stemmer and a short
synonym table for the words people use for HR and field-service things ("sick" → sick leave,
"technician" → tech, "job" → work order). A tool's access decides a small tie-break: a phrasing with
no write verb prefers read tools, because "who is off sick" should not surface "Create Time Off".
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ..catalogue.models import Endpoint


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Field weights: how much one occurrence of a term in that field counts.
W_NAME, W_TITLE, W_SUMMARY, W_AREA, W_PARAM, W_ENUM = 2.0, 3.0, 2.0, 1.5, 0.8, 0.5
K1, B = 1.2, 0.6
SYNONYM_WEIGHT = 0.6
READ_BIAS = 0.85  # write tools' score factor when the query asks nothing to change
LIST_BONUS = 1.15  # list tools' score factor when the query asks "which…", "who…", "list…"
LIST_CUES = frozenset({"which", "who", "list", "all", "any", "many"})
# A question ("which kinds of leave can I record?") asks to read, whatever verb it contains.
QUESTION_WORDS = _wordset("which what who whose how when where is are do does did can has have")


STOPWORDS = _wordset(
    "a an and are as at be by can could do does for from get give how i in is it its me my of on or our "
    "please show that the their them there these this those to us we what when where which who whose "
    "will with would you your all any one some has have had was were been being into per about tell "
    "need want let lets just also than then out up not no yes"
)

# Query word → extra terms (already stemmed forms are fine; they are stemmed again). Kept to words a
# person would type; the catalogue's own words need no entry.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "sick": ("sick_leave", "timeoff"),
    "ill": ("sick_leave", "timeoff"),
    "vacation": ("timeoff", "paid_time_off"),
    "holiday": ("timeoff", "holidays"),
    "pto": ("timeoff", "paid_time_off"),
    "leave": ("timeoff",),
    "absence": ("timeoff",),
    "absent": ("timeoff",),
    "off": ("timeoff",),
    "maternity": ("maternity_leave", "timeoff"),
    "paternity": ("paternity_leave", "timeoff"),
    "employee": ("employment",),
    "employees": ("employment",),
    "worker": ("employment",),
    "staff": ("employment",),
    "people": ("employment",),
    "person": ("employment",),
    "hire": ("create", "employment"),
    "onboard": ("invite", "employment", "onboarding"),
    "salary": ("contract", "amendment", "compensation"),
    "raise": ("contract", "amendment", "compensation"),
    "promotion": ("contract", "amendment", "job_title"),
    "pay": ("payment", "payroll"),
    "paid": ("payment", "paid"),
    "payday": ("payroll", "calendar"),
    "cutoff": ("payroll", "calendar"),
    "hours": ("timesheet",),
    "overtime": ("timesheet",),
    "freelancer": ("contractor",),
    "contractors": ("contractor",),
    "bill": ("invoice", "billing"),
    "bills": ("invoice", "billing"),
    "fee": ("billing", "invoice"),
    "fees": ("billing", "invoice"),
    "refund": ("credit", "credit_note"),
    "credit": ("credit_note",),
    "tech": ("technician",),
    "techs": ("technician",),
    "engineer": ("technician",),
    "engineers": ("technician",),
    "job": ("work_order",),
    "jobs": ("work_order",),
    "ticket": ("work_order",),
    "tickets": ("work_order",),
    "visit": ("work_order", "visit"),
    "visits": ("work_order", "visit"),
    "repair": ("work_order",),
    "dispatch": ("transition", "dispatched", "work_order"),
    "start": ("transition", "in_progress"),
    "finish": ("transition", "completed"),
    "complete": ("transition", "completed"),
    "close": ("transition", "closed"),
    "hold": ("transition", "on_hold"),
    "reschedule": ("assign", "assignment", "scheduled_start"),
    "schedule": ("assign", "scheduled_start"),
    "client": ("customer",),
    "clients": ("customer",),
    "location": ("site",),
    "building": ("site",),
    "address": ("site",),
    "phone": ("call",),
    "rang": ("call",),
    "ring": ("call",),
    "voicemail": ("call",),
    "transcript": ("transcript",),
    "recording": ("recording",),
    "equipment": ("asset", "checkout"),
    "machine": ("asset",),
    "lift": ("asset",),
    "elevator": ("asset",),
    "boiler": ("asset",),
    "tool": ("equipment", "checkout"),
    "parts": ("part", "stock"),
    "inventory": ("stock",),
    "warehouse": ("stock", "location"),
    "van": ("stock", "location"),
    "reorder": ("stock", "below_reorder_point"),
    "borrow": ("checkout", "equipment"),
    "lend": ("checkout", "equipment"),
    "return": ("return", "equipment"),
    "photo": ("attachment",),
    "signature": ("attachment", "signature"),
    "upload": ("attachment",),
    "attach": ("attachment",),
    "hook": ("webhook",),
    "hooks": ("webhook",),
    "notifications": ("webhook", "event"),
    "failed": ("dead_lettered", "delivery_status"),
    "resend": ("redeliver",),
    "retry": ("redeliver",),
    "maintenance": ("contract", "visit_schedule"),
    "renewal": ("contract", "renew"),
    "renew": ("contract", "renew"),
    "pdf": ("pdf",),
    "download": ("pdf", "file"),
    "overdue": ("overdue", "invoice"),
    "owe": ("invoice", "balance"),
    "owes": ("invoice", "balance"),
    "breakdown": ("breakdown",),
    "manager": ("company_manager", "manager"),
    "admin": ("company_manager",),
    "country": ("countries",),
    "form": ("schema", "form"),
    "fields": ("schema", "form"),
    "reject": ("decline",),
    "refuse": ("decline",),
    "deny": ("decline",),
    "turn down": ("decline",),
    "kind": ("type",),
    "kinds": ("types",),
    "categories": ("types",),
    "move": ("change", "dates"),
    "postpone": ("change", "dates"),
    "invitation": ("invite",),
    "welcome": ("invite",),
    "used": ("consume", "part"),
    "spare": ("part", "stock"),
    "spares": ("part", "stock"),
    "filter": ("part", "stock"),
    "filters": ("part", "stock"),
    "component": ("part", "stock"),
    "components": ("part", "stock"),
    "send to": ("assign", "technician_ids"),
    "tomorrow": ("scheduled_start",),
    "on hold": ("on_hold", "transition"),
    "portugal": ("country", "prt"),
    "germany": ("country", "deu"),
    "france": ("country", "fra"),
    "spain": ("country", "esp"),
    "uk": ("country", "gbr"),
}

WRITE_VERBS = _wordset(
    "create add new make approve accept decline reject refuse cancel update change edit set modify delete remove "
    "issue void record register assign reassign invite send move transfer consume receive adjust generate "
    "redeliver resend retry book hire onboard refund credit dispatch start finish complete close reopen hold "
    "reschedule schedule check return upload attach rotate disable enable amend raise promote log pay mark "
    "file submit open"
)

_TOKEN = re.compile(r"[a-z0-9]+")


def stem(word: str) -> str:
    """A few English suffixes, enough that "invoices", "invoiced" and "invoice" meet."""
    w = word
    if len(w) <= 3 or w.isdigit():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed", "ment"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "aeiou":
                w = w[:-1]  # cancelled → cancel, stopped → stop (but "call" stays)
            break
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words; snake_case and kebab-case split, and kept joined as well."""
    text = text.lower()
    out: list[str] = []
    for chunk in re.findall(r"[a-z0-9_\-]+", text):
        parts = _TOKEN.findall(chunk)
        out.extend(parts)
        if len(parts) > 1:
            out.append("".join(parts))  # "time-off" also as "timeoff", "sick_leave" as "sickleave"
    return out


def terms(text: str) -> list[str]:
    """Stems, plus the plural form itself: "countries" then prefers List Countries over Get Country Form."""
    out: list[str] = []
    for word in words(text):
        if word in STOPWORDS or (len(word) == 1 and not word.isdigit()):
            continue
        term = stem(word)
        out.append(term)
        if term != word and word.endswith("s") and not word.endswith("ss"):
            out.append(word)
    return out


@dataclass(frozen=True)
class Hit:
    name: str
    score: float


class SearchIndex:
    """BM25 over weighted fields; build once per set of visible tools (cheap: ~100 documents)."""

    def __init__(self, endpoints: Iterable[Endpoint], area_titles: dict[str, str] | None = None) -> None:
        area_titles = area_titles or {}
        self._docs: dict[str, dict[str, float]] = {}
        self._lengths: dict[str, float] = {}
        self._write: dict[str, bool] = {}
        self._list: dict[str, bool] = {}
        for endpoint in endpoints:
            tf = _document(endpoint, area_titles.get(endpoint.area, ""))
            self._docs[endpoint.tool] = tf
            self._lengths[endpoint.tool] = sum(tf.values())
            self._write[endpoint.tool] = endpoint.access == "write"
            self._list[endpoint.tool] = endpoint.paginated
        count = len(self._docs) or 1
        self._avg_length = (sum(self._lengths.values()) / count) or 1.0
        df: Counter[str] = Counter()
        for tf in self._docs.values():
            df.update(tf.keys())
        self._idf = {t: math.log(1 + (count - n + 0.5) / (n + 0.5)) for t, n in df.items()}

    def __len__(self) -> int:
        return len(self._docs)

    def search(self, query: str, limit: int = 5) -> list[Hit]:
        weights = self._query_weights(query)
        if not weights:
            return []
        given = words(query)
        question = bool(given) and given[0] in QUESTION_WORDS and given[1:2] != ["you"]
        wants_write = not question and any(w in WRITE_VERBS for w in given)
        wants_list = not wants_write and any(w in LIST_CUES for w in given)
        hits: list[Hit] = []
        for name, tf in self._docs.items():
            score = 0.0
            norm = K1 * (1 - B + B * self._lengths[name] / self._avg_length)
            for term, qw in weights.items():
                f = tf.get(term)
                if f:
                    score += qw * self._idf[term] * f * (K1 + 1) / (f + norm)
            if score <= 0:
                continue
            if self._write[name] and not wants_write:
                score *= READ_BIAS
            if wants_list and self._list[name]:
                score *= LIST_BONUS
            hits.append(Hit(name, round(score, 4)))
        hits.sort(key=lambda h: (-h.score, h.name))
        return hits[:limit]

    def _query_weights(self, query: str) -> dict[str, float]:
        weights: dict[str, float] = {}
        given = words(query)
        expansions: list[str] = []
        for i, word in enumerate(given):
            expansions.extend(SYNONYMS.get(word, ()))
            if i + 1 < len(given):  # two-word phrases: "turn down", "on hold"
                expansions.extend(SYNONYMS.get(f"{word} {given[i + 1]}", ()))
            for term in terms(word):
                if term in self._idf:
                    weights[term] = 1.0
        for extra in expansions:
            for term in terms(extra):
                if term in self._idf:
                    weights[term] = max(weights.get(term, 0.0), SYNONYM_WEIGHT)
        return weights


def _document(endpoint: Endpoint, area_title: str) -> dict[str, float]:
    tf: defaultdict[str, float] = defaultdict(float)

    def add(text: str, weight: float) -> None:
        for term in terms(text):
            tf[term] += weight

    name = endpoint.tool.split("_", 1)[1] if "_" in endpoint.tool else endpoint.tool
    add(name.replace("_", " "), W_NAME)
    add(endpoint.title, W_TITLE)
    add(endpoint.summary, W_SUMMARY)
    add(f"{endpoint.area.split('.', 1)[1].replace('_', ' ')} {area_title}", W_AREA)
    for prop, schema in _parameters(endpoint):
        add(prop, W_PARAM)
        for value in _enum_values(schema):
            add(value, W_ENUM)
    return tf


def _parameters(endpoint: Endpoint) -> list[tuple[str, dict]]:
    params = endpoint.parameters
    found: list[tuple[str, dict]] = []
    for group in (params.path, params.query, params.body or {}):
        for prop, schema in (group.get("properties") or {}).items():
            if isinstance(schema, dict):
                found.append((prop, schema))
    return found


def _enum_values(schema: dict, depth: int = 0) -> list[str]:
    """Enum values at this level and one level into arrays/objects (e.g. ``status`` items)."""
    values = [str(v) for v in schema.get("enum", []) if isinstance(v, str | int)]
    if depth < 2:
        items = schema.get("items")
        if isinstance(items, dict):
            values += _enum_values(items, depth + 1)
        for sub in (schema.get("properties") or {}).values():
            if isinstance(sub, dict):
                values += _enum_values(sub, depth + 1)
    return values
