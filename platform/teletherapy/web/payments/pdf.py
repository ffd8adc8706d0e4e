"""The superbill as a PDF (fpdf2, core fonts): the same content as the printable page."""

from __future__ import annotations

from fpdf import FPDF

from teletherapy.domain.money import format_cents
from teletherapy.services.payments import Superbill


def _text(value: str) -> str:
    # The core PDF fonts are Latin-1; other characters become "?" rather than failing.
    return value.encode("latin-1", "replace").decode("latin-1")


def superbill_pdf(bill: Superbill) -> bytes:
    pdf = FPDF(format="Letter")
    pdf.set_title(_text(f"Superbill {bill.period}"))
    pdf.set_creator("Teletherapy")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _text(f"Superbill - {bill.period}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(
        0,
        6,
        _text(f"Client: {bill.client_name} ({bill.client_email})"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(0, 6, f"Issued: {bill.issued_on.isoformat()}", new_x="LMARGIN", new_y="NEXT")
    for provider in bill.providers:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 8, _text(f"Provider: {provider.name}"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        licence = (
            f"Licence: {provider.license_type} {provider.license_number} ({provider.license_state})"
        )
        pdf.cell(0, 6, _text(licence), new_x="LMARGIN", new_y="NEXT")
        pdf.cell(
            0, 6, _text(f"NPI: {provider.npi or 'not on file'}"), new_x="LMARGIN", new_y="NEXT"
        )
        pdf.ln(2)
        with pdf.table(col_widths=(30, 20, 22, 30, 30, 30), text_align="LEFT") as table:
            header = table.row()
            for title in ("Service date", "CPT", "Minutes", "Setting", "Fee", "Paid"):
                header.cell(title)
            for line in provider.lines:
                row = table.row()
                row.cell(line.service_date.isoformat())
                row.cell(line.cpt)
                row.cell(str(line.minutes))
                row.cell(line.setting.replace("_", " "))
                row.cell(format_cents(line.fee_cents))
                row.cell(format_cents(line.paid_cents))
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(
            0,
            8,
            f"Total paid: {format_cents(provider.total_paid_cents)}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    if not bill.providers:
        pdf.cell(0, 8, "No sessions in this period.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
