"""Customer-service requests: routing, the e-policy (PDF, code, mail, public check), invoices."""

from __future__ import annotations

import hashlib
import threading
from datetime import date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from petcover.domain import e_policy, i18n
from petcover.errors import BusinessRuleViolation, Conflict, IllegalTransition, InvalidInput, NotFound, Unavailable
from petcover.identity import Principal
from petcover.mail import MemoryMailer, mime
from petcover.models.policies import CancelRequest
from petcover.models.service_requests import InvoiceRecord, ServiceRequestCreate, ServiceRequestQuery
from petcover.ports import MailMessage, Ports
from petcover.services import audit, policies, service_requests
from tests.support.bookings import SHOP, setup_world

SERVICE = Principal("ops", "sue", ("service",))
UNDERWRITER = Principal("ops", "ann", ("underwriter",))
FINANCE = Principal("ops", "fay", ("finance",))


@pytest.fixture
def world(fake_ports: Ports) -> tuple[Ports, str, MemoryMailer]:
    _, number = setup_world(fake_ports)
    mailer = MemoryMailer()
    fake_ports.mailer = mailer
    return fake_ports, number, mailer


def ask(p: Ports, number: str, kind: str = "e_policy", **kw: str) -> str:
    body = ServiceRequestCreate.model_validate({"policy_number": number, "kind": kind, "email": "li@example.com", **kw})
    return service_requests.create(p, SERVICE, body).request_id


def invoice(number: str = "INV-0001", amount: str = "10.00") -> InvoiceRecord:
    return InvoiceRecord(number=number, amount=Decimal(amount), issued_on=date(2026, 11, 22), sent_by="email")


def test_requests_are_routed_by_kind_and_listed_by_queue_and_policy(world):
    p, number, _ = world
    e = ask(p, number)
    i = ask(p, number, "invoice", invoice_title="Li Lei")
    assert service_requests.get(p, e).queue == "underwriting" and service_requests.get(p, i).queue == "finance"
    under = service_requests.listing(p, ServiceRequestQuery(queue="underwriting"))
    assert [r.request_id for r in under.items] == [e]
    assert {r.request_id for r in service_requests.listing(p, ServiceRequestQuery(policy_number=number)).items} == {
        e,
        i,
    }
    assert audit.by_entity(p, "service_request", e)[0].action == "record"
    with pytest.raises(InvalidInput):
        service_requests.listing(p, ServiceRequestQuery())
    with pytest.raises(NotFound):
        ask(p, "PC-none")
    with pytest.raises(ValidationError):
        ServiceRequestCreate.model_validate({"policy_number": number, "kind": "e_policy", "postal_address": "Rm 1"})


def test_the_e_policy_is_generated_mailed_and_verifiable(world):
    p, number, mailer = world
    rid = ask(p, number)
    sent = service_requests.send_e_policy(p, UNDERWRITER, rid)
    assert (
        sent.status == "sent"
        and sent.e_policy is not None
        and [s.action for s in sent.steps]
        == [
            "record",
            "generate",
            "send",
        ]
    )
    (mail,) = mailer.sent
    assert mail.to == "li@example.com" and mail.subject == f"您的电子保单 {number}"
    assert mail.attachment is not None and mail.attachment[1].startswith(b"%PDF")
    pdf = mail.attachment[1]
    assert p.blobs.get_bytes(sent.e_policy.document_key) == pdf
    check = service_requests.verify(p, sent.e_policy.code.lower().replace("-", ""))
    assert check.policy_number == number and check.policy_status == "active"
    assert check.sha256 == hashlib.sha256(pdf).hexdigest() == sent.e_policy.sha256
    with pytest.raises(NotFound):
        service_requests.verify(p, "AAAA-BBBB-CCCC-DDDD")
    with pytest.raises(NotFound):
        service_requests.verify(p, "not a code")
    with pytest.raises(IllegalTransition):
        service_requests.send_e_policy(p, UNDERWRITER, rid)  # sent is final
    policies.cancel(p, SHOP, number, CancelRequest(reason="moved"))
    assert service_requests.verify(p, sent.e_policy.code).policy_status == "cancelled"


def test_a_failed_mail_leaves_it_generated_and_sending_again_mails_the_same_pdf(world):
    p, number, mailer = world
    rid = ask(p, number)
    mailer.fail = True
    with pytest.raises(Unavailable) as err:
        service_requests.send_e_policy(p, UNDERWRITER, rid)
    assert err.value.code == "MAIL_NOT_SENT"
    generated = service_requests.get(p, rid)
    assert generated.status == "generated" and generated.e_policy is not None
    assert service_requests.verify(p, generated.e_policy.code).policy_number == number  # verifiable already
    mailer.fail = False
    sent = service_requests.send_e_policy(p, UNDERWRITER, rid)
    assert sent.status == "sent" and sent.e_policy and sent.e_policy.code == generated.e_policy.code
    assert hashlib.sha256(mailer.sent[0].attachment[1]).hexdigest() == generated.e_policy.sha256


