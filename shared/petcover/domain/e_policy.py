"""The e-policy: a PDF of the policy (data, plan, benefits, term, insurer) with a verification code.

Drawn with reportlab (imported only when a PDF is drawn); Chinese text uses reportlab's built-in
``STSong-Light`` CID font, which needs no font file. Pure: returns bytes, stores and sends nothing.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from petcover.domain.i18n import text

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read out over the phone
CODE_GROUPS = 4
CODE_GROUP_LEN = 4  # 16 characters of 31: about 79 bits, not guessable


def new_code() -> str:
    """A verification code such as ``K7PD-3QXM-9FJA-2WRC``."""
    chars = [secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUPS * CODE_GROUP_LEN)]
    return "-".join("".join(chars[i : i + CODE_GROUP_LEN]) for i in range(0, len(chars), CODE_GROUP_LEN))


def normal_code(code: str) -> str | None:
    """A code as typed (any case, with or without dashes) in its canonical form; None if it cannot be one."""
    raw = "".join(c for c in code.upper() if c not in "- ")
    if len(raw) != CODE_GROUPS * CODE_GROUP_LEN or any(c not in CODE_ALPHABET for c in raw):
        return None
    return "-".join(raw[i : i + CODE_GROUP_LEN] for i in range(0, len(raw), CODE_GROUP_LEN))


@dataclass(frozen=True)
class BenefitLine:
    name: str
    quota: int | None
    amount_limit: Decimal | None


@dataclass(frozen=True)
class EPolicyContent:
    number: str
    insurer: str
    product_name: str
    plan_name: str
    holder_name: str
    insured: str
    start_date: date
    end_date: date
    zone: str
    premium: Decimal
    sum_insured: Decimal
    status: str
    benefits: tuple[BenefitLine, ...]
    issued_at: datetime
    code: str


def _limit(b: BenefitLine, lang: str) -> str:
    parts = [text("epolicy.uses", lang, n=b.quota) if b.quota else text("epolicy.unlimited", lang)]
    if b.amount_limit is not None:
        parts.append(text("epolicy.limit", lang, amount=b.amount_limit))
    return ", ".join(parts)


def lines(c: EPolicyContent, lang: str) -> list[tuple[str, str]]:
    """(label, value) rows of the e-policy, in order (also what tests read back)."""
    term = text("epolicy.term_value", lang, start=c.start_date, end=c.end_date, zone=c.zone)
    rows = [
        (text("epolicy.insurer", lang), c.insurer),
        (text("epolicy.number", lang), c.number),
        (text("epolicy.product", lang), c.product_name),
        (text("epolicy.plan", lang), c.plan_name),
        (text("epolicy.holder", lang), c.holder_name),
        (text("epolicy.insured", lang), c.insured),
        (text("epolicy.term", lang), term),
        (text("epolicy.premium", lang), f"CNY {c.premium}"),
        (text("epolicy.sum_insured", lang), f"CNY {c.sum_insured}"),
        (text("epolicy.status", lang), c.status),
        (text("epolicy.issued_at", lang), c.issued_at.strftime("%Y-%m-%d %H:%M")),
    ]
    rows += [
        (text("epolicy.benefits", lang), text("epolicy.benefit_row", lang, name=b.name, limit=_limit(b, lang)))
        for b in c.benefits
    ]
    return rows


def render_pdf(c: EPolicyContent, lang: str) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=True)
    pdf.setTitle(f"{text('epolicy.title', lang)} {c.number}")
    pdf.setAuthor(c.insurer)
    width, height = A4
    y = height - 72
    pdf.setFont(font, 20)
    pdf.drawCentredString(width / 2, y, text("epolicy.title", lang))
    y -= 40
    for label, value in lines(c, lang):
        pdf.setFont(font, 11)
        pdf.drawString(72, y, f"{label}:")
        pdf.drawString(200, y, value[:70])
        y -= 20
        if y < 110:
            pdf.showPage()
            y = height - 72
    pdf.setFont(font, 10)
    pdf.drawString(72, 80, text("epolicy.verify", lang, code=c.code))
    pdf.showPage()
    pdf.save()
    return buf.getvalue()
