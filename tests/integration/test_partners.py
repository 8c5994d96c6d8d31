"""Partner onboarding end to end: the routed handlers in-process against moto (events from events/)."""

from __future__ import annotations

import importlib
import json
import time
from typing import Any

import boto3
import pytest
import requests

from infra import template
from petcover import signing, tokens
from tests.support import events

OPS_SECRET = "test-ops-secret"  # what the `aws` fixture configures


def ops_headers(*roles: str, sub: str = "rita") -> dict[str, str]:
    token = tokens.mint(OPS_SECRET, sub, list(roles), now=int(time.time()))
    return {"Authorization": f"Bearer {token}"}


def invoke(
    function: str,
    *,
    path: dict[str, str] | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
    ops: tuple[str, ...] | None = None,
    key: tuple[str, str] | None = None,
    idem: str | None = None,
) -> tuple[int, Any, dict[str, str]]:
    headers: dict[str, str] = {}
    if ops is not None:
        headers.update(ops_headers(*ops))
    if idem is not None:
        headers["Idempotency-Key"] = idem
    ev = events.api(function, path_params=path, body=body, headers=headers, query=query)
    if key is not None:
        raw = (ev.get("body") or "").encode()
        ev["headers"].update(
            signing.signed_headers(key[0], key[1], ev["httpMethod"], ev["path"], query, raw, now=int(time.time()))
        )
    handler_path = template.functions()[function]["Properties"]["Handler"]
    module, attr = template.handler_module(handler_path)
    resp = getattr(importlib.import_module(module), attr)(ev, None)
    return resp["statusCode"], json.loads(resp["body"]), resp["headers"]


def create(kind: str, name: str, **extra: Any) -> str:
    status, body, _ = invoke(
        "CreatePartnerFunction",
        body={"kind": kind, "name": name, "agreement_ref": f"AGR-{name[:3]}", **extra},
        ops=("ops",),
        idem=f"create-{name}",
    )
    assert status == 201, body
    return str(body["id"])


def issue_key(partner_id: str) -> tuple[str, str]:
    status, body, _ = invoke("IssuePartnerKeyFunction", path={"partnerId": partner_id}, ops=("ops",))
    assert status == 201, body
    return body["key_id"], body["secret"]


def provider_config(file_key: str, **changes: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "services": [{"service_type": "vaccination", "mode": "offline_store"}],
        "regions": [{"province": "440000", "city": "440300", "district": "440305"}],
        "daily_capacity": 40,
        "contacts": [
            {
                "name": "Ops desk",
                "channel": "wecom",
                "webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
                "mention": "zhangsan",
            }
        ],
        "documents": [
            {"type": "business_licence", "number": "91440300X", "expires_on": "2099-12-31", "file_key": file_key}
        ],
    }
    cfg.update(changes)
    return cfg


def upload_licence(key: tuple[str, str], idem: str = "doc-1") -> str:
    status, up, _ = invoke(
        "PartnerDocumentUploadFunction",
        body={"type": "business_licence", "file_name": "licence.pdf", "content_type": "application/pdf"},
        key=key,
        idem=idem,
    )
    assert status == 201, up
    return str(up["file_key"])


def active_provider(name: str) -> tuple[str, tuple[str, str], str]:
    pid = create("provider", name)
    key = issue_key(pid)
    file_key = upload_licence(key)
    assert invoke("SavePartnerConfigFunction", body=provider_config(file_key), key=key)[0] == 200
    assert invoke("SubmitPartnerConfigFunction", key=key)[0] == 200
    assert invoke("ApprovePartnerConfigFunction", path={"partnerId": pid}, body={}, ops=("ops",))[0] == 200
    return pid, key, file_key


