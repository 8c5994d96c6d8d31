"""Demo data after deploy, so the README's first request works."""

from __future__ import annotations

import os
from typing import Any, Protocol

from infra.credentials import curl_line, ops_token
from petcover import runtime
from petcover.config import reset_settings
from petcover.ports import Ports
from petcover.services import demo as demo_data


class DeployedStack(Protocol):
    """What seeding needs of a deployed stack (``infra.localcloud.LocalCloud`` is one)."""

    @property
    def sink_url(self) -> str: ...

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
    return demo_data.seed(_ports(cloud), sink_url=cloud.sink_url)


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
        "",
        "  a signed quote (valid 5 minutes, once: the nonce is single-use; `make curl` makes a fresh one):",
        "  " + curl_line(cloud.api_base, ch["key_id"], ch["secret"], "POST", "/quotes", body),
        "",
        "  as the provider     : make provider-call PATH_=/work-orders  (make call: the same as the channel)",
        "  fire a schedule now : make fire FN=<Function>  (e.g. SlaCheckFunction)",
        "  stop                : make stop",
    ]
    return "\n".join(lines)
