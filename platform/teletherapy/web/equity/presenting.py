"""What the page and the CSV show of a report: labels, tables, charts (pygal, inline SVG).

Labels are marked for translation and shown in the viewer's language; the CSV export is
always in English (`as_csv` renders under the English locale), so files from different
administrators can be compared and joined.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from dataclasses import dataclass
from typing import Any

import pygal
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from pygal.style import Style

from teletherapy.domain import vocabularies as v
from teletherapy.i18n import vocabulary_label
from teletherapy.services.equity.metrics import FAMILIES, EquityReport
from teletherapy.web.headers import csp_nonce

# pygal appends an old-style import hook (for map plugins, unused here) that makes every
# failed import anywhere raise an ImportWarning on Python 3.11: take it out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

SUPPRESSED_TEXT = _l("fewer than 11")
FAMILY_TITLES = {
    "demand": _l("Unmet demand: searches that found no one"),
    "time_to_care": _l("Time to care: first search to first session"),
    "capacity": _l("Reduced-fee capacity (by the therapist's licence state)"),
    "sessions": _l("Sessions: language and culture, cancellations, no-shows, waived fees"),
    "continuity": _l("Keeping people in care"),
    "outcomes": _l("Outcomes: reliable improvement between first and latest screening"),
}
METRIC_LABELS = {
    "searches": _l("Searches"),
    "searches_no_match": _l("Searches with no match"),
    "no_match_share": _l("Share with no match"),
    "first_searches": _l("Clients' first searches"),
    "hours_to_first_session_median": _l("Hours to first session (median)"),
    "hours_to_first_session_p75": _l("Hours to first session (75th percentile)"),
    "booked_within_14_days_share": _l("Share booked within 14 days"),
    "therapists_offering_reduced_fees": _l("Therapists offering reduced fees"),
    "reduced_fee_places_offered": _l("Reduced-fee places offered"),
    "reduced_fee_places_used": _l("Reduced-fee places used"),
    "reduced_fee_places_used_share": _l("Share of places used"),
    "therapists_at_cap": _l("Therapists at their cap"),
    "sessions": _l("Sessions"),
    "late_cancellations": _l("Late cancellations"),
    "no_shows": _l("No-shows"),
    "fees_waived": _l("Fees waived"),
    "language_concordance_share": _l("Share in a language the client asked for"),
    "cultural_concordance_share": _l("Share with a shared cultural background, when asked"),
    "clients_starting_care": _l("Clients starting care"),
    "second_session_share": _l("Share with a second session"),
    "fifth_session_share": _l("Share with a fifth session"),
    "clients_with_outcomes": _l("Clients screened twice or more"),
    "reliable_improvement_share": _l("Share with reliable improvement"),
    "reliable_deterioration_share": _l("Share with reliable deterioration"),
}
DIMENSION_LABELS = {
    "fee_band": _l("Fee band"),
    "setting": _l("Setting"),
    "language": _l("Language"),
    "state": _l("State"),
}
FILTER_LABELS = {
    "language_required": _l("therapists do not practise the language"),
    "no_therapist_in_place": _l("no therapist in place for the band and setting"),
    "not_licensed_in_state": _l("no licence in the state"),
    "too_far": _l("offices too far"),
    "outside_home_radius": _l("outside home-visit areas"),
    "reduced_fee_capacity_full": _l("reduced-fee places full"),
    "fee_band_not_accepted": _l("band not accepted"),
    "age_group": _l("age group not seen"),
    "setting_not_offered": _l("setting not offered"),
}
# The charts of each family: (family, metric, dimension).
CHARTS = (
    ("time_to_care", "hours_to_first_session_median", "fee_band"),
    ("demand", "no_match_share", "language"),
    ("capacity", "reduced_fee_places_used_share", "state"),
    ("sessions", "language_concordance_share", "language"),
    ("continuity", "second_session_share", "fee_band"),
    ("outcomes", "reliable_improvement_share", "fee_band"),
    ("outcomes", "reliable_improvement_share", "language"),
)


def code_label(dimension: str, code: str, bands: dict[str, str]) -> str:
    if code == "":
        return str(_("none asked") if dimension == "language" else _("unknown"))
    if dimension == "fee_band":
        if code in bands:
            return str(_("Band %(code)s (%(range)s)", code=code.upper(), range=bands[code]))
        return str(_("Band %(code)s", code=code.upper()))
    vocabulary = {"setting": v.SETTINGS, "language": v.LANGUAGES, "state": v.US_STATES}
    return vocabulary_label(vocabulary.get(dimension, {}), code, _language())


def _language() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else "en"


def show(value: float | None, suppressed: bool, metric: str) -> str:
    if suppressed:
        return str(SUPPRESSED_TEXT)
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
class Chart:
    code: str
    svg: Markup | None
    title: str
    rows: list[Row]


@dataclass(frozen=True)
class Section:
    code: str
    title: str
    tables: list[Table]
    charts: list[Chart]


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
                label = code_label(dimension, code, bands) if dimension else _("All")
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
            title = (
                _("By %(dimension)s", dimension=str(DIMENSION_LABELS[dimension]).lower())
                if dimension
                else _("Total")
            )
            tables.append(Table(dimension, title, metrics, rows))
        charts = [
            _chart(report, metric, dimension, bands)
            for code, metric, dimension in CHARTS
            if code == family.code and dimension not in report.filters
        ]
        result.append(Section(family.code, str(FAMILY_TITLES[family.code]), tables, charts))
    return result


def _chart(report: EquityReport, metric: str, dimension: str, bands: dict[str, str]) -> Chart:
    code = f"{metric}-{dimension}"
    cells = [c for c in report.cells if c.metric == metric and c.dimension == dimension]
    title = _(
        "%(metric)s by %(dimension)s",
        metric=METRIC_LABELS[metric],
        dimension=str(DIMENSION_LABELS[dimension]).lower(),
    )
    rows = [
        Row(code_label(dimension, c.group[dimension], bands), [show(c.value, c.suppressed, metric)])
        for c in cells
    ]
    if all(c.suppressed or c.value is None for c in cells):
        # Nothing to draw (no cells, or every one suppressed): the table says why, and
        # pygal would draw its own untranslated "No data" under a "Pygal" title.
        return Chart(code, None, title, rows)
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
        str(METRIC_LABELS[metric]),
        [
            None if c.suppressed or c.value is None else (c.value * 100 if share else c.value)
            for c in cells
        ],
    )
    if share:
        chart.range = (0, 100)
    # No JavaScript: pygal always writes its tooltip configuration as a script.
    svg = re.sub(r"<script.*?</script>", "", chart.render(is_unicode=True), flags=re.S)
    label = str(Markup.escape(title))
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{label}" focusable="false" ', 1)
    # pygal titles an untitled chart "Pygal" (a hover tooltip): the chart's own title.
    svg = svg.replace("<title>Pygal</title>", f"<title>{label}</title>", 1)
    # No inline style the policy would refuse: pygal's one style attribute becomes an SVG
    # attribute, its <style> element carries this answer's nonce.
    svg = svg.replace(' style="opacity: 0"', ' opacity="0"')
    svg = svg.replace("<style ", f'<style nonce="{csp_nonce()}" ')
    return Chart(code, Markup(svg), title, rows)


def as_csv(report: EquityReport, bands: dict[str, str]) -> str:
    """Exactly the page's cells: one line per cell, then the recruiting list. Always in
    English (headers, labels and "fewer than 11"), whatever the page's language."""
    with force_locale("en"):
        return _csv(report, bands)


def _csv(report: EquityReport, bands: dict[str, str]) -> str:
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
                str(FAMILY_TITLES[cell.family]),
                str(METRIC_LABELS[cell.metric]),
                str(DIMENSION_LABELS.get(cell.dimension, _("Total"))),
                code_label(cell.dimension, code, bands) if cell.dimension else _("All"),
                show(cell.value, cell.suppressed, cell.metric),
            ]
        )
    for need in report.recruiting:
        writer.writerow(
            [
                _("Where to recruit"),
                _("Searches with no match"),
                _("State, setting, language"),
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


def options(bands: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """The filter form's choices, labelled in the viewer's language."""
    vocabulary = {"setting": v.SETTINGS, "language": v.LANGUAGES, "state": v.US_STATES}
    return {
        "fee_band": [(code, code_label("fee_band", code, bands)) for code in bands],
        **{
            name: [(code, code_label(name, code, bands)) for code in codes]
            for name, codes in vocabulary.items()
        },
    }


def filter_label(name: str | None) -> str:
    label = FILTER_LABELS.get(name or "")
    return str(label) if label is not None else (name or "").replace("_", " ")


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
