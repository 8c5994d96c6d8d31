"""Customer-service requests: an e-policy or an invoice a customer asked for by phone.

Customer service records the request; it is routed at once by its kind (e-policy ->
underwriting, invoice -> finance) and tracked until sent. An e-policy is generated as a PDF
with a verification code (``domain.e_policy``), stored in the document bucket and made
verifiable in one transaction (state ``generated``), then mailed (state ``sent``): a mail that
fails leaves the request generated, and sending again mails the same PDF and code. An invoice
is recorded with its number (once across all requests) and amount when it is sent.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from petcover.config import NotConfigured, get_settings
from petcover.domain import calendar, e_policy, i18n, states
from petcover.errors import BusinessRuleViolation, Conflict, InvalidInput, NotFound, StaleWrite, Unavailable
from petcover.identity import Principal
from petcover.models.policies import Policy
from petcover.models.service_requests import (
    QUEUE_OF,
    EPolicyCheck,
    EPolicyDoc,
    InvoiceRecord,
    RequestStep,
    ServiceRequest,
    ServiceRequestCreate,
    ServiceRequestList,
    ServiceRequestQuery,
)
from petcover.ports import BlobStore, MailMessage, Ports, WriteOp
from petcover.repositories import service_requests as repo
from petcover.services import audit, catalog, policies

ENTITY = "service_request"
PDF = "application/pdf"


def _files(p: Ports) -> BlobStore:
    if p.blobs is None:
        raise NotConfigured("e-policies need the document bucket (DOCUMENT_BUCKET)")
    return p.blobs


def _not_found(request_id: str) -> NotFound:
    return NotFound(f"There is no service request {request_id}.", code="SERVICE_REQUEST_NOT_FOUND")


def get(p: Ports, request_id: str) -> ServiceRequest:
    found = repo.find(p.store, request_id)
    if found is None:
        raise _not_found(request_id)
    return found


def _step(
    r: ServiceRequest, at: datetime, action: str, by: str, note: str | None = None, **changes: object
) -> ServiceRequest:
    steps = [*r.steps, RequestStep(at=at, action=action, by=by, note=note)]
    return r.model_copy(update={"steps": steps, "version": r.version + 1, **changes})


def create(p: Ports, who: Principal, body: ServiceRequestCreate) -> ServiceRequest:
    pol, _ = policies.load_policy(p, body.policy_number, balances=False)  # POLICY_NOT_FOUND
    now = p.now()
    actor = audit.actor_name(who)
    request_id = f"SR{calendar.day_of(now).strftime('%Y%m%d')}{secrets.token_hex(4).upper()}"
    r = ServiceRequest(
        request_id=request_id,
        policy_number=pol.number,
        channel_id=pol.channel_id,
        kind=body.kind,
        queue=QUEUE_OF[body.kind],
        status="open",
        version=1,
        email=body.email,
        postal_address=body.postal_address,
        invoice_title=body.invoice_title,
        note=body.note,
        created_at=now,
        created_by=actor,
        steps=[RequestStep(at=now, action="record", by=actor, note=f"routed to {QUEUE_OF[body.kind]}")],
    )
    p.store.transact([repo.new_item(r), audit.entry(p, who, ENTITY, request_id, "record", after=_brief(r))])
    return r


def _brief(r: ServiceRequest) -> dict[str, object]:
    return {"status": r.status, "kind": r.kind, "queue": r.queue, "policy_number": r.policy_number}


def listing(p: Ports, q: ServiceRequestQuery) -> ServiceRequestList:
    if q.policy_number:
        page = repo.policy_page(p.store, q.policy_number, limit=q.limit, cursor=q.cursor)
    elif q.queue:
        page = repo.queue_page(p.store, q.queue, q.status, limit=q.limit, cursor=q.cursor)
    else:
        raise InvalidInput("Give a queue (with a status) or a policy_number.", code="SERVICE_REQUEST_FILTER_REQUIRED")
    return ServiceRequestList(items=[repo.from_item(i) for i in page.items], cursor=page.cursor)


def _commit(
    p: Ports, who: Principal, before: ServiceRequest, after: ServiceRequest, action: str, *extra: WriteOp
) -> None:
    record = audit.entry(p, who, ENTITY, before.request_id, action, before=_brief(before), after=_brief(after))
    try:
        p.store.transact([repo.change(before, after), *extra, record])
    except StaleWrite:
        raise Conflict(
            f"Service request {before.request_id} changed meanwhile; reload it and retry.",
            code="SERVICE_REQUEST_CHANGED",
        ) from None


# ---------------------------------------------------------------- e-policy


def _content(p: Ports, pol: Policy, code: str, now: datetime) -> tuple[e_policy.EPolicyContent, EPolicyCheck]:
    product = catalog.get_version(p, pol.product_code, pol.product_version)
    plan = product.plan(pol.plan_code)
    insured = pol.insured.pet_name or pol.insured.insured_id
    content = e_policy.EPolicyContent(
        number=pol.number,
        insurer=get_settings().insurer_name,
        product_name=product.name,
        plan_name=plan.name,
        holder_name=pol.holder.name,
        insured=insured,
        start_date=pol.start_date,
        end_date=pol.end_date,
        zone=get_settings().timezone,
        premium=pol.premium,
        sum_insured=pol.sum_insured,
        status=pol.status,
        benefits=tuple(e_policy.BenefitLine(b.name, b.quota, b.amount_limit) for b in plan.benefits),
        issued_at=calendar.local(now),
        code=code,
    )
    check = EPolicyCheck(
        code=code,
        policy_number=pol.number,
        product_name=product.name,
        plan_name=plan.name,
        start_date=pol.start_date,
        end_date=pol.end_date,
        policy_status=pol.status,
        issued_at=now,
        sha256="",
    )
    return content, check


def _generate(p: Ports, who: Principal, r: ServiceRequest) -> tuple[ServiceRequest, bytes]:
    """open -> generated: the PDF stored and its code verifiable, in one transaction."""
    states.SERVICE_REQUEST.next_state(r.status, "generate")
    pol, _ = policies.load_policy(p, r.policy_number, balances=False)
    if pol.status == "cancelled":
        raise BusinessRuleViolation(
            f"Policy {pol.number} is cancelled; no e-policy is issued for it.", code="POLICY_NOT_ACTIVE"
        )
    now = p.now()
    lang = get_settings().language
    code = e_policy.new_code()
    content, check = _content(p, pol, code, now)
    pdf = e_policy.render_pdf(content, lang)
    check = check.model_copy(update={"sha256": hashlib.sha256(pdf).hexdigest()})
    key = repo.document_key(pol.number, code)
    _files(p).put_bytes(key, pdf, PDF)
    doc = EPolicyDoc(code=code, document_key=key, sha256=check.sha256, language=lang, generated_at=now)
    after = _step(r, now, "generate", audit.actor_name(who), status="generated", e_policy=doc)
    _commit(p, who, r, after, "generate", repo.e_policy_item(check, r.request_id))
    return after, pdf


def send_e_policy(p: Ports, who: Principal, request_id: str) -> ServiceRequest:
    """Generate the e-policy if it was not yet, and mail it; the request is then sent."""
    r = get(p, request_id)
    if r.kind != "e_policy":
        raise BusinessRuleViolation(f"Service request {request_id} asks for an invoice.", code="WRONG_REQUEST_KIND")
    states.SERVICE_REQUEST.next_state(r.status, "send" if r.status == "generated" else "generate")
    if r.status == "open":
        r, pdf = _generate(p, who, r)
    else:
        assert r.e_policy is not None
        stored = _files(p).get_bytes(r.e_policy.document_key)
        if stored is None:
            raise Unavailable(f"The e-policy PDF of {request_id} is missing from storage.", code="E_POLICY_MISSING")
        pdf = stored
    doc = r.e_policy
    assert doc is not None and r.email is not None
    lang = doc.language
    insurer = get_settings().insurer_name
    message = MailMessage(
        to=r.email,
        subject=i18n.text("epolicy.mail_subject", lang, number=r.policy_number),
        text=i18n.text("epolicy.mail_text", lang, number=r.policy_number, code=doc.code, insurer=insurer),
        attachment=(f"{r.policy_number}.pdf", pdf, PDF),
    )
    try:
        message_id = p.mail().send_mail(message)
    except OSError as exc:
        raise Unavailable(
            f"The e-policy of {request_id} was generated but the mail was not sent ({exc}); send again.",
            code="MAIL_NOT_SENT",
            retry_after=30,
        ) from None
    now = p.now()
    sent_doc = doc.model_copy(update={"sent_at": now, "sent_to": r.email, "message_id": message_id})
    after = _step(r, now, "send", audit.actor_name(who), note=f"mailed to {r.email}", status="sent", e_policy=sent_doc)
    _commit(p, who, r, after, "send")
    return after


def verify(p: Ports, code: str) -> EPolicyCheck:
    """The public check of a verification code; the policy's status is read now."""
    normal = e_policy.normal_code(code)
    found = repo.find_e_policy(p.store, normal) if normal else None
    if found is None:
        raise NotFound("No e-policy has this verification code.", code="E_POLICY_NOT_FOUND")
    pol, _ = policies.load_policy(p, found.policy_number, balances=False)
    return found.model_copy(update={"policy_status": pol.status})


# ---------------------------------------------------------------- invoice


def record_invoice(p: Ports, who: Principal, request_id: str, body: InvoiceRecord) -> ServiceRequest:
    r = get(p, request_id)
    if r.kind != "invoice":
        raise BusinessRuleViolation(f"Service request {request_id} asks for an e-policy.", code="WRONG_REQUEST_KIND")
    states.SERVICE_REQUEST.next_state(r.status, "record_invoice")
    pol, _ = policies.load_policy(p, r.policy_number, balances=False)
    if body.amount > pol.premium:
        raise BusinessRuleViolation(
            f"An invoice of {body.amount} is more than the premium of policy {pol.number} ({pol.premium}).",
            code="INVOICE_OVER_PREMIUM",
        )
    if p.store.get(*repo.invoice_key(body.number)) is not None:
        raise Conflict(f"Invoice number {body.number} is already recorded.", code="INVOICE_NUMBER_TAKEN")
    now = p.now()
    after = _step(r, now, "record_invoice", audit.actor_name(who), note=body.number, status="sent", invoice=body)
    _commit(p, who, r, after, "record_invoice", repo.invoice_item(body.number, request_id))
    return after
