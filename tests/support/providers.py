"""Providers: one taken through the real onboarding, or an active account written straight to the store."""

from __future__ import annotations

import json

from petcover.identity import Principal
from petcover.models.partners import ConfigInput, DocumentUploadRequest, PartnerCreate
from petcover.ports import Ports
from petcover.repositories import partners as keys
from petcover.services.partners import accounts, config, documents

STAFF = Principal("ops", "rita", ("ops",))


def onboard_provider(
    p: Ports,
    name: str,
    services: tuple[str, ...] = ("checkup",),
    regions: tuple[dict[str, str], ...] = ({"province": "310000"},),
) -> str:
    """A provider taken through the real onboarding: account, licence, configuration, review."""
    acc = accounts.create_partner(p, STAFF, PartnerCreate(kind="provider", name=name, agreement_ref="AGR-1"))
    who = Principal("provider", acc.id)
    up = documents.document_upload(
        p, who, DocumentUploadRequest(type="business_licence", file_name="l.pdf", content_type="application/pdf")
    )
    cfg = ConfigInput.model_validate(
        {
            "services": [{"service_type": s, "mode": "offline_store"} for s in services],
            "regions": list(regions),
            "daily_capacity": 500,
            "contacts": [
                {
                    "name": "Desk",
                    "channel": "dingtalk",
                    "webhook_url": "https://oapi.dingtalk.com/robot/x",
                    "mention": "13800000000",
                }
            ],
            "documents": [
                {"type": "business_licence", "number": f"L-{name}", "expires_on": "2030-01-01", "file_key": up.file_key}
            ],
        }
    )
    config.save_draft(p, who, cfg)
    config.submit(p, who)
    config.approve_config(p, STAFF, acc.id)
    return acc.id


def provider_account(p: Ports, provider_id: str) -> None:
    """An active provider account and nothing else (no configuration, no documents)."""
    pk, sk = keys.partner(provider_id)
    p.store.put(
        {
            "pk": pk,
            "sk": sk,
            "kind": "partner",
            "state": "active",
            "data": json.dumps({"id": provider_id, "kind": "provider", "name": provider_id.title()}),
        }
    )