def test_provider_onboarding_end_to_end(aws):
    # Ops open the account (idempotently) and issue the partner's signing key.
    status, acc, _ = invoke(
        "CreatePartnerFunction",
        body={"kind": "provider", "name": "Nanshan Pet Hospital", "agreement_ref": "AGR-2026-017"},
        ops=("ops",),
        idem="create-nanshan",
    )
    assert status == 201 and acc["kind"] == "provider" and acc["status"] == "active"
    pid = acc["id"]
    status, again, headers = invoke(
        "CreatePartnerFunction",
        body={"kind": "provider", "name": "Nanshan Pet Hospital", "agreement_ref": "AGR-2026-017"},
        ops=("ops",),
        idem="create-nanshan",
    )
    assert status == 201 and again["id"] == pid and headers.get("Idempotency-Replayed") == "true"
    key = issue_key(pid)
    status, keys_list, _ = invoke("ListPartnerKeysFunction", path={"partnerId": pid}, ops=("ops",))
    assert status == 200 and [k["key_id"] for k in keys_list["items"]] == [key[0]]
    assert "secret" not in keys_list["items"][0]

    # The provider uploads its licence through the pre-signed URL; the bucket stores it.
    status, up, _ = invoke(
        "PartnerDocumentUploadFunction",
        body={"type": "business_licence", "file_name": "licence.pdf", "content_type": "application/pdf"},
        key=key,
        idem="doc-1",
    )
    assert status == 201, up
    assert up["file_key"].startswith(f"partners/{pid}/documents/") and up["method"] == "PUT"
    assert "X-Amz-Signature" in up["upload_url"] or "Signature" in up["upload_url"]
    put = requests.put(up["upload_url"], data=b"%PDF-1.7", headers=up["headers"], timeout=10)
    assert put.status_code == 200
    s3 = boto3.client("s3", region_name="us-east-1")
    assert s3.get_object(Bucket=aws["DocumentBucket"], Key=up["file_key"])["Body"].read() == b"%PDF-1.7"

    # A district outside its city is a field error; nothing is saved.
    bad = provider_config(
        up["file_key"],
        regions=[
            {"province": "440000", "city": "440300", "district": "440305"},
            {"province": "310000", "city": "310100", "district": "110105"},
        ],
    )
    status, err, _ = invoke("SavePartnerConfigFunction", body=bad, key=key)
    assert status == 400 and err["error"]["code"] == "CONFIG_INVALID"
    assert err["error"]["details"] == [{"field": "regions.1", "message": "District 110105 is not in city 310100"}]
    status, err, _ = invoke("SubmitPartnerConfigFunction", key=key)
    assert status == 404 and err["error"]["code"] == "CONFIG_NOT_FOUND"

    status, view, _ = invoke("SavePartnerConfigFunction", body=provider_config(up["file_key"]), key=key)
    assert status == 200 and view["state"] == "draft" and view["problems"] == []
    status, view, _ = invoke("SubmitPartnerConfigFunction", key=key)
    assert status == 200 and view["state"] == "submitted"
    submission_id = view["submission_id"]

    # Ops see it in the review queue and approve it; the provider becomes a dispatch candidate.
    status, queue, _ = invoke("ListPartnerReviewsFunction", ops=("ops",))
    assert status == 200 and [r["partner_id"] for r in queue["submitted"]] == [pid]
    assert queue["submitted"][0]["agreement_ref"] == "AGR-2026-017"
    status, view, _ = invoke(
        "ApprovePartnerConfigFunction", path={"partnerId": pid}, body={"note": "matches AGR-2026-017"}, ops=("ops",)
    )
    assert status == 200 and view["state"] == "active"
    status, err, _ = invoke("ApprovePartnerConfigFunction", path={"partnerId": pid}, body={}, ops=("ops",))
    assert status == 409 and err["error"]["code"] == "ILLEGAL_TRANSITION"

    from petcover import runtime
    from petcover.services.partners import directory

    p = runtime.ports()
    assert [c.provider_id for c in directory.active_providers(p)] == [pid]
    assert directory.active_provider_config(p, pid).daily_capacity == 40

    # A change request: the live configuration stays until ops approve, the reviewer sees the diff.
    change = {"reason": "Second shift", "config": provider_config(up["file_key"], daily_capacity=90)}
    status, cr, _ = invoke("RequestPartnerChangeFunction", body=change, key=key, idem="chg-1")
    assert status == 201 and cr["state"] == "pending"
    assert cr["diff"] == [{"field": "daily_capacity", "change": "changed", "before": 40, "after": 90}]
    status, me, _ = invoke("PartnerMeFunction", key=key)
    assert status == 200 and me["config"]["config"]["daily_capacity"] == 40
    assert me["pending_change"]["id"] == cr["id"] and me["config"]["pending_change_id"] == cr["id"]
    status, changes, _ = invoke(
        "ListPartnerChangesFunction", path={"partnerId": pid}, query={"state": "pending"}, ops=("ops",)
    )
    assert status == 200 and [c["id"] for c in changes["items"]] == [cr["id"]]
    assert changes["items"][0]["diff"][0]["field"] == "daily_capacity"
    status, done, _ = invoke(
        "ApprovePartnerChangeFunction", path={"partnerId": pid, "requestId": cr["id"]}, body={}, ops=("ops",)
    )
    assert status == 200 and done["state"] == "approved"
    assert directory.active_provider_config(p, pid).daily_capacity == 90
    status, err, _ = invoke(
        "RejectPartnerChangeFunction",
        path={"partnerId": pid, "requestId": cr["id"]},
        body={"reason": "too late"},
        ops=("ops",),
    )
    assert status == 409 and err["error"]["code"] == "ILLEGAL_TRANSITION"

    # A second change is rejected: the approved configuration stays.
    change = {"reason": "Try Futian", "config": provider_config(up["file_key"], daily_capacity=90, regions=[
        {"province": "440000", "city": "440300", "district": "440304"}
    ])}  # fmt: skip
    status, cr2, _ = invoke("RequestPartnerChangeFunction", body=change, key=key, idem="chg-2")
    assert status == 201
    assert [d["field"] for d in cr2["diff"]] == ["regions[440305]", "regions[440304]"]
    status, err, _ = invoke(
        "RejectPartnerChangeFunction", path={"partnerId": pid, "requestId": cr2["id"]}, body={}, ops=("ops",)
    )
    assert status == 400 and err["error"]["details"][0]["field"] == "reason"
    status, done, _ = invoke(
        "RejectPartnerChangeFunction",
        path={"partnerId": pid, "requestId": cr2["id"]},
        body={"reason": "Futian is not in the agreement"},
        ops=("ops",),
    )
    assert status == 200 and done["state"] == "rejected"
    cfg = directory.active_provider_config(p, pid)
    assert cfg.covers("440305") and not cfg.covers("440304")

    # The audit trail: by name, by account, by request id.
    status, by_name, _ = invoke("PartnerAuditFunction", query={"partner_name": "nanshan pet HOSPITAL"}, ops=("ops",))
    assert status == 200
    actions = {r["action"] for r in by_name["items"]}
    assert {
        "account_created",
        "key_issued",
        "config_submitted",
        "config_approved",
        "change_requested",
        "change_approved",
        "change_rejected",
    } <= actions
    status, by_id, _ = invoke("PartnerAuditFunction", query={"partner_id": pid}, ops=("ops",))
    assert status == 200 and len(by_id["items"]) == len(by_name["items"])
    status, by_sub, _ = invoke("PartnerAuditFunction", query={"request_id": submission_id}, ops=("ops",))
    assert [r["action"] for r in by_sub["items"]] == ["config_submitted", "config_approved"]
    assert by_sub["items"][1]["actor"] == "ops:rita"
    status, by_cr, _ = invoke("PartnerAuditFunction", query={"request_id": cr2["id"]}, ops=("ops",))
    assert [r["action"] for r in by_cr["items"]] == ["change_requested", "change_rejected"]
    assert by_cr["items"][1]["reason"] == "Futian is not in the agreement"
    status, err, _ = invoke("PartnerAuditFunction", query={}, ops=("ops",))
    assert status == 400 and err["error"]["code"] == "VALIDATION_FAILED"

    status, detail, _ = invoke("GetPartnerFunction", path={"partnerId": pid}, ops=("ops",))
    assert status == 200 and detail["account"]["name"] == "Nanshan Pet Hospital"
    assert detail["config"]["state"] == "active" and detail["config"]["version"] >= 4
    assert detail["pending_change"] is None


