"""Render Reports: the human text report and the JSON contract of LANGUAGE.md."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ircheck.result import HOLDS, INCONCLUSIVE, VIOLATED, Report

_MARK = {HOLDS: "holds", VIOLATED: "VIOLATED", INCONCLUSIVE: "inconclusive"}


def _changes(ch: dict[str, tuple[str, str]]) -> str:
    return ", ".join(f"{k} {a}->{b}" for k, (a, b) in ch.items())


def text(report: Report, verbose: bool = False) -> str:
    out: list[str] = []
    if report.errors:
        for d in report.errors:
            out.append(d.render(report.source))
        return "\n".join(out)
    st = report.stats
    head = f"{report.model}: {report.verdict.upper() if report.verdict != HOLDS else 'all checks hold'}"
    out.append(head)
    for c in report.checks:
        out.append(f"  {c.name:<20} {_MARK.get(c.status, c.status)}" + (f"  ({c.note})" if c.note else ""))
        if c.status != VIOLATED:
            continue
        kind = "lasso" if c.loop_start else "counterexample"
        out.append(f"    {kind}, {len(c.trace)} step{'s' if len(c.trace) != 1 else ''}:")
        width = max((len(s.context) for s in c.trace), default=0)
        for s in c.trace:
            loop = "  <- loop starts" if c.loop_start == s.number else ""
            mark = "  <- violation" if s.note == "violation" else ""
            where = f"  [line {s.line}]" if s.line else ""
            out.append(f"    {s.number:>3}  {s.context:<{width}}  {s.action}{where}{mark}{loop}")
            if s.changes:
                out.append(f"    {'':>3}  {'':<{width}}    {_changes(s.changes)}")
        out.append(f"    => {c.message}")
    out.append(f"  ({st.engine}: {st.states:,} states, {st.transitions:,} transitions, depth {st.depth}, "
               f"{st.seconds:.2f} s, {st.states_per_s:,.0f} states/s, peak {st.peak_mb:.0f} MB"
               + (f"; stopped: {st.stopped_by}" if st.stopped_by and not st.complete else "") + ")")
    return "\n".join(out)


def json_doc(reports: Sequence[Report]) -> str:
    docs = [r.to_json() for r in reports]
    return json.dumps(docs[0] if len(docs) == 1 else docs, indent=2)
