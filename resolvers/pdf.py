"""A plan rendered as PDF (fpdf2: pure Python, installs from the package index alone)."""

from __future__ import annotations

from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

_TITLES = {
    "participants": "Plangruppa",
    "goals": "Mål og tiltak",
    "calendar": "Kalender",
    "messages": "Meldinger",
    "documents": "Dokumenter",
    "consent": "Samtykke",
}


def _text(value: object) -> str:
    # The core fonts cover Latin-1, which has æ, ø and å; anything else is replaced.
    return str(value if value is not None else "").encode("latin-1", "replace").decode("latin-1")


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(0, 8, f"Side {self.page_no()}", align="C")


def render(doc: dict[str, Any], heading: str) -> bytes:
    pdf = _Pdf(format="A4")
    pdf.set_title(_text(doc["plan"]["shortName"]))
    pdf.set_author("plangruppe")
    pdf.set_creator("plangruppe")
    pdf.set_lang("nb")
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.multi_cell(0, 9, _text(doc["plan"]["shortName"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=10)
    plan = doc["plan"]
    _line(pdf, f"{heading} - type {plan['type']}, status {plan['status']}")
    _line(pdf, f"Planeier: {doc.get('owner', '')}")
    _line(pdf, f"Start: {plan['startDate']}   Slutt: {plan.get('endDate') or '-'}")
    if "consent" in doc:
        c = doc["consent"]
        _section(pdf, "consent")
        _line(
            pdf,
            f"Gitt av {c['givenBy']} ({c['givenByRelation']}) {c['givenOn']},"
            f" utløper {c['expiresOn']}",
        )
        if c.get("revokedOn"):
            _line(pdf, f"Trukket tilbake {c['revokedOn']}")
    if "participants" in doc:
        _section(pdf, "participants")
        for p in doc["participants"]:
            left = f" (sluttet {p['leftOn']})" if p.get("leftOn") else ""
            _line(pdf, f"{p['name']} - {p['role']}{left}")
            if p.get("responsibility"):
                _line(pdf, f"    Ansvar: {p['responsibility']}")
    if "goals" in doc:
        _section(pdf, "goals")
        for goal in doc["goals"]:
            _goal(pdf, goal, 0)
    if "calendar" in doc:
        _section(pdf, "calendar")
        for e in doc["calendar"]:
            _line(pdf, f"{e['startsAt']}  {e['title']}  {e.get('location') or ''}")
    if "messages" in doc:
        _section(pdf, "messages")
        for m in doc["messages"]:
            _line(pdf, f"{m['createdAt']}: {m['body']}")
    if "documents" in doc:
        _section(pdf, "documents")
        for d in doc["documents"]:
            _line(
                pdf,
                f"{d['name']} ({d['contentType']}, {d['sizeBytes']} byte)"
                f" sha256 {d['sha256'][:16]}",
            )
    return bytes(pdf.output())


def _section(pdf: FPDF, key: str) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", style="B", size=12)
    pdf.multi_cell(0, 7, _TITLES[key], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=10)


def _line(pdf: FPDF, text: str) -> None:
    pdf.multi_cell(0, 5, _text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _goal(pdf: FPDF, goal: dict[str, Any], depth: int) -> None:
    indent = "    " * depth
    _line(pdf, f"{indent}{'Delmål' if depth else 'Hovedmål'}: {goal['title']} [{goal['status']}]")
    if goal.get("description"):
        _line(pdf, f"{indent}    {goal['description']}")
    for a in goal.get("activities", []):
        _line(pdf, f"{indent}    Tiltak: {a['title']} [{a['status']}]")
    for c in goal.get("comments", []):
        _line(pdf, f"{indent}    Kommentar: {c['body']}")
    for sub in goal.get("subGoals", []):
        _goal(pdf, sub, depth + 1)