def test_first_config_rejection_and_resubmission(aws):
    pid = create("provider", "Xihu Vet")
    key = issue_key(pid)
    file_key = upload_licence(key)
    invoke("SavePartnerConfigFunction", body=provider_config(file_key, regions=[]), key=key)
    status, err, _ = invoke("SubmitPartnerConfigFunction", key=key)
    assert status == 400
    assert {"field": "regions", "message": "Give at least one service region"} in err["error"]["details"]
    invoke(
        "SavePartnerConfigFunction",
        body=provider_config(file_key, regions=[{"province": "330000", "city": "330100"}]),
        key=key,
    )
    assert invoke("SubmitPartnerConfigFunction", key=key)[1]["state"] == "submitted"
    status, view, _ = invoke(
        "RejectPartnerConfigFunction",
        path={"partnerId": pid},
        body={"reason": "Licence is not the one in the agreement"},
        ops=("ops",),
    )
    assert status == 200 and view["state"] == "rejected"
    status, me, _ = invoke("PartnerMeFunction", key=key)
    assert me["config"]["review_reason"] == "Licence is not the one in the agreement"
    assert invoke("SubmitPartnerConfigFunction", key=key)[1]["state"] == "submitted"
    assert invoke("ApprovePartnerConfigFunction", path={"partnerId": pid}, body={}, ops=("ops",))[1]["state"] == (
        "active"
    )
    status, err, _ = invoke("SavePartnerConfigFunction", body=provider_config(file_key, daily_capacity=5), key=key)
    assert status == 409 and "request a change" in err["error"]["message"]


