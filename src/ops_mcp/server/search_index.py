"""A small lexical search index over tool definitions (BM25 with field weights).

Discovery mode must rank the right tool for a task phrasing without a network or a model download,
so this is plain BM25 over a handful of weighted fields (tool name and title weigh most, then the
summary and area, then parameter names and enum values), with a light suffix stemmer and a domain
vocabulary (``search_vocabulary.py``: "pay stub" → payslip, "leavers" → offboarding, "approver" →
company manager). Two small tie-breaks come from what the query asks to do: a phrasing with no write
verb prefers read tools ("who is off sick" should not surface "Create Time Off"), and a tool whose
action — the first word of its name — is what the query's verb asks for gets a bonus ("stop the
stipend" → delete, "extend the probation" → create).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from ..catalogue.models import Endpoint
from ..records import Frozen, set_fields
from .search_vocabulary import (
    ACTIONS,
    CLAUSE_OPENERS,
    DROP_LITERAL,
    LIST_CUES,
    NOUN_OR_VERB,
    POSSESSIVE,
    PRONOUNS,
    QUESTION_WORDS,
    READ_PHRASES,
    SAME_STEM,
    STOPWORDS,
    SYNONYMS,
    WEAK_WORDS,
    WRITE_ACTIONS,
    WRITE_VERBS,
)

# Field weights: how much one occurrence of a term in that field counts.
W_NAME, W_TITLE, W_SUMMARY, W_AREA, W_PARAM, W_ENUM = 2.0, 3.0, 2.0, 1.5, 0.8, 0.5
W_AREA_DESC = 0.7
K1, B = 1.2, 0.6
SYNONYM_WEIGHT = 0.6
WEAK_WEIGHT = 0.33
READ_BIAS = 0.85  # write tools' score factor when the query asks nothing to change
QUESTION_READ_BIAS = 0.7  # the same when the query is a question ("what is…", "which…")
LIST_BONUS = 1.15  # list tools' score factor when the query asks "which…", "who…", "list…"
ACTION_BONUS = 1.25  # the tool's action (first word of its name) is what the query's verbs ask for
ACTION_MISMATCH = 0.85  # a write tool whose action is not the change the query's verbs ask for
ACTION_TERM_WEIGHT = 0.3  # the change a query's verb asks for, as a term ("scrap" → cancel, delete)
PERSON_WEIGHT = 0.3  # "employment_id" when the query is about one person ("Dan's", "her")
PERSON_TERM = "employmentid"  # how terms() writes the parameter name employment_id, joined
PHRASE_WORDS = 3  # synonyms and actions may be phrases of up to this many words


_TOKEN = re.compile(r"[a-z0-9]+")
_CLAUSE_BREAK = re.compile(r"[,;:!?]|\.\s|\s[—–-]\s")


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
    return SAME_STEM.get(w, w)


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


def clause_starts(text: str) -> set[int]:
    """Positions (in ``words(text)``) of the first word of each clause: after , ; : ! ? a full stop or a dash."""
    starts, position = set(), 0
    for clause in _CLAUSE_BREAK.split(text):
        found = words(clause)
        if found:
            starts.add(position)
        position += len(found)
    return starts


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


class Hit(Frozen):
    __slots__ = ("name", "score")
    name: str
    score: float

    def __init__(self, name: str, score: float) -> None:
        set_fields(self, name=name, score=score)


class SearchIndex:
    """BM25 over weighted fields; build once per set of visible tools (cheap: ~100 documents)."""

    def __init__(self, endpoints: Iterable[Endpoint], area_titles: dict[str, str] | None = None,
                 area_descriptions: dict[str, str] | None = None) -> None:
        area_titles = area_titles or {}
        area_descriptions = area_descriptions or {}
        self._docs: dict[str, dict[str, float]] = {}
        self._lengths: dict[str, float] = {}
        self._write: dict[str, bool] = {}
        self._list: dict[str, bool] = {}
        self._action: dict[str, str] = {}
        endpoints = list(endpoints)
        # The back ends' own names ("in Remote") say nothing about which of their tools is meant.
        self._weak = WEAK_WORDS | {e.tool.split("_", 1)[0] for e in endpoints}
        for endpoint in endpoints:
            tf = _document(endpoint, area_titles.get(endpoint.area, ""), area_descriptions.get(endpoint.area, ""))
            self._docs[endpoint.tool] = tf
            self._lengths[endpoint.tool] = sum(tf.values())
            self._write[endpoint.tool] = endpoint.access == "write"
            self._list[endpoint.tool] = endpoint.paginated
            self._action[endpoint.tool] = _action(endpoint.tool)
        count = len(self._docs) or 1
        self._avg_length = (sum(self._lengths.values()) / count) or 1.0
        df: Counter[str] = Counter()
        for tf in self._docs.values():
            df.update(tf.keys())
        self._idf = {t: math.log(1 + (count - n + 0.5) / (n + 0.5)) for t, n in df.items()}

    def __len__(self) -> int:
        return len(self._docs)

    def search(self, query: str, limit: int = 5) -> list[Hit]:
        given = words(query)
        matched = _verb_phrases(given, clause_starts(query))
        actions = {a for targets, _span in matched for a in targets}
        if "create" in actions and POSSESSIVE & set(given):
            actions.add("update")  # "add Sven's tax id", "record Dan's serial in his field": a change to a person
        # The words of a phrasal verb ("call off", "put it in") say what to do, not what to find.
        verb_words = {i for _targets, span in matched if len(span) > 1 for i in span}
        weights = self._query_weights(given, verb_words, actions)
        if not weights:
            return []
        question = bool(given) and given[0] in QUESTION_WORDS and given[1:2] != ["you"]
        wants_write = not question and _asks_to_change(given)
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
                score *= QUESTION_READ_BIAS if question else READ_BIAS
            if wants_list and self._list[name]:
                score *= LIST_BONUS
            action = self._action[name]
            if action in actions:
                score *= ACTION_BONUS
            elif self._write[name] and actions & WRITE_ACTIONS:
                score *= ACTION_MISMATCH  # "cancel the commission" is not "create an incentive"
            hits.append(Hit(name, round(score, 4)))
        hits.sort(key=lambda h: (-h.score, h.name))
        return hits[:limit]

    def _query_weights(self, given: list[str], verb_words: set[int], actions: set[str]) -> dict[str, float]:
        weights: dict[str, float] = {}

        def add(text: str, weight: float) -> None:
            for term in terms(text):
                if term in self._idf:
                    weights[term] = max(weights.get(term, 0.0), weight)

        for i, word in enumerate(given):
            if word not in DROP_LITERAL:
                add(word, WEAK_WEIGHT if word in self._weak or i in verb_words else 1.0)
        for extras, _span in _phrases(given, _SYNONYMS):
            for extra in extras:
                add(extra, SYNONYM_WEIGHT)
        if POSSESSIVE & set(given) and PERSON_TERM in self._idf:
            # "Dan's", "her": the task is about one person, so likely a tool taking an employment.
            weights[PERSON_TERM] = max(weights.get(PERSON_TERM, 0.0), PERSON_WEIGHT)
        for action in actions & WRITE_ACTIONS:  # "scrap the leave": the cancel and delete tools
            add(action, ACTION_TERM_WEIGHT)
        return weights


def _asks_to_change(given: list[str]) -> bool:
    """A write verb that is not a request to read ("send me the PDF")."""
    for i, word in enumerate(given):
        if word in WRITE_VERBS and (i + 1 == len(given) or given[i + 1] not in READ_PHRASES):
            return True
    return False


class _Table:
    """A phrase table looked up by the words as typed, else by their stems ("reimbursed" finds
    "reimburse", "bonuses" finds "bonus"); an entry for the typed form wins ("leaving" ≠ "leave")."""

    def __init__(self, entries: dict[str, tuple[str, ...]], *, by_stem: bool = True) -> None:
        self.raw = entries
        self.stemmed: dict[str, tuple[str, ...]] = {}
        for key, value in entries.items() if by_stem else ():
            self.stemmed.setdefault(" ".join(stem(w) for w in key.split()), value)

    def get(self, raw: str, stemmed: str) -> tuple[str, ...] | None:
        found = self.raw.get(raw)
        return found if found is not None else self.stemmed.get(stemmed)


def _phrases(given: list[str], table: _Table) -> list[tuple[tuple[str, ...], range]]:
    """What ``table`` says of the query's words and phrases (with the word positions), longest first:
    a phrase ("job title", "set up") takes its words, so they do not also count alone ("job" → work
    order, "set" → update)."""
    stems = [stem(w) for w in given]
    found: list[tuple[tuple[str, ...], range]] = []
    taken: set[int] = set()
    for n in range(PHRASE_WORDS, 0, -1):
        for i in range(len(given) - n + 1):
            span = set(range(i, i + n))
            if span & taken:
                continue
            value = table.get(" ".join(given[i:i + n]), " ".join(stems[i:i + n]))
            if value is not None:
                found.append((value, range(i, i + n)))
                taken |= span
    return found


def _verb_phrases(given: list[str], starts: set[int]) -> list[tuple[tuple[str, ...], range]]:
    """The actions the query's verbs ask for; a pronoun inside a phrasal verb is skipped ("put it in",
    "let it through", "call them off"), its span covers it."""
    kept = [i for i, word in enumerate(given) if word not in PRONOUNS]
    found = _phrases([given[i] for i in kept], _ACTIONS)
    spans = [(targets, range(kept[span[0]], kept[span[-1]] + 1)) for targets, span in found]
    # "record", "request", "file" are nouns as often as verbs: verbs only where a clause starts.
    return [(targets, span) for targets, span in spans
            if given[span.start] not in NOUN_OR_VERB or span.start in starts
            or given[span.start - 1] in CLAUSE_OPENERS]


# Actions only as typed: "starts", "invoices" are not the imperatives "start", "invoice".
_SYNONYMS, _ACTIONS = _Table(SYNONYMS), _Table(ACTIONS, by_stem=False)


def _action(tool: str) -> str:
    """The verb a tool's name starts with, after the back-end prefix: remote_list_expenses → list."""
    parts = tool.split("_")
    return parts[1] if len(parts) > 1 else parts[0]


def _document(endpoint: Endpoint, area_title: str, area_description: str = "") -> dict[str, float]:
    tf: defaultdict[str, float] = defaultdict(float)

    def add(text: str, weight: float) -> None:
        for term in terms(text):
            tf[term] += weight

    name = endpoint.tool.split("_", 1)[1] if "_" in endpoint.tool else endpoint.tool
    add(name.replace("_", " "), W_NAME)
    add(endpoint.title, W_TITLE)
    add(endpoint.summary, W_SUMMARY)
    add(f"{endpoint.area.split('.', 1)[1].replace('_', ' ')} {area_title}", W_AREA)
    # The area's description lends its nouns to every tool of the area ("commissions" to Delete
    # Incentive); its verbs would blur which tool does what, so they are left out.
    add(" ".join(w for w in words(area_description) if w not in WRITE_VERBS and w not in ACTIONS), W_AREA_DESC)
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
