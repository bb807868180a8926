"""Rows of the results table and the RESULTS.md writer; figures hand in rows, nothing is typed by hand."""

from __future__ import annotations

from dataclasses import dataclass, field

NOT_MET, MET = "no", "yes"


@dataclass
class Row:
    figure: str
    metric: str
    ours: str
    peer: str
    ratio: str = "–"
    target: str = ""
    met: str = ""


@dataclass
class Section:
    """One figure's rows, plus optional detail (a markdown block) and notes on method."""

    title: str
    rows: list[Row] = field(default_factory=list)
    detail: str = ""
    notes: list[str] = field(default_factory=list)


def verdict(ok: bool | None) -> str:
    return "" if ok is None else (MET if ok else NOT_MET)


def not_measured(figure: str, reason: str) -> Section:
    return Section(figure, [Row(figure, "not measured", reason, reason)])


def render(sections: list[Section], header: str) -> str:
    lines = [
        header,
        "",
        "## Summary",
        "",
        "| figure | metric | ops-mcp | peer | ops-mcp / peer | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for section in sections:
        for row in section.rows:
            lines.append(
                f"| {row.figure} | {row.metric} | {row.ours} | {row.peer} | {row.ratio} | {row.target} | "
                f"{row.met} |"
            )
    for section in sections:
        if not (section.detail or section.notes):
            continue
        lines += ["", f"## {section.title}", ""]
        if section.detail:
            lines += [section.detail, ""]
        lines += [f"- {note}" for note in section.notes]
    return "\n".join(lines).rstrip() + "\n"