def test_insurer_binds_a_provider_and_changes_go_through_review(aws):
    prov_id, prov_key, _ = active_provider("Futian Pet Care")
    ins_id = create("insurer", "Acme Insurance")
    ins_key = issue_key(ins_id)

    status, err, _ = invoke(
        "BindPartnerProviderFunction",
        path={"providerId": prov_id},
        body={"service_types": ["grooming"], "regions": [{"province": "110000"}]},
        key=ins_key,
    )
    assert status == 400
    assert err["error"]["details"] == [
        {"field": "bindings.0.service_types.0", "message": f"Provider {prov_id} does not offer grooming"},
        {"field": "bindings.0.regions.0", "message": f"Provider {prov_id} does not serve region 110000"},
    ]
    status, saved, _ = invoke(
        "BindPartnerProviderFunction",
        path={"providerId": prov_id},
        body={"service_types": ["vaccination"]},
        key=ins_key,
    )
    assert status == 200 and saved == {
        "provider_id": prov_id,
        "applied_to": "draft",
        "config_state": "draft",
        "change_request_id": None,
    }
    status, err, _ = invoke(
        "BindPartnerProviderFunction", path={"providerId": ins_id}, body={}, key=prov_key
    )  # a provider cannot bind
    assert status == 403 and err["error"]["code"] == "WRONG_PARTNER_KIND"

    contacts = provider_config("x")["contacts"]
    status, view, _ = invoke(
        "SavePartnerConfigFunction",
        body={"contacts": contacts, "bindings": [{"provider_id": prov_id, "service_types": ["vaccination"]}]},
        key=ins_key,
    )
    assert status == 200 and view["kind"] == "insurer"
    assert invoke("SubmitPartnerConfigFunction", key=ins_key)[1]["state"] == "submitted"
    assert invoke("ApprovePartnerConfigFunction", path={"partnerId": ins_id}, body={}, ops=("ops",))[0] == 200

    from petcover import runtime
    from petcover.services.partners import directory

    p = runtime.ports()
    assert [c.provider_id for c in directory.bound_providers(p, ins_id, "vaccination", "440305")] == [prov_id]
    assert [c.provider_id for c in directory.active_providers(p)] == [prov_id]  # insurers are not candidates

    status, saved, _ = invoke(
        "BindPartnerProviderFunction",
        path={"providerId": prov_id},
        body={"regions": [{"province": "440000", "city": "440300", "district": "440305"}], "reason": "Nanshan only"},
        key=ins_key,
    )
    assert status == 200 and saved["applied_to"] == "change_request"
    status, changes, _ = invoke("ListPartnerChangesFunction", path={"partnerId": ins_id}, ops=("ops",))
    [cr] = changes["items"]
    assert [(d["field"], d["change"]) for d in cr["diff"]] == [
        (f"bindings[{prov_id}].service_types", "changed"),
        (f"bindings[{prov_id}].regions", "changed"),
    ]
    status, queue, _ = invoke("ListPartnerReviewsFunction", ops=("ops",))
    assert [c["id"] for c in queue["pending_changes"]] == [cr["id"]]


