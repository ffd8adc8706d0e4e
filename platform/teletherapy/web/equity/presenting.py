"""What the page and the CSV show of a report: labels, tables, charts (pygal, inline SVG)."""

from __future__ import annotations

import csv
import io
import re
import sys
from dataclasses import dataclass
from typing import Any

import pygal
from markupsafe import Markup
from pygal.style import Style

from teletherapy.domain import vocabularies as v
from teletherapy.services.equity.metrics import FAMILIES, EquityReport
from teletherapy.web.headers import csp_nonce

# pygal appends an old-style import hook (for map plugins, unused here) that makes every
# failed import anywhere raise an ImportWarning on Python 3.11: take it out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

SUPPRESSED_TEXT = "fewer than 11"
FAMILY_TITLES = {
    "demand": "Unmet demand: searches that found no one",
    "time_to_care": "Time to care: first search to first session",
    "capacity": "Reduced-fee capacity (by the therapist's licence state)",
    "sessions": "Sessions: language and culture, cancellations, no-shows, waived fees",
    "continuity": "Keeping people in care",
}
METRIC_LABELS = {
    "searches": "Searches",
    "searches_no_match": "Searches with no match",
    "no_match_share": "Share with no match",
    "first_searches": "Clients' first searches",
    "hours_to_first_session_median": "Hours to first session (median)",
    "hours_to_first_session_p75": "Hours to first session (75th percentile)",
    "booked_within_14_days_share": "Share booked within 14 days",
    "therapists_offering_reduced_fees": "Therapists offering reduced fees",
    "reduced_fee_places_offered": "Reduced-fee places offered",
    "reduced_fee_places_used": "Reduced-fee places used",
    "reduced_fee_places_used_share": "Share of places used",
    "therapists_at_cap": "Therapists at their cap",
    "sessions": "Sessions",
    "late_cancellations": "Late cancellations",
    "no_shows": "No-shows",
    "fees_waived": "Fees waived",
    "language_concordance_share": "Share in a language the client asked for",
    "cultural_concordance_share": "Share with a shared cultural background, when asked",
    "clients_starting_care": "Clients starting care",
    "second_session_share": "Share with a second session",
    "fifth_session_share": "Share with a fifth session",
}
DIMENSION_LABELS = {
    "fee_band": "Fee band",
    "setting": "Setting",
    "language": "Language",
    "state": "State",
}
FILTER_LABELS = {
    "language_required": "therapists do not practise the language",
    "no_therapist_in_place": "no therapist in place for the band and setting",
    "not_licensed_in_state": "no licence in the state",
    "too_far": "offices too far",
    "outside_home_radius": "outside home-visit areas",
    "reduced_fee_capacity_full": "reduced-fee places full",
    "fee_band_not_accepted": "band not accepted",
    "age_group": "age group not seen",
    "setting_not_offered": "setting not offered",
}
# One chart per family: (metric, dimension).
CHARTS = (
    ("time_to_care", "hours_to_first_session_median", "fee_band"),
    ("demand", "no_match_share", "language"),
    ("capacity", "reduced_fee_places_used_share", "state"),
    ("sessions", "language_concordance_share", "language"),
    ("continuity", "second_session_share", "fee_band"),
)


def code_label(dimension: str, code: str, bands: dict[str, str]) -> str:
    if code == "":
        return "none asked" if dimension == "language" else "unknown"
    if dimension == "fee_band":
        return f"Band {code.upper()}" + (f" ({bands[code]})" if code in bands else "")
    vocabulary = {"setting": v.SETTINGS, "language": v.LANGUAGES, "state": v.US_STATES}
    return vocabulary.get(dimension, {}).get(code, code)


def show(value: float | None, suppressed: bool, metric: str) -> str:
    if suppressed:
        return SUPPRESSED_TEXT
    if value is None:
        return "—"
    if metric.endswith("_share"):
        return f"{value * 100:.0f}%"
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.1f}"


@dataclass(frozen=True)
class Row:
    label: str
    values: list[str]


@dataclass(frozen=True)
class Table:
    dimension: str
    title: str
    metrics: list[str]
    rows: list[Row]


@dataclass(frozen=True)
class Section:
    code: str
    title: str
    tables: list[Table]
    chart: Markup | None
    chart_title: str
    chart_rows: list[Row]


