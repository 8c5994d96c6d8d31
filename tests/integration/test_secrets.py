"""Secrets through the handlers against moto (KMS included): sealed at rest, shown once, never in a
log or a later answer; ops actions audited with their request id and reason; unsafe URLs refused."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import boto3
import pytest

from petcover import runtime
from petcover.services import credentials
from tests.support import events
from tests.support.calls import call, handler_of, ops_headers
from tests.support.fixtures import publish_seed_products
from tests.support.providers import onboard_provider

ROBOT = "https://oapi.dingtalk.com/robot/x"
ROBOT_SECRET = "SECfedcba9876543210fedcba9876543210"


def _table_text(aws: dict[str, str]) -> str:
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    items: list[Any] = []
    kwargs: dict[str, Any] = {"TableName": aws["MainTable"]}
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return json.dumps(items)
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _ops(function: str, request_id: str | None = None, **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
    roles = kwargs.pop("roles", ("admin",))
    ev = events.api(function, headers=ops_headers(*roles), **kwargs)
    ev["requestContext"]["requestId"] = request_id or f"req-{uuid.uuid4().hex}"
    resp = handler_of(function)(ev, None)
    return resp["statusCode"], json.loads(resp["body"]), resp["headers"]


@pytest.fixture
def world(aws: dict[str, str]) -> dict[str, Any]:
    p = runtime.ports()
    publish_seed_products(p)
    return {"p": p}


def test_secrets_are_sealed_with_the_kms_key_and_shown_once(aws, world, caplog, capfd) -> None:
    caplog.set_level(logging.DEBUG)  # the troubleshooting level too
    p = world["p"]
    body = {"id": "shop-s", "name": "Shop S", "callback_url": "https://shop-s.example/hooks"}
    status, created, _ = call("AddChannelFunction", body=body, ops=("sales",), idem="add-shop-s")
    assert status == 201, created
    webhook_secret = created["webhook_secret"]
    status, replay, headers = call("AddChannelFunction", body=body, ops=("sales",), idem="add-shop-s")
    assert status == 201 and headers.get("Idempotency-Replayed") == "true"
    assert replay["webhook_secret"] is None and replay["id"] == "shop-s"  # shown once, even to a retry

    status, key, _ = call("IssueChannelKeyFunction", path={"channelId": "shop-s"}, ops=("sales",))
    assert status == 201
    status, rotated, _ = call(
        "RotateWebhookSecretFunction", path={"channelId": "shop-s"}, body={"overlap_hours": 1}, ops=("sales",)
    )
    assert status == 200 and rotated["webhook_secret"] not in (webhook_secret, None)

    provider_id = onboard_provider(p, "Clinic S")
    provider_key = credentials.issue(p, "provider", provider_id)
    status, saved, _ = call(
        "SetPartnerChatSecretFunction",
        body={"webhook_url": ROBOT, "secret": ROBOT_SECRET},
        key=(provider_key.key_id, provider_key.secret),
    )
    assert status == 200 and saved == {"webhook_url": ROBOT, "contacts": ["Desk"], "secret_set": True}

    secrets = [webhook_secret, rotated["webhook_secret"], key["secret"], provider_key.secret, ROBOT_SECRET]
    table = _table_text(aws)
    assert table.count('"kms:') >= 5  # the webhook secret and the one before it, two signing keys, a robot secret
    for secret in secrets:
        assert secret not in table, "a secret is stored as issued"

    # later answers: reads, lists, the audit trail of everything above
    later = [
        call("GetChannelFunction", path={"channelId": "shop-s"}, ops=("sales",))[1],
        call("ListChannelsFunction", ops=("sales",))[1],
        call("ListChannelKeysFunction", path={"channelId": "shop-s"}, ops=("sales",))[1],
        call("AuditByEntityFunction", path={"entityType": "channel", "entityId": "shop-s"}, ops=("sales",))[1],
        call("PartnerAuditFunction", query={"partner_id": provider_id}, ops=("ops",))[1],
        call("GetPartnerFunction", path={"partnerId": provider_id}, ops=("ops",))[1],
        call("PartnerMeFunction", key=(provider_key.key_id, provider_key.secret))[1],
    ]
    text = json.dumps(later)
    assert "shop-s" in text and "Desk" in text
    out, err = capfd.readouterr()
    logged = out + err + "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert len(logged) > 1000, "nothing was logged: the check would prove nothing"
    for secret in secrets:
        assert secret not in text, "a secret came back in a later answer"
        assert secret[:16] not in logged, "a secret was logged"


def test_ops_changes_are_audited_with_the_api_gateway_request_id_and_found_by_it(aws, world) -> None:
    from tests.support.fixtures import channel_with_contracts

    channel_with_contracts(world["p"], "shop-r", callback_url="https://shop-r.example/h")
    status, _, _ = _ops(
        "TerminateContractFunction",
        request_id="req-terminate-1",
        path_params={"channelId": "shop-r", "productCode": "pet-health"},
        body={"reason": "the channel stopped selling it"},
    )
    assert status == 200
    status, found, _ = _ops("PartnerAuditFunction", query={"request_id": "req-terminate-1"}, roles=("ops",))
    assert status == 200
    [record] = found["items"]
    assert (record["entity_id"], record["action"], record["request_id"]) == (
        "shop-r/pet-health",
        "terminate",
        "req-terminate-1",
    )
    assert record["reason"] == "the channel stopped selling it"


@pytest.mark.parametrize(
    ("function", "path", "body", "query"),
    [
        ("CloseChannelFunction", {"channelId": "shop-q"}, {}, None),
        ("TerminateContractFunction", {"channelId": "shop-q", "productCode": "pet-health"}, {}, None),
        ("DelistProductFunction", {"code": "pet-health"}, {}, None),
        ("RevokeChannelKeyFunction", {"channelId": "shop-q", "keyId": "chk_x"}, None, None),
        ("RevokePartnerKeyFunction", {"partnerId": "prv_x", "keyId": "prk_x"}, None, None),
        ("RejectPartnerConfigFunction", {"partnerId": "prv_x"}, {}, None),
        ("RejectPartnerChangeFunction", {"partnerId": "prv_x", "requestId": "chg_x"}, {}, None),
        ("RejectClaimFunction", {"claimNumber": "CLM-x"}, {}, None),
    ],
)
def test_every_ops_action_that_closes_revokes_terminates_or_rejects_needs_a_reason(
    aws, world, function, path, body, query
) -> None:
    status, refused, _ = _ops(function, path_params=path, body=body, query=query)
    assert status == 400, refused
    assert any(e["field"] == "reason" for e in refused["error"]["details"]), refused


def test_a_callback_url_reaching_the_metadata_service_is_refused_on_save(aws, world, monkeypatch) -> None:
    from petcover.config import reset_settings

    monkeypatch.setenv("STAGE", "prod")
    reset_settings()
    for url in ("https://169.254.169.254/latest/meta-data/", "http://127.0.0.1:4599/hooks", "https://[fd00:ec2::254]/"):
        body = {"id": "shop-m", "name": "Shop M", "callback_url": url}
        status, refused, _ = call("AddChannelFunction", body=body, ops=("sales",), idem=f"m-{url}")
        assert status == 400 and refused["error"]["code"] == "UNSAFE_URL", refused
        assert refused["error"]["details"][0]["field"] == "callback_url"
    status, _, _ = call("GetChannelFunction", path={"channelId": "shop-m"}, ops=("sales",))
    assert status == 404


def test_a_warm_container_never_logs_the_previous_callers_principal(aws, world, caplog) -> None:
    caplog.set_level(logging.INFO)
    handler = handler_of("ListProductsFunction")
    first = events.api("ListProductsFunction", headers=ops_headers("underwriter", sub="first-caller-7f3a"))
    assert handler(first, None)["statusCode"] == 200
    caplog.clear()
    second = events.api("ListProductsFunction", headers={"Authorization": "Bearer not-a-token"})
    assert handler(second, None)["statusCode"] == 401
    logged = "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert "refused" in logged  # the second call was logged ...
    assert "first-caller-7f3a" not in logged  # ... without the first call's principal


def test_a_container_opens_a_signing_key_once_however_many_calls_it_signs(aws, world) -> None:
    """KMS Decrypt is called once per key per container: the secret of a key never changes."""
    from petcover import authentication
    from petcover.runtime import KmsSecretBox
    from tests.support.fixtures import channel_with_contracts

    key = channel_with_contracts(world["p"], "shop-k", callback_url="https://shop-k.example/h")
    runtime.install(None)
    container = runtime.ports()  # a fresh container: nothing opened yet
    assert isinstance(container.secrets, KmsSecretBox)
    kms = container.secrets._kms
    decrypts: list[int] = []

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(kms, name)

        def decrypt(self, **kwargs: Any) -> Any:
            decrypts.append(1)
            return kms.decrypt(**kwargs)

    container.secrets._kms = Counting()
    quote = {
        "product_code": "pet-health",
        "plan_code": "basic",
        "insured": {"insured_id": "p1", "species": "dog", "breed_size": "small", "age_months": 30, "region": "310115"},
    }
    for i in range(30):
        if i % 10 == 0:
            authentication.clear_cache()  # the 5-second item cache expires; the opened secret stays
        status, body, _ = call("QuoteFunction", body=quote, key=key)
        assert status == 200, body
    assert len(decrypts) == 1


def test_through_the_handlers_a_rotation_reaches_the_receiver_with_both_signatures(aws, world, tmp_path) -> None:
    """Add the channel, rotate, deliver through the queue and the deliverer to a real HTTP receiver."""
    import threading

    from infra import sink
    from petcover import signing
    from petcover.services.webhooks import events as webhook_events

    server = sink.serve(0, tmp_path / "sink.jsonl")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks/shop-h"
        body = {"id": "shop-h", "name": "Shop H", "callback_url": url}
        status, created, _ = call("AddChannelFunction", body=body, ops=("sales",), idem="add-shop-h")
        assert status == 201
        status, rotated, _ = call(
            "RotateWebhookSecretFunction", path={"channelId": "shop-h"}, body={"overlap_hours": 2}, ops=("ops",)
        )
        assert status == 200
        webhook_events.notify(
            runtime.ports(),
            channel_id="shop-h",
            object_type="claim",
            object_id="CLM-H-1",
            event_type="claim.status_changed",
            payload={"status": "submitted"},
        )
        sqs = boto3.client("sqs", region_name="us-east-1")
        batch = sqs.receive_message(QueueUrl=aws["WebhookQueue"], MaxNumberOfMessages=10)["Messages"]
        out = handler_of("WebhookDeliverFunction")(
            events.sqs("WebhookDeliverFunction", [json.loads(m["Body"]) for m in batch]), None
        )
        assert out["batchItemFailures"] == []
    finally:
        server.shutdown()
        server.server_close()
    [received] = [json.loads(line) for line in (tmp_path / "sink.jsonl").read_text().splitlines()]
    ts = int(received["headers"]["X-Pc-Timestamp"])
    assert len(signing.webhook_signatures(received["headers"]["X-Pc-Signature"])) == 2
    for secret in (created["webhook_secret"], rotated["webhook_secret"]):
        assert signing.verify_webhook(secret, received["headers"], received["body"].encode(), now=ts)
