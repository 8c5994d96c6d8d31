"""Demo data after deploy, so the README's first request works."""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any, Protocol

from infra.credentials import curl_line, ops_token, portal_token
from petcover import runtime
from petcover.config import reset_settings
from petcover.ports import Ports
from petcover.services import demo as demo_data


class DeployedStack(Protocol):
    """What seeding needs of a deployed stack (``infra.localcloud.LocalCloud`` is one)."""

    @property
    def sink_url(self) -> str: ...

    @property
    def insurer_url(self) -> str: ...

    @property
    def api_base(self) -> str: ...

    def function_env(self) -> dict[str, str]: ...


def _ports(cloud: DeployedStack) -> Ports:
    os.environ.update(cloud.function_env())
    os.environ.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"})
    reset_settings()
    runtime.install(None)
    return runtime.ports()


def seed(cloud: DeployedStack) -> dict[str, Any]:
    p = _ports(cloud)
    demo = demo_data.seed(p, sink_url=cloud.sink_url)
    demo["insurer"] = seed_insurer(p, cloud.insurer_url)
    return demo


def seed_insurer(p: Ports, mock_url: str) -> dict[str, Any]:
    """An insurer partner whose API is the local mock insurer, which learns the key we sign with.

    No product routes to it until ops say so (``PUT /ops/products/{code}/insurers``)."""
    from petcover.models.insurers import EndpointInput
    from petcover.models.partners import PartnerCreate
    from petcover.repositories import partners as partner_repo
    from petcover.services.insurers import endpoints
    from petcover.services.partners import accounts

    guard = p.store.get(*partner_repo.name_key("Demo Insurer"))
    if guard is not None:
        insurer_id = partner_repo.named_partner_id(guard)
    else:
        insurer_id = accounts.create_partner(
            p, "seed", PartnerCreate(kind="insurer", name="Demo Insurer", agreement_ref="DEMO-INS-1")
        ).id
    saved = endpoints.save(
        p, "seed", insurer_id, EndpointInput(url=f"{mock_url}/api", timeout_ms=2000, retries=1, new_key=True)
    )
    body = json.dumps({"key_id": saved.key_id, "secret": saved.secret}).encode()
    req = urllib.request.Request(f"{mock_url}/_mock/keys", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5):
        pass
    return {"id": insurer_id, "url": saved.url, "key_id": saved.key_id, "mock": mock_url}


CONSOLE_ROLES = ("admin", "ops", "service", "underwriter", "finance", "sales")


def console_links(api_base: str) -> list[str]:
    """One sign-in link per staff role: the console takes the token from the fragment (never sent)."""
    return [f"    {role:<11}: {api_base}/console/#token={ops_token([role], f'demo-{role}')}" for role in CONSOLE_ROLES]


def portal_links(api_base: str, provider_id: str, insurer_id: str | None) -> list[str]:
    """The provider portal for the demo provider's staff (and the demo insurer's), one click each."""
    out = [f"    provider   : {api_base}/console/portal/#token={portal_token(provider_id)}"]
    if insurer_id:
        out.append(f"    insurer    : {api_base}/console/portal/#token={portal_token(insurer_id, 'insurer')}")
    return out


def banner(cloud: DeployedStack, demo: dict[str, Any]) -> str:
    lines = [
        "",
        "petcover is running on the local cloud",
        f"  API base URL : {cloud.api_base}",
        f"  health       : curl -s {cloud.api_base}/health",
        f"  sink         : {cloud.sink_url}/_sink/requests   (make sink)",
    ]
    ch = demo["channel"]
    body = (
        '{"product_code":"pet-health","plan_code":"basic","insured":{"insured_id":"pet-1","species":"dog",'
        '"breed_size":"small","age_months":30,"region":"310115"}}'
    )
    lines += [
        f"  channel      : {ch['id']}  key id {ch['key_id']}  secret {ch['secret']}",
        f"  webhooks     : signed with {ch['webhook_secret']}  (verify the sink's, docs/webhooks.md)",
        f"  provider     : {demo['provider']['id']}  key id {demo['provider']['key_id']}  "
        f"secret {demo['provider']['secret']}",
        f"  ops token    : {ops_token(['admin'], 'demo-admin')}",
        f"  demo policy  : {demo['policy']['number']}  pet {demo['policy']['pet_id']}  "
        "(past its waiting period: book a service now, README 'Try fulfilment')",
        f"  insurer      : {demo['insurer']['id']}  (Demo Insurer, its API is the mock at {demo['insurer']['mock']};"
        " docs/insurer-api.md)",
        "",
        "  a signed quote (valid 5 minutes, once: the nonce is single-use; `make curl` makes a fresh one):",
        "  " + curl_line(cloud.api_base, ch["key_id"], ch["secret"], "POST", "/quotes", body),
        "",
        "  console (sign in with one click as a demo staff member of each role, 8 hours):",
        *console_links(cloud.api_base),
        "",
        "  provider portal (the demo provider's staff; `make token PROVIDER=<id>` for another):",
        *portal_links(cloud.api_base, demo["provider"]["id"], demo.get("insurer", {}).get("id")),
        "",
        "  as the provider     : make provider-call PATH_=/work-orders  (make call: the same as the channel)",
        "  fire a schedule now : make fire FN=<Function>  (e.g. SlaCheckFunction)",
        "  stop                : make stop",
    ]
    return "\n".join(lines)
