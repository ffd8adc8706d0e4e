"""The superbill as a PDF (fpdf2, core fonts): the same content as the printable page."""

from __future__ import annotations

from flask_babel import gettext as _
from fpdf import FPDF

from teletherapy.domain.vocabularies import SETTINGS
from teletherapy.i18n import vocabulary_label
from teletherapy.services.payments import Superbill
from teletherapy.web.formatting import local_date, money, viewer_language


def _text(value: str) -> str:
    # The core PDF fonts are Latin-1; other characters become "?" rather than failing.
    return value.encode("latin-1", "replace").decode("latin-1")


def superbill_pdf(bill: Superbill) -> bytes:
    pdf = FPDF(format="Letter")
    pdf.set_title(_text(_("Superbill %(period)s", period=bill.period)))
    pdf.set_creator("Teletherapy")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(
        0, 10, _text(_("Superbill %(period)s", period=bill.period)), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(
        0,
        6,
        _text(
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
        _text(_("Issued: %(day)s", day=local_date(bill.issued_on))),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for provider in bill.providers:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(
            0, 8, _text(_("Provider: %(name)s", name=provider.name)), new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_font("Helvetica", "", 10)
        licence = _(
            "Licence: %(license_type)s %(license_number)s (%(license_state)s)",
            license_type=provider.license_type,
            license_number=provider.license_number,
            license_state=provider.license_state,
        )
        pdf.cell(0, 6, _text(licence), new_x="LMARGIN", new_y="NEXT")
        pdf.cell(
            0,
            6,
            _text(_("NPI: %(npi)s", npi=provider.npi or _("not on file"))),
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
                row.cell(_text(vocabulary_label(SETTINGS, line.setting, viewer_language())))
                row.cell(_text(money(line.fee_cents)))
                row.cell(_text(money(line.paid_cents)))
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(
            0,
            8,
            _text(f"{_('Total paid')}: {money(provider.total_paid_cents)}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    if not bill.providers:
        pdf.cell(0, 8, _text(_("No sessions in this period.")), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
