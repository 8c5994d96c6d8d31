"""Partner onboarding service with fake ports: accounts, drafts, reviews, change requests, audit."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from petcover.domain import partner_config
from petcover.errors import (
    BusinessRuleViolation,
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    StaleWrite,
)
from petcover.identity import Principal
from petcover.models.partners import (
    AuditQuery,
    BindingInput,
    ConfigInput,
    DocumentUploadRequest,
    PartnerCreate,
)
from petcover.repositories import partners as keys
from petcover.services import audit, credentials
from petcover.services.partners import accounts, bindings, changes, config, directory, documents, overview
from tests.support.blobs import FakeBlobs

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
STAFF = Principal("ops", "rita", ("ops",))
STAFF2 = Principal("ops", "sam", ("ops",))


@pytest.fixture
def p(fake_ports):
    ticks = itertools.count()
    # A clock that moves a millisecond per reading keeps audit records in order.
    fake_ports.clock = lambda: NOW + timedelta(milliseconds=next(ticks))
    fake_ports.blobs = FakeBlobs()
    return fake_ports


def new_partner(p, kind: str = "provider", name: str = "Happy Paws Clinic", **kw: Any) -> Principal:
    acc = accounts.create_partner(p, STAFF, PartnerCreate(kind=kind, name=name, agreement_ref="AGR-001", **kw))
    return Principal(kind, acc.id)  # type: ignore[arg-type]


def upload(p, who: Principal, doc_type: str = "business_licence") -> str:
    up = documents.document_upload(
        p,
        who,
        DocumentUploadRequest(type=doc_type, file_name="licence scan.pdf", content_type="application/pdf"),
    )
    return up.file_key


def provider_config(file_key: str | None, **changes: Any) -> ConfigInput:
    data: dict[str, Any] = {
        "services": [
            {"service_type": "vaccination", "mode": "offline_store"},
            {"service_type": "deworming_kit", "mode": "online_shipping"},
        ],
        "regions": [
            {"province": "110000", "city": "110100", "district": "110105"},
            {"province": "310000"},
        ],
        "daily_capacity": 50,
        "contacts": [
            {
                "name": "Front desk",
                "channel": "dingtalk",
                "webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=abc",
                "mention": "13800000000",
            }
        ],
        "documents": [
            {"type": "business_licence", "number": "91110105MA01", "expires_on": "2030-01-01", "file_key": file_key}
        ],
    }
    data.update(changes)
    return ConfigInput.model_validate(data)


def submitted_provider(p, name: str = "Happy Paws Clinic", **kw: Any) -> Principal:
    who = new_partner(p, name=name, **kw)
    config.save_draft(p, who, provider_config(upload(p, who)))
    config.submit(p, who)
    return who


def active_provider(p, name: str = "Happy Paws Clinic") -> Principal:
    who = submitted_provider(p, name)
    config.approve_config(p, STAFF, who.id)
    return who


def details(exc: pytest.ExceptionInfo[Any]) -> dict[str, str]:
    return {d["field"]: d["message"] for d in exc.value.details}


# ---------------------------------------------------------------- accounts and keys


def test_create_partner_stores_account_with_the_kinds_permissions(p):
    who = new_partner(p)
    acc = accounts.get_account(p, who.id)
    assert acc.kind == "provider" and who.id.startswith("prv_")
    assert acc.permissions == ["configure_service_regions", "maintain_service_info", "maintain_qualifications"]
    assert acc.status == "active" and acc.created_by == "ops:rita"
    item = p.store.get(*keys.partner(who.id))
    assert item["state"] == "active"
    assert item["gsi1pk"] == "PARTNERNAME#happy paws clinic"
    [rec] = audit.by_entity(p, "partner", who.id)
    assert rec.action == "account_created" and rec.actor == "ops:rita"


def test_partner_names_are_unique_case_insensitively(p):
    new_partner(p, name="Happy Paws Clinic")
    with pytest.raises(Conflict) as exc:
        new_partner(p, name="  happy   PAWS clinic ", kind="insurer")
    assert exc.value.code == "PARTNER_NAME_TAKEN"


def test_permissions_must_fit_the_kind():
    with pytest.raises(ValidationError, match="not for providers"):
        PartnerCreate(kind="provider", name="X", agreement_ref="A", permissions=["bind_providers"])
    ok = PartnerCreate(kind="insurer", name="X", agreement_ref="A", permissions=["bind_providers"])
    assert ok.permissions == ["bind_providers"]


def test_keys_are_issued_listed_and_revoked_for_the_partner_kind(p):
    who = new_partner(p, kind="insurer", name="Acme Insurance")
    issued = accounts.issue_key(p, STAFF, who.id)
    assert issued.owner_kind == "insurer" and issued.owner_id == who.id
    [info] = accounts.list_keys(p, who.id)
    assert info.key_id == issued.key_id and info.status == "active"
    assert accounts.revoke_key(p, STAFF, who.id, issued.key_id, reason="key leaked").status == "revoked"
    assert [k.status for k in credentials.list_keys(p, "insurer", who.id)] == ["revoked"]
    actions = [r.action for r in audit.by_entity(p, "partner", who.id)]
    assert "key_issued" in actions and "key_revoked" in actions
    with pytest.raises(NotFound):
        accounts.issue_key(p, STAFF, "prv_missing")


def test_only_a_providers_or_insurers_own_active_account_may_call(p):
    with pytest.raises(Forbidden) as exc:
        overview.me(p, Principal("channel", "shop-a"))
    assert exc.value.code == "WRONG_PARTNER_KIND"
    who = new_partner(p)
    with pytest.raises(Forbidden):
        overview.me(p, Principal("insurer", who.id))  # a key of another kind for the same id
    p.store.update(*keys.partner(who.id), set={"state": "suspended"})
    with pytest.raises(Forbidden) as exc:
        overview.me(p, who)
    assert exc.value.code == "PARTNER_INACTIVE"


# ---------------------------------------------------------------- drafts and validation


def test_draft_is_saved_with_versions_and_lists_what_is_missing(p):
    who = new_partner(p)
    view = config.save_draft(p, who, ConfigInput(daily_capacity=20))
    assert (view.state, view.version) == ("draft", 1)
    fields = {e.field for e in view.problems}
    assert {"services", "regions", "contacts", "documents"} <= fields
    view = config.save_draft(p, who, provider_config(upload(p, who)))
    assert (view.state, view.version) == ("draft", 2)
    assert view.problems == []
    assert overview.me(p, who).config.config.daily_capacity == 50


def test_inconsistent_regions_are_refused_with_field_errors(p):
    who = new_partner(p)
    cfg = provider_config(
        None,
        regions=[
            {"province": "110000"},
            {"province": "440000", "city": "440300", "district": "440305"},
            {"province": "310000", "city": "310100", "district": "110105"},
            {"province": "110000", "city": "110100", "district": "110108"},
        ],
    )
    with pytest.raises(InvalidInput) as exc:
        config.save_draft(p, who, cfg)
    assert exc.value.code == "CONFIG_INVALID"
    assert details(exc) == {
        "regions.2": "District 110105 is not in city 310100",
        "regions.3": "Already covered by regions.0 (province 110000)",
    }
    assert config.live(p, who.id) is None  # nothing stored


def test_duplicates_foreign_files_and_bindings_are_refused_for_providers(p):
    who = new_partner(p)
    other = new_partner(p, name="Other Vet")
    foreign = upload(p, other)
    cfg = provider_config(
        foreign,
        services=[
            {"service_type": "vaccination", "mode": "offline_store"},
            {"service_type": "vaccination", "mode": "online_shipping"},
        ],
        bindings=[{"provider_id": other.id}],
    )
    with pytest.raises(InvalidInput) as exc:
        config.save_draft(p, who, cfg)
    assert details(exc) == {
        "bindings": "Only insurers bind providers",
        "services.1.service_type": "Duplicate of services.0",
        "documents.0.file_key": "Unknown file: use the file_key returned by POST /partner/documents",
    }


def test_document_upload_presigns_a_key_under_the_partner(p):
    who = new_partner(p)
    up = documents.document_upload(
        p, who, DocumentUploadRequest(type="animal_clinic_licence", file_name="../x y.png", content_type="image/png")
    )
    assert up.file_key.startswith(f"partners/{who.id}/documents/{up.document_id}/")
    assert up.file_key.endswith("/x_y.png")
    assert p.blobs.presigned == [(up.file_key, "image/png", 900)]
    assert up.upload_url.startswith("https://blobs.test/") and up.headers == {"Content-Type": "image/png"}
    assert documents.own_upload(p, who.id, up.file_key)
    assert not documents.own_upload(p, "prv_other", up.file_key)


def test_document_upload_needs_the_qualifications_permission(p):
    who = new_partner(p, permissions=["maintain_service_info"])
    with pytest.raises(Forbidden) as exc:
        upload(p, who)
    assert exc.value.code == "PERMISSION_REQUIRED"
    insurer = new_partner(p, kind="insurer", name="Acme")
    with pytest.raises(Forbidden):
        upload(p, insurer)


def test_permissions_limit_which_sections_a_partner_may_change(p):
    who = new_partner(p, permissions=["maintain_service_info", "maintain_qualifications"])
    with pytest.raises(Forbidden) as exc:
        config.save_draft(p, who, provider_config(upload(p, who)))
    assert exc.value.code == "PERMISSION_REQUIRED"
    assert exc.value.details == [
        {"permission": "configure_service_regions", "fields": ["regions[110105]", "regions[310000]"]}
    ]
    view = config.save_draft(p, who, provider_config(upload(p, who), regions=[]))
    assert view.state == "draft"


# ---------------------------------------------------------------- first configuration: submit and review


def test_submit_refuses_an_incomplete_configuration_field_by_field(p):
    who = new_partner(p)
    key = upload(p, who)
    cfg = provider_config(
        key,
        regions=[],
        documents=[
            {"type": "business_licence", "number": "B-1", "expires_on": "2026-11-21", "file_key": key},
            {"type": "veterinary_licence", "number": "V-1", "expires_on": "2026-11-22"},
        ],
    )
    config.save_draft(p, who, cfg)
    with pytest.raises(InvalidInput) as exc:
        config.submit(p, who)
    assert details(exc) == {
        "regions": "Give at least one service region",
        "documents.0.expires_on": "Licence B-1 expired on 2026-11-21",
        "documents.1.file_key": "Upload the document file first",
    }
    assert config.live(p, who.id).state == "draft"


def test_submit_without_a_configuration_is_not_found(p):
    who = new_partner(p)
    with pytest.raises(NotFound):
        config.submit(p, who)


def test_submit_then_approve_makes_the_provider_a_dispatch_candidate(p):
    who = submitted_provider(p)
    cur = config.live(p, who.id)
    assert cur.state == "submitted" and cur.doc.submission_id.startswith("sub_")
    queue = overview.review_queue(p)
    assert [r.partner_id for r in queue.submitted] == [who.id]
    assert queue.submitted[0].agreement_ref == "AGR-001" and queue.submitted[0].problems == []
    assert directory.active_provider_config(p, who.id) is None

    view = config.approve_config(p, STAFF, who.id, "matches AGR-001")
    assert (view.state, view.version) == ("active", cur.version + 1)
    assert view.reviewed_by == "ops:rita" and view.activated_at.startswith("2026-11-22T02:00:00")
    cfg = directory.active_provider_config(p, who.id)
    assert cfg is not None and cfg.name == "Happy Paws Clinic" and cfg.daily_capacity == 50
    assert [c.provider_id for c in directory.active_providers(p)] == [who.id]
    assert overview.review_queue(p).submitted == []


def test_illegal_config_transitions_are_refused(p):
    who = new_partner(p)
    config.save_draft(p, who, provider_config(upload(p, who)))
    with pytest.raises(IllegalTransition):
        config.approve_config(p, STAFF, who.id)  # draft
    with pytest.raises(IllegalTransition):
        config.reject_config(p, STAFF, who.id, "no")  # draft
    with pytest.raises(IllegalTransition):
        changes.request_change(p, who, provider_config(None), "why")  # draft
    config.submit(p, who)
    with pytest.raises(IllegalTransition) as exc:
        config.submit(p, who)
    assert "awaiting review" in exc.value.message
    with pytest.raises(IllegalTransition) as exc:
        config.save_draft(p, who, provider_config(None, daily_capacity=9))
    assert exc.value.details["from"] == "submitted"
    config.approve_config(p, STAFF, who.id)
    with pytest.raises(IllegalTransition):
        config.approve_config(p, STAFF, who.id)
    with pytest.raises(IllegalTransition):
        config.reject_config(p, STAFF, who.id, "late")
    with pytest.raises(IllegalTransition) as exc:
        config.submit(p, who)
    assert "request a change" in exc.value.message
    with pytest.raises(IllegalTransition):
        config.save_draft(p, who, provider_config(None))


def test_rejected_config_is_not_dispatchable_and_can_be_fixed_and_resubmitted(p):
    who = submitted_provider(p)
    with pytest.raises(InvalidInput):
        config.reject_config(p, STAFF, who.id, "   ")
    view = config.reject_config(p, STAFF, who.id, "Licence number does not match the agreement")
    assert view.state == "rejected" and view.review_reason == "Licence number does not match the agreement"
    assert directory.active_provider_config(p, who.id) is None
    assert overview.review_queue(p).submitted == []
    key = config.live(p, who.id).doc.config.documents[0].file_key
    fixed = provider_config(
        key,
        documents=[{"type": "business_licence", "number": "91110105MA02", "expires_on": None, "file_key": key}],
    )
    assert config.save_draft(p, who, fixed).state == "rejected"
    view = config.submit(p, who)
    assert view.state == "submitted" and view.review_reason is None
    assert config.approve_config(p, STAFF, who.id).state == "active"


def test_approval_rechecks_licences_that_expired_while_waiting(p):
    who = new_partner(p)
    key = upload(p, who)
    docs = [{"type": "business_licence", "number": "B-1", "expires_on": "2026-11-30", "file_key": key}]
    config.save_draft(p, who, provider_config(key, documents=docs))
    config.submit(p, who)
    p.clock = lambda: datetime(2026, 12, 5, tzinfo=UTC)
    with pytest.raises(BusinessRuleViolation) as exc:
        config.approve_config(p, STAFF, who.id)
    assert exc.value.details == [{"field": "documents.0.expires_on", "message": "Licence B-1 expired on 2026-11-30"}]
    assert config.live(p, who.id).state == "submitted"


class BarrierStore:
    """Lets every racer read before anyone writes: each racer's first write waits for all the others
    (later writes of the winner go straight through, so the barrier is never left waiting)."""

    def __init__(self, inner: Any, parties: int) -> None:
        self.inner = inner
        self.barrier = threading.Barrier(parties, timeout=60)  # a ceiling for a loaded machine
        self.seen = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _first_write(self) -> None:
        if not getattr(self.seen, "waited", False):
            self.seen.waited = True
            self.barrier.wait()

    def update(self, *a: Any, **kw: Any) -> Any:
        self._first_write()
        return self.inner.update(*a, **kw)

    def transact(self, ops: Any) -> None:
        self._first_write()
        self.inner.transact(ops)


def race(*calls: Any) -> tuple[list[Any], list[Exception]]:
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(c) for c in calls]
    done, failed = [], []
    for f in futures:
        exc = f.exception()
        (failed if exc else done).append(exc or f.result())
    return done, failed


def test_two_reviewers_approving_the_same_first_config_only_one_wins(p):
    who = submitted_provider(p)
    version = config.live(p, who.id).version
    p.store = BarrierStore(p.store, 2)
    done, failed = race(
        lambda: config.approve_config(p, STAFF, who.id), lambda: config.approve_config(p, STAFF2, who.id)
    )
    assert len(done) == 1 and len(failed) == 1
    assert isinstance(failed[0], IllegalTransition)
    assert config.live(p, who.id).version == version + 1
    approvals = [r for r in audit.by_entity(p, "partner", who.id) if r.action == "config_approved"]
    assert len(approvals) == 1


# ---------------------------------------------------------------- change requests


def test_change_request_shows_a_field_by_field_diff_and_changes_nothing_live(p):
    who = active_provider(p)
    live_before = config.live(p, who.id)
    key = live_before.doc.config.documents[0].file_key
    proposed = provider_config(
        key,
        services=[
            {"service_type": "vaccination", "mode": "online_shipping"},
            {"service_type": "deworming_kit", "mode": "online_shipping"},
        ],
        regions=[
            {"province": "110000", "city": "110100", "district": "110105"},
            {"province": "440000", "city": "440300", "district": "440305"},
        ],
        daily_capacity=80,
    )
    cr = changes.request_change(p, who, proposed, "  Opening the Shenzhen store  ")
    assert cr.state == "pending" and cr.reason == "Opening the Shenzhen store"
    assert cr.base_version == live_before.version
    assert [(d.field, d.change, d.before, d.after) for d in cr.diff] == [
        ("services[vaccination].mode", "changed", "offline_store", "online_shipping"),
        ("regions[310000]", "removed", {"province": "310000", "city": None, "district": None}, None),
        ("regions[440305]", "added", None, {"province": "440000", "city": "440300", "district": "440305"}),
        ("daily_capacity", "changed", 50, 80),
    ]
    live_now = config.live(p, who.id)
    assert live_now.doc == live_before.doc and live_now.version == live_before.version
    assert live_now.pending == cr.id
    assert directory.active_provider_config(p, who.id).daily_capacity == 50
    assert overview.me(p, who).pending_change.id == cr.id
    assert [c.id for c in overview.review_queue(p).pending_changes] == [cr.id]


def test_change_request_rules(p):
    who = active_provider(p)
    key = config.live(p, who.id).doc.config.documents[0].file_key
    with pytest.raises(InvalidInput) as exc:
        changes.request_change(p, who, provider_config(key), "nothing")
    assert exc.value.code == "NO_CHANGES"
    with pytest.raises(InvalidInput) as exc:
        changes.request_change(p, who, provider_config(key, regions=[]), "drop all")
    assert exc.value.code == "CONFIG_INVALID"
    assert details(exc) == {"config.regions": "Give at least one service region"}
    cr = changes.request_change(p, who, provider_config(key, daily_capacity=70), "more staff")
    with pytest.raises(Conflict) as exc:
        changes.request_change(p, who, provider_config(key, daily_capacity=90), "even more")
    assert exc.value.code == "CHANGE_PENDING" and exc.value.details == {"request_id": cr.id}


def test_rejecting_a_change_keeps_the_old_configuration(p):
    who = active_provider(p)
    key = config.live(p, who.id).doc.config.documents[0].file_key
    before = config.live(p, who.id)
    cr = changes.request_change(p, who, provider_config(key, daily_capacity=500), "summer")
    with pytest.raises(InvalidInput):
        changes.reject_change(p, STAFF, who.id, cr.id, "")
    done = changes.reject_change(p, STAFF, who.id, cr.id, "Capacity not in the agreement")
    assert done.state == "rejected" and done.review_reason == "Capacity not in the agreement"
    after = config.live(p, who.id)
    assert after.doc == before.doc and after.version == before.version and after.pending is None
    assert directory.active_provider_config(p, who.id).daily_capacity == 50
    assert changes.get_change(p, who.id, cr.id).state == "rejected"
    with pytest.raises(IllegalTransition):
        changes.approve_change(p, STAFF, who.id, cr.id)
    with pytest.raises(IllegalTransition):
        changes.reject_change(p, STAFF, who.id, cr.id, "again")
    # The partner may ask again once the previous request is decided.
    assert changes.request_change(p, who, provider_config(key, daily_capacity=60), "smaller").state == "pending"


def test_approving_a_change_applies_it_and_dispatch_sees_it(p):
    who = active_provider(p)
    key = config.live(p, who.id).doc.config.documents[0].file_key
    base = config.live(p, who.id).version
    cr = changes.request_change(
        p, who, provider_config(key, regions=[{"province": "440000", "city": "440300"}]), "moved to Shenzhen"
    )
    done = changes.approve_change(p, STAFF, who.id, cr.id, "checked")
    assert done.state == "approved" and done.applied_version == base + 1 and done.reviewed_by == "ops:rita"
    cur = config.live(p, who.id)
    assert cur.version == base + 1 and cur.pending is None and cur.state == "active"
    assert cur.doc.last_change_id == cr.id
    cfg = directory.active_provider_config(p, who.id)
    assert cfg.version == base + 1
    assert cfg.covers("440305") and cfg.covers("440300") and not cfg.covers("110105")
    assert [c.provider_id for c in directory.active_providers(p)] == [who.id]
    assert [c.state for c in changes.list_changes(p, who.id)] == ["approved"]
    assert changes.list_changes(p, who.id, "pending") == []
    with pytest.raises(IllegalTransition):
        changes.approve_change(p, STAFF2, who.id, cr.id)
    with pytest.raises(NotFound):
        changes.approve_change(p, STAFF, who.id, "chg_missing")


def test_two_reviewers_approving_the_same_change_request_exactly_one_applies(p):
    who = active_provider(p)
    key = config.live(p, who.id).doc.config.documents[0].file_key
    base = config.live(p, who.id).version
    cr = changes.request_change(p, who, provider_config(key, daily_capacity=77), "more vets")
    p.store = BarrierStore(p.store, 2)
    done, failed = race(
        lambda: changes.approve_change(p, STAFF, who.id, cr.id),
        lambda: changes.approve_change(p, STAFF2, who.id, cr.id),
    )
    assert len(done) == 1 and len(failed) == 1
    assert isinstance(failed[0], IllegalTransition), failed[0]
    cur = config.live(p, who.id)
    assert cur.version == base + 1 and cur.doc.config.daily_capacity == 77
    applied = [r for r in audit.by_request(p, cr.id) if r.action == "change_approved"]
    assert len(applied) == 1 and applied[0].actor == done[0].reviewed_by


def test_approve_and_reject_racing_on_one_change_request_one_decision_stands(p):
    who = active_provider(p)
    key = config.live(p, who.id).doc.config.documents[0].file_key
    cr = changes.request_change(p, who, provider_config(key, daily_capacity=77), "more vets")
    p.store = BarrierStore(p.store, 2)
    done, failed = race(
        lambda: changes.approve_change(p, STAFF, who.id, cr.id),
        lambda: changes.reject_change(p, STAFF2, who.id, cr.id, "no"),
    )
    assert len(done) == 1 and len(failed) == 1
    assert isinstance(failed[0], (IllegalTransition, StaleWrite))
    final = changes.get_change(p, who.id, cr.id).state
    assert final == done[0].state
    expected = 77 if final == "approved" else 50
    assert config.live(p, who.id).doc.config.daily_capacity == expected
    assert config.live(p, who.id).pending is None


def set_permissions(p, partner_id: str, permissions: list[str]) -> None:
    acc = accounts.get_account(p, partner_id).model_copy(update={"permissions": permissions})
    p.store.update(*keys.partner(partner_id), set={"data": acc.model_dump_json()})


def test_a_change_needs_the_permission_of_each_changed_section(p):
    who = new_partner(p, permissions=["configure_service_regions", "maintain_qualifications"])
    key = upload(p, who)
    # The first configuration sets sections this account may not maintain: refused too.
    with pytest.raises(Forbidden):
        config.save_draft(p, who, provider_config(key))
    set_permissions(p, who.id, ["configure_service_regions", "maintain_service_info", "maintain_qualifications"])
    config.save_draft(p, who, provider_config(key))
    config.submit(p, who)
    config.approve_config(p, STAFF, who.id)
    set_permissions(p, who.id, ["configure_service_regions"])
    with pytest.raises(Forbidden) as exc:
        changes.request_change(p, who, provider_config(key, daily_capacity=10), "why")
    assert exc.value.details == [{"permission": "maintain_service_info", "fields": ["daily_capacity"]}]
    cr = changes.request_change(p, who, provider_config(key, regions=[{"province": "510000"}]), "Chengdu")
    assert [d.field for d in cr.diff] == ["regions[110105]", "regions[310000]", "regions[510000]"]


# ---------------------------------------------------------------- insurers and bindings


def test_insurer_binds_providers_with_checked_service_types_and_regions(p):
    prov = active_provider(p)
    ins = new_partner(p, kind="insurer", name="Acme Insurance")
    with pytest.raises(InvalidInput) as exc:
        bindings.bind_provider(
            p,
            ins,
            prov.id,
            BindingInput(
                service_types=["vaccination", "grooming"],
                regions=[
                    {"province": "110000", "city": "110100", "district": "110105"},
                    {"province": "440000"},
                    {"province": "310000", "city": "310100", "district": "110105"},
                ],
            ),
        )
    assert details(exc) == {
        "bindings.0.service_types.1": f"Provider {prov.id} does not offer grooming",
        "bindings.0.regions.1": f"Provider {prov.id} does not serve region 440000",
        "bindings.0.regions.2": "District 110105 is not in city 310100",
    }
    with pytest.raises(InvalidInput) as exc:
        bindings.bind_provider(p, ins, "prv_nobody", BindingInput())
    assert details(exc) == {"bindings.0.provider_id": "There is no provider prv_nobody"}
    saved = bindings.bind_provider(
        p, ins, prov.id, BindingInput(service_types=["vaccination"], regions=[{"province": "310000"}])
    )
    assert saved.applied_to == "draft" and saved.config_state == "draft"
    [binding] = config.live(p, ins.id).doc.config.bindings
    assert binding.service_types == ["vaccination"] and binding.regions[0].province == "310000"


def test_insurer_without_service_rule_permission_may_only_bind_whole_providers(p):
    prov = active_provider(p)
    ins = new_partner(p, kind="insurer", name="Acme Insurance", permissions=["bind_providers"])
    with pytest.raises(Forbidden) as exc:
        bindings.bind_provider(p, ins, prov.id, BindingInput(service_types=["vaccination"]))
    assert exc.value.code == "PERMISSION_REQUIRED"
    assert bindings.bind_provider(p, ins, prov.id, BindingInput()).applied_to == "draft"
    with pytest.raises(Forbidden):
        bindings.bind_provider(p, prov, prov.id, BindingInput())  # a provider cannot bind


def test_insurer_lifecycle_and_bound_providers_for_dispatch(p):
    prov = active_provider(p)
    other = active_provider(p, "Other Vet")
    ins = new_partner(p, kind="insurer", name="Acme Insurance")
    bindings.bind_provider(p, ins, prov.id, BindingInput(service_types=["vaccination"]))
    bindings.bind_provider(p, ins, other.id, BindingInput(regions=[{"province": "310000"}]))
    with pytest.raises(InvalidInput) as exc:
        config.submit(p, ins)
    assert details(exc) == {"contacts": "Add at least one contact for alerts"}
    cfg = config.live(p, ins.id).doc.config
    config.save_draft(p, ins, cfg.model_copy(update={"contacts": provider_config(None).contacts}))
    config.submit(p, ins)
    assert directory.insurer_bindings(p, ins.id) == []  # not active yet
    config.approve_config(p, STAFF, ins.id)
    assert [b.provider_id for b in directory.insurer_bindings(p, ins.id)] == [prov.id, other.id]
    assert directory.active_providers(p) and all(c.provider_id != ins.id for c in directory.active_providers(p))
    # other is bound for Shanghai only
    assert [c.provider_id for c in directory.bound_providers(p, ins.id, "vaccination", "110105")] == [prov.id]
    assert [c.provider_id for c in directory.bound_providers(p, ins.id, "vaccination", "310101")] == [
        prov.id,
        other.id,
    ]
    assert [c.provider_id for c in directory.bound_providers(p, ins.id, "deworming_kit", "310101")] == [other.id]

    # Once active, a binding becomes a change request and needs a reason.
    with pytest.raises(InvalidInput) as exc:
        bindings.bind_provider(p, ins, prov.id, BindingInput())
    assert exc.value.code == "REASON_REQUIRED"
    saved = bindings.bind_provider(p, ins, prov.id, BindingInput(reason="buy everything from them"))
    assert saved.applied_to == "change_request" and saved.change_request_id
    cr = changes.get_change(p, ins.id, saved.change_request_id)
    assert [(d.field, d.before, d.after) for d in cr.diff] == [
        (f"bindings[{prov.id}].service_types", ["vaccination"], None)
    ]
    assert directory.insurer_bindings(p, ins.id)[0].service_types == ["vaccination"]  # unchanged until approved
    changes.approve_change(p, STAFF, ins.id, cr.id)
    assert directory.insurer_bindings(p, ins.id)[0].service_types is None


# ---------------------------------------------------------------- dispatch view


def test_dispatch_only_sees_active_reviewed_providers_with_active_accounts(p):
    a = active_provider(p, "A Vet")
    b = active_provider(p, "B Vet")
    submitted_provider(p, "C Vet")
    assert sorted(c.provider_id for c in directory.active_providers(p)) == sorted([a.id, b.id])
    p.store.update(*keys.partner(b.id), set={"state": "suspended"})
    assert [c.provider_id for c in directory.active_providers(p)] == [a.id]
    assert directory.active_provider_config(p, b.id) is None
    assert directory.active_provider_config(p, "prv_unknown") is None
    cfg = directory.active_provider_config(p, a.id)
    assert cfg.offers("vaccination") and cfg.offers("vaccination", "offline_store")
    assert not cfg.offers("vaccination", "online_shipping") and not cfg.offers("grooming")
    assert cfg.covers("110105") and cfg.covers("310115") and cfg.covers("310000")
    assert not cfg.covers("110100") and not cfg.covers("440305")


# ---------------------------------------------------------------- audit


def test_audit_finds_every_step_by_name_account_or_request(p):
    who = active_provider(p)
    sub_id = config.live(p, who.id).doc.submission_id
    key = config.live(p, who.id).doc.config.documents[0].file_key
    cr = changes.request_change(p, who, provider_config(key, daily_capacity=66), "busy season")
    changes.approve_change(p, STAFF2, who.id, cr.id)

    by_name = overview.audit_trail(p, AuditQuery(partner_name="HAPPY paws clinic"))
    by_id = overview.audit_trail(p, AuditQuery(partner_id=who.id))
    assert by_name == by_id
    actions = [r.action for r in reversed(by_id)]
    assert actions[0] == "account_created"
    assert {"config_draft_saved", "config_submitted", "config_approved", "change_requested", "change_approved"} <= set(
        actions
    )
    assert [r.action for r in overview.audit_trail(p, AuditQuery(request_id=sub_id))] == [
        "config_submitted",
        "config_approved",
    ]
    by_change = overview.audit_trail(p, AuditQuery(request_id=cr.id))
    assert [(r.action, r.actor) for r in by_change] == [
        ("change_requested", f"provider:{who.id}"),
        ("change_approved", "ops:sam"),
    ]
    assert by_change[0].reason == "busy season"
    assert by_change[1].before["daily_capacity"] == 50 and by_change[1].after["daily_capacity"] == 66
    with pytest.raises(NotFound):
        overview.audit_trail(p, AuditQuery(partner_name="nobody"))
    with pytest.raises(ValidationError):
        AuditQuery(partner_id="x", request_id="y")


def test_diff_of_a_first_configuration_lists_everything_as_added():
    changes = partner_config.diff(None, ConfigInput(daily_capacity=3, regions=[{"province": "650000"}]))
    assert [(c.field, c.change) for c in changes] == [("regions[650000]", "added"), ("daily_capacity", "added")]
    assert (
        partner_config.diff(
            ConfigInput(regions=[{"province": "650000"}, {"province": "540000"}]),
            ConfigInput(regions=[{"province": "540000"}, {"province": "650000"}]),
        )
        == []
    )