def test_two_staff_sending_at_once_generate_one_e_policy(world):
    p, number, mailer = world
    rid = ask(p, number)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def send() -> None:
        barrier.wait()
        try:
            service_requests.send_e_policy(p, UNDERWRITER, rid)
            outcomes.append("sent")
        except (Conflict, IllegalTransition) as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("sent") == 1, outcomes
    assert set(outcomes) - {"sent"} <= {"SERVICE_REQUEST_CHANGED", "ILLEGAL_TRANSITION"}
    final = service_requests.get(p, rid)
    assert final.status == "sent" and [s.action for s in final.steps].count("generate") == 1
    assert final.e_policy is not None and service_requests.verify(p, final.e_policy.code).policy_number == number
    # one PDF and one code; a sender that read "generated" after the other's commit may mail it too
    assert 1 <= len(mailer.sent) <= 2 and {m.attachment[1] for m in mailer.sent if m.attachment} == {
        p.blobs.get_bytes(final.e_policy.document_key)
    }


def test_no_e_policy_for_a_cancelled_policy_and_kinds_are_not_mixed(world):
    p, number, _ = world
    inv = ask(p, number, "invoice")
    with pytest.raises(BusinessRuleViolation) as err:
        service_requests.send_e_policy(p, UNDERWRITER, inv)
    assert err.value.code == "WRONG_REQUEST_KIND"
    rid = ask(p, number)
    with pytest.raises(BusinessRuleViolation):
        service_requests.record_invoice(p, FINANCE, rid, invoice())
    policies.cancel(p, SHOP, number, CancelRequest(reason="moved"))
    with pytest.raises(BusinessRuleViolation) as err:
        service_requests.send_e_policy(p, UNDERWRITER, rid)
    assert err.value.code == "POLICY_NOT_ACTIVE"


def test_invoices_are_recorded_once_per_number_and_within_the_premium(world):
    p, number, _ = world
    first, second = ask(p, number, "invoice"), ask(p, number, "invoice")
    with pytest.raises(BusinessRuleViolation) as err:
        service_requests.record_invoice(p, FINANCE, first, invoice(amount="99999.00"))
    assert err.value.code == "INVOICE_OVER_PREMIUM"
    done = service_requests.record_invoice(p, FINANCE, first, invoice())
    assert done.status == "sent" and done.invoice and done.invoice.number == "INV-0001"
    with pytest.raises(Conflict) as taken:
        service_requests.record_invoice(p, FINANCE, second, invoice("inv-0001"))
    assert taken.value.code == "INVOICE_NUMBER_TAKEN"
    with pytest.raises(IllegalTransition):
        service_requests.record_invoice(p, FINANCE, first, invoice("INV-0002"))
    assert [r.request_id for r in service_requests.listing(p, ServiceRequestQuery(queue="finance")).items] == [second]


def test_codes_and_the_pdf_in_both_languages():
    codes = {e_policy.new_code() for _ in range(200)}
    assert len(codes) == 200 and all(e_policy.normal_code(c) == c for c in codes)
    assert e_policy.normal_code("k7pd 3qxm 9fja 2wrc") == "K7PD-3QXM-9FJA-2WRC"
    assert e_policy.normal_code("O0O0-1111-IIII-LLLL") is None
    content = e_policy.EPolicyContent(
        number="PC1",
        insurer="Demo Insurance",
        product_name="宠物健康险",
        plan_name="基础款",
        holder_name="李雷",
        insured="Bobo",
        start_date=date(2026, 1, 1),
        end_date=date(2027, 1, 1),
        zone="Asia/Shanghai",
        premium=Decimal("99.00"),
        sum_insured=Decimal("5000.00"),
        status="active",
        benefits=(e_policy.BenefitLine("送药上门", 6, None), e_policy.BenefitLine("门诊", None, Decimal("500"))),
        issued_at=datetime(2026, 1, 1, 10, 0),
        code="K7PD-3QXM-9FJA-2WRC",
    )
    zh = dict(e_policy.lines(content, "zh-CN"))
    assert zh["保单号"] == "PC1" and zh["保险期间"].startswith("2026-01-01 零时起")
    en = e_policy.lines(content, "en")
    assert ("Benefits", "门诊: unlimited, limit CNY 500") in en
    for lang in ("zh-CN", "en"):
        pdf = e_policy.render_pdf(content, lang)
        assert pdf.startswith(b"%PDF") and b"STSong-Light" in pdf
    assert i18n.text("epolicy.title", "fr") == "电子保单"  # anything else: the default


def test_the_mime_mail_carries_the_pdf():
    raw = mime(
        "a@example.com",
        MailMessage(
            to="b@example.com", subject="电子保单", text="hi", attachment=("x.pdf", b"%PDF-1", "application/pdf")
        ),
    )
    assert b'Content-Disposition: attachment; filename="x.pdf"' in raw and b"To: b@example.com" in raw
