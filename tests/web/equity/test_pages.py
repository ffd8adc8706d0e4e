"""The equity page, its CSV and the API: admins only, the same cells everywhere."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from teletherapy.extensions import db
from teletherapy.models import EquitySearch
from teletherapy.web.equity.presenting import METRIC_LABELS, code_label, show

WHEN = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
RANGE = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def searches(app: Any) -> None:
    """40 searches: NY online (30, half without a match), NJ home (6), TX in office (4)."""
    places = [("a", "online", "NY", "es")] * 15 + [("b", "online", "NY", "")] * 15
    places += [("a", "home", "NJ", "")] * 6 + [("c", "in_office", "TX", "vi")] * 4
    for i, (band, setting, state, language) in enumerate(places):
        db.session.add(
            EquitySearch(
                searched_at=WHEN + timedelta(hours=i),
                fee_band=band,
                setting=setting,
                state=state,
                required_languages=language,
                preferred_languages="",
                result_count=0 if i % 2 == 0 else 2,
                most_removed_by="language_required" if i % 2 == 0 else None,
            )
        )
    db.session.commit()


@pytest.mark.parametrize("role", ["client", "therapist", None])
def test_only_administrators_find_the_page_and_the_api(
    client: Any, login: Any, make_user: Any, api_token: Any, role: str | None
) -> None:
    headers = {}
    if role is not None:
        user = make_user(role)
        login(user)
        headers = api_token(user)
    assert client.get("/admin/equity").status_code == 404
    assert client.get("/admin/equity.csv").status_code == 404
    response = client.get(f"/api/v1/admin/equity?{RANGE}", headers=headers)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_the_page_shows_charts_with_their_tables_and_suppresses_small_groups(
    client: Any, login: Any, make_user: Any, searches: None
) -> None:
    login(make_user("admin"))
    response = client.get(f"/admin/equity?{RANGE}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count("<svg") >= 1 and "<script" not in page  # charts of empty data are left out
    assert "Pygal" not in page  # pygal's default title of a chart: each has its own
    assert "<title>Share with no match by language</title>" in page
    assert 'role="img"' in page and "Data of the chart" in page
    assert "fewer than 11" in page
    assert "Where the platform most needs therapists" in page


def test_a_chart_whose_groups_are_all_suppressed_is_left_out_for_its_table(
    client: Any, login: Any, make_user: Any, searches: None
) -> None:
    """TX has 4 searches: every cell is "fewer than 11", so there is nothing to draw
    (pygal would draw its own untranslated "No data" under a "Pygal" title)."""
    login(make_user("admin"))
    page = client.get(f"/admin/equity?{RANGE}&state=TX").get_data(as_text=True)
    assert "fewer than 11" in page
    assert "<svg" not in page and "No data" not in page and "Pygal" not in page


def _page_rows(page: str) -> set[tuple[str, ...]]:
    rows = set()
    for row in re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', page, flags=re.S):
        label, cells = row
        values = re.findall(r"<td>(.*?)</td>", cells, flags=re.S)
        rows.add((html.unescape(label.strip()), *(html.unescape(v) for v in values)))
    return rows


@pytest.mark.parametrize("query", [RANGE, f"{RANGE}&state=NY"])
def test_the_api_the_page_and_the_csv_show_the_same_cells(
    client: Any, login: Any, make_user: Any, api_token: Any, searches: None, query: str
) -> None:
    admin = make_user("admin")
    answer = client.get(f"/api/v1/admin/equity?{query}", headers=api_token(admin)).get_json()
    assert answer["from"] == "2026-11-01" and answer["suppress_below"] == 11
    cells = answer["cells"]
    assert any(c["suppressed"] and c["value"] is None for c in cells) or answer["filters"]
    assert any(not c["suppressed"] and c["value"] for c in cells)
    login(admin)
    page = client.get(f"/admin/equity?{query}").get_data(as_text=True)
    rows = _page_rows(page)
    bands: dict[str, str] = {}
    searches_cells = [c for c in cells if c["metric"] in ("searches", "searches_no_match")]
    for cell in searches_cells:
        dimension = next((d for d in cell["group"] if d not in answer["filters"]), "")
        label = code_label(dimension, cell["group"][dimension], bands) if dimension else "All"
        shown = show(cell["value"], cell["suppressed"], cell["metric"])
        found = any(r[0].startswith(label.split(" (")[0]) and shown in r[1:] for r in rows)
        assert found, (cell, sorted(rows))
    exported = list(
        csv.reader(io.StringIO(client.get(f"/admin/equity.csv?{query}").get_data(as_text=True)))
    )
    assert exported[0] == ["section", "metric", "breakdown", "group", "value"]
    per_cell = [r for r in exported[1:] if r[0] != "Where to recruit"]
    assert len(per_cell) == len(cells)
    for cell, line in zip(cells, per_cell, strict=True):
        assert line[1] == str(METRIC_LABELS[cell["metric"]])
        assert line[4] == show(cell["value"], cell["suppressed"], cell["metric"])
    recruiting = [r for r in exported[1:] if r[0] == "Where to recruit"]
    assert len(recruiting) == len(answer["recruiting"])


def test_the_recruiting_list_names_the_place_and_what_removed_most(
    client: Any, api_token: Any, make_user: Any, searches: None
) -> None:
    answer = client.get(
        f"/api/v1/admin/equity?{RANGE}", headers=api_token(make_user("admin"))
    ).get_json()
    assert answer["recruiting"] == [
        {
            "state": "NY",
            "setting": "online",
            "language": "",
            "searches": 15,
            "most_removed_by": "language_required",
        }
    ] or all(n["searches"] >= 11 for n in answer["recruiting"])


def test_filters_combine_in_the_page_the_csv_and_the_api(
    client: Any, login: Any, make_user: Any, api_token: Any, searches: None
) -> None:
    admin = make_user("admin")
    query = f"{RANGE}&fee_band=a&setting=online&state=NY"
    answer = client.get(f"/api/v1/admin/equity?{query}", headers=api_token(admin)).get_json()
    assert answer["filters"] == {"fee_band": "a", "setting": "online", "state": "NY"}
    searches_total = next(
        c for c in answer["cells"] if c["metric"] == "searches" and c["group"] == answer["filters"]
    )
    assert (searches_total["value"], searches_total["suppressed"]) == (15, False)
    by_language = {
        c["group"]["language"]: c["value"]
        for c in answer["cells"]
        if c["metric"] == "searches" and "language" in c["group"]
    }
    assert by_language == {"es": 15}
    bad = client.get("/api/v1/admin/equity?from=yesterday&state=ZZ", headers=api_token(admin))
    assert bad.status_code == 422 and {"from", "state"} <= set(bad.get_json()["errors"])
    login(admin)
    page = client.get(f"/admin/equity?{query}")
    assert page.status_code == 200
    assert "Filters combine" in page.get_data(as_text=True)
    exported = client.get(f"/admin/equity.csv?{query}").get_data(as_text=True)
    assert "Searches,Total,All,15" in exported
    assert client.get("/admin/equity.csv?fee_band=zz").status_code == 422


def test_the_page_speaks_spanish_and_the_csv_stays_english(
    client: Any, login: Any, make_user: Any, searches: None
) -> None:
    admin = make_user("admin")
    admin.language = "es"
    db.session.commit()
    login(admin)
    page = client.get(f"/admin/equity?{RANGE}").get_data(as_text=True)
    assert "Equidad en el acceso" in page and "menos de 11" in page
    assert "Resultados" in page and "Access equity" not in page
    exported = client.get(f"/admin/equity.csv?{RANGE}").get_data(as_text=True)
    assert "fewer than 11" in exported and "menos de 11" not in exported
    login(make_user("therapist", language="es"))
    assert "Sus plazas de tarifa reducida" in client.get("/practice/equity").get_data(as_text=True)


def test_a_therapist_sees_only_their_own_numbers(client: Any, login: Any, make_user: Any) -> None:
    login(make_user("therapist", display_name="Dr Ana"))
    response = client.get("/practice/equity")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Your reduced-fee places" in text and "The platform" in text
    assert "fewer than 11" in text


def test_clients_cannot_open_the_therapist_view(client: Any, login: Any, make_user: Any) -> None:
    login(make_user("client"))
    assert client.get("/practice/equity").status_code == 403