def test_access_rules(aws):
    pid = create("provider", "Chaoyang Vet")
    key = issue_key(pid)

    status, err, _ = invoke("GetPartnerFunction", path={"partnerId": pid})
    assert status == 401 and err["error"]["code"] == "TOKEN_MISSING"
    status, err, _ = invoke("GetPartnerFunction", path={"partnerId": pid}, ops=("sales",))
    assert status == 403 and err["error"]["code"] == "ROLE_REQUIRED"
    assert invoke("GetPartnerFunction", path={"partnerId": pid}, ops=("admin",))[0] == 200
    status, err, _ = invoke("GetPartnerFunction", path={"partnerId": "prv_nobody"}, ops=("ops",))
    assert status == 404 and err["error"]["code"] == "PARTNER_NOT_FOUND"

    status, err, _ = invoke("PartnerMeFunction")
    assert status == 401 and err["error"]["code"] == "MISSING_SIGNATURE"
    status, err, _ = invoke("PartnerMeFunction", key=(key[0], "wrong-secret"))
    assert status == 401 and err["error"]["code"] == "BAD_SIGNATURE"
    status, me, _ = invoke("PartnerMeFunction", key=key)
    assert status == 200 and me["account"]["id"] == pid and me["config"] is None

    status, err, _ = invoke(
        "CreatePartnerFunction",
        body={"kind": "insurer", "name": "chaoyang  VET", "agreement_ref": "A"},
        ops=("ops",),
        idem="dup-name",
    )
    assert status == 409 and err["error"]["code"] == "PARTNER_NAME_TAKEN"
    status, err, _ = invoke(
        "CreatePartnerFunction", body={"kind": "insurer", "name": "No Key", "agreement_ref": "A"}, ops=("ops",)
    )
    assert status == 400 and err["error"]["code"] == "IDEMPOTENCY_KEY_REQUIRED"

    status, revoked, _ = invoke(
        "RevokePartnerKeyFunction", path={"partnerId": pid, "keyId": key[0]}, query={"reason": "leaked"}, ops=("ops",)
    )
    assert status == 200 and revoked["status"] == "revoked"
    from petcover import authentication

    authentication.clear_cache()
    status, err, _ = invoke("PartnerMeFunction", key=key)
    assert status == 401 and err["error"]["code"] == "REVOKED_KEY"


@pytest.mark.parametrize("function", ["SavePartnerConfigFunction", "PartnerMeFunction"])
def test_a_suspended_partners_signed_calls_are_refused(aws, function):
    pid = create("provider", f"Suspended {function}")
    key = issue_key(pid)
    from petcover import authentication, runtime
    from petcover.repositories import partners as keys

    runtime.ports().store.update(*keys.partner(pid), set={"state": "suspended"})
    authentication.clear_cache()
    status, err, _ = invoke(function, body={} if function.startswith("Save") else None, key=key)
    assert status == 403 and err["error"]["code"] == "PARTNER_INACTIVE"
