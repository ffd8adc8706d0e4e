"""The superbill as a PDF (fpdf2): the same content as the printable page, in any script.

The PDF core fonts are Latin-1 only, so names in Greek, Cyrillic, Arabic, Hebrew,
Devanagari, Thai, Chinese, Japanese or Korean would print as "?". The fonts are Kurinto
Sans (SIL OFL), shipped inside the `weblate-fonts` package, with the Chinese and Korean
variants as fallbacks for the ideographs and Hangul the main font lacks; harfbuzz
(`uharfbuzz`) shapes joined and right-to-left scripts.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib.resources import files
from pathlib import Path

from flask_babel import gettext as _
from fpdf import FPDF

from teletherapy.domain.vocabularies import SETTINGS
from teletherapy.i18n import vocabulary_label
from teletherapy.services.payments import Superbill
from teletherapy.web.formatting import local_date, money, viewer_language

FONT = "Kurinto"
MAIN_FONTS = (("", "KurintoSans-Rg.ttf"), ("B", "KurintoSans-Bd.ttf"))
# Loaded only when a text needs them (they are large): Chinese ideographs, then Hangul.
FALLBACK_FONTS = (("KurintoSC", "KurintoSansSC-Rg.ttf"), ("KurintoKR", "KurintoSansKR-Rg.ttf"))


@cache
def font_folder() -> Path:
    return Path(str(files("weblate_fonts").joinpath("static/weblate_fonts/kurinto/ttf")))


@cache
def _main_font_characters() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(str(font_folder() / MAIN_FONTS[0][1]), lazy=True) as font:
        return frozenset(font.getBestCmap())


def needs_fallback(texts: Iterable[str]) -> bool:
    """Whether any character (but spaces and controls) is missing from the main font."""
    known = _main_font_characters()
    return any(ord(c) not in known and not c.isspace() for text in texts for c in text)


def new_pdf(texts: Iterable[str] = ()) -> FPDF:
    """A Letter page with the Unicode fonts loaded (fallbacks when `texts` need them) and
    text shaping on."""
    pdf = FPDF(format="Letter")
    for style, name in MAIN_FONTS:
        pdf.add_font(FONT, style, str(font_folder() / name))
    if needs_fallback(texts):
        for family, name in FALLBACK_FONTS:
            pdf.add_font(family, "", str(font_folder() / name))
        pdf.set_fallback_fonts([family for family, _name in FALLBACK_FONTS], exact_match=False)
    pdf.set_text_shaping(True)
    return pdf


def superbill_pdf(bill: Superbill) -> bytes:
    names = [bill.client_name, bill.client_email, *(p.name for p in bill.providers)]
    pdf = new_pdf(names)
    pdf.set_title(_("Superbill %(period)s", period=bill.period))
    pdf.set_creator("Teletherapy")
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 10, (_("Superbill %(period)s", period=bill.period)), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    pdf.cell(
        0,
        6,
        (
            _(
                "Client: %(client_name)s (%(client_email)s)",
                client_name=bill.client_name,
                client_email=bill.client_email,
            )
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(
        0,
        6,
        (_("Issued: %(day)s", day=local_date(bill.issued_on))),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for provider in bill.providers:
        pdf.ln(4)
        pdf.set_font(FONT, "B", 12)
        pdf.cell(0, 8, (_("Provider: %(name)s", name=provider.name)), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 10)
        licence = _(
            "Licence: %(license_type)s %(license_number)s (%(license_state)s)",
            license_type=provider.license_type,
            license_number=provider.license_number,
            license_state=provider.license_state,
        )
        pdf.cell(0, 6, (licence), new_x="LMARGIN", new_y="NEXT")
        pdf.cell(
            0,
            6,
            (_("NPI: %(npi)s", npi=provider.npi or _("not on file"))),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.ln(2)
        with pdf.table(col_widths=(30, 20, 22, 30, 30, 30), text_align="LEFT") as table:
            header = table.row()
            for title in (
                _("Service date"),
                _("CPT code"),
                _("Minutes"),
                _("Setting"),
                _("Fee"),
                _("Amount paid"),
            ):
                header.cell(title)
            for line in provider.lines:
                row = table.row()
                row.cell(line.service_date.isoformat())
                row.cell(line.cpt)
                row.cell(str(line.minutes))
                row.cell(vocabulary_label(SETTINGS, line.setting, viewer_language()))
                row.cell(money(line.fee_cents))
                row.cell(money(line.paid_cents))
        pdf.set_font(FONT, "B", 10)
        pdf.cell(
            0,
            8,
            (f"{_('Total paid')}: {money(provider.total_paid_cents)}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    if not bill.providers:
        pdf.cell(0, 8, (_("No sessions in this period.")), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