def sections(report: EquityReport, bands: dict[str, str]) -> list[Section]:
    result = []
    for family in FAMILIES:
        cells = [c for c in report.cells if c.family == family.code]
        metrics = [m.code for m in family.metrics]
        tables = []
        for dimension in ("", *family.dimensions):
            if dimension in report.filters:
                continue
            chosen = [c for c in cells if c.dimension == dimension]
            codes = sorted({c.group.get(dimension, "") for c in chosen}) if dimension else [""]
            rows = []
            for code in codes:
                by_metric = {
                    c.metric: c for c in chosen if not dimension or c.group.get(dimension) == code
                }
                label = code_label(dimension, code, bands) if dimension else "All"
                rows.append(
                    Row(
                        label,
                        [
                            show(by_metric[m].value, by_metric[m].suppressed, m)
                            if m in by_metric
                            else "—"
                            for m in metrics
                        ],
                    )
                )
            title = f"By {DIMENSION_LABELS[dimension].lower()}" if dimension else "Total"
            tables.append(Table(dimension, title, metrics, rows))
        chart, chart_title, chart_rows = _chart(report, family.code, bands)
        result.append(
            Section(family.code, FAMILY_TITLES[family.code], tables, chart, chart_title, chart_rows)
        )
    return result


def _chart(
    report: EquityReport, family: str, bands: dict[str, str]
) -> tuple[Markup | None, str, list[Row]]:
    spec = next(c for c in CHARTS if c[0] == family)
    _, metric, dimension = spec
    if dimension in report.filters:
        return None, "", []
    cells = [c for c in report.cells if c.metric == metric and c.dimension == dimension]
    title = f"{METRIC_LABELS[metric]} by {DIMENSION_LABELS[dimension].lower()}"
    rows = [
        Row(code_label(dimension, c.group[dimension], bands), [show(c.value, c.suppressed, metric)])
        for c in cells
    ]
    if not cells:
        return None, title, rows
    style = Style(
        background="transparent",
        plot_background="transparent",
        foreground="#1f2933",
        foreground_strong="#1f2933",
        foreground_subtle="#52606d",
        colors=("#1d4ed8",),
        font_family="system-ui, sans-serif",
    )
    chart = pygal.HorizontalBar(
        style=style,
        show_legend=False,
        width=640,
        height=max(160, 44 * len(cells) + 60),
        disable_xml_declaration=True,
        js=[],
        explicit_size=False,
        print_values=False,
        range=(0, 1) if metric.endswith("_share") else None,
    )
    chart.x_labels = [r.label for r in rows]
    share = metric.endswith("_share")
    chart.add(
        METRIC_LABELS[metric],
        [
            None if c.suppressed or c.value is None else (c.value * 100 if share else c.value)
            for c in cells
        ],
    )
    if share:
        chart.range = (0, 100)
    # No JavaScript: pygal always writes its tooltip configuration as a script.
    svg = re.sub(r"<script.*?</script>", "", chart.render(is_unicode=True), flags=re.S)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{title}" focusable="false" ', 1)
    # No inline style the policy would refuse: pygal's one style attribute becomes an SVG
    # attribute, its <style> element carries this answer's nonce.
    svg = svg.replace(' style="opacity: 0"', ' opacity="0"')
    svg = svg.replace("<style ", f'<style nonce="{csp_nonce()}" ')
    return Markup(svg), title, rows


def as_csv(report: EquityReport, bands: dict[str, str]) -> str:
    """Exactly the page's cells: one line per cell, then the recruiting list."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "metric", "breakdown", "group", "value"])
    shown_dimensions = {"", "fee_band", "setting", "language", "state"} - set(report.filters)
    for cell in report.cells:
        if cell.dimension not in shown_dimensions:
            continue
        code = cell.group.get(cell.dimension, "") if cell.dimension else ""
        writer.writerow(
            [
                FAMILY_TITLES[cell.family],
                METRIC_LABELS[cell.metric],
                DIMENSION_LABELS.get(cell.dimension, "Total"),
                code_label(cell.dimension, code, bands) if cell.dimension else "All",
                show(cell.value, cell.suppressed, cell.metric),
            ]
        )
    for need in report.recruiting:
        writer.writerow(
            [
                "Where to recruit",
                "Searches with no match",
                "State, setting, language",
                recruiting_label(need, bands),
                str(need.searches),
            ]
        )
    return out.getvalue()


def recruiting_label(need: Any, bands: dict[str, str]) -> str:
    return " · ".join(
        [
            code_label("state", need.state, bands),
            code_label("setting", need.setting, bands),
            code_label("language", need.language, bands),
        ]
    )


def filter_label(name: str | None) -> str:
    return FILTER_LABELS.get(name or "", (name or "").replace("_", " "))


def payload(report: EquityReport) -> dict[str, Any]:
    """The API's answer (the same cells as the page)."""
    return {
        "from": report.date_from.isoformat(),
        "to": report.date_to.isoformat(),
        "filters": dict(report.filters),
        "suppress_below": 11,
        "cells": [c.as_dict() for c in report.cells],
        "recruiting": [
            {
                "state": n.state,
                "setting": n.setting,
                "language": n.language,
                "searches": n.searches,
                "most_removed_by": n.most_removed_by,
            }
            for n in report.recruiting
        ],
    }
