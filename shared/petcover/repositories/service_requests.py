"""Keys and items of customer-service requests and e-policy verification codes.

SREQ#{id} / REQUEST          the request (``state``, ``version``); gsi1 SREQQ#{queue}#{state} /
                             {created_at}#{id}: a queue's requests in one state, oldest first;
                             gsi2 SREQPOL#{policy} / {created_at}#{id}: a policy's requests
EPOLICY#{code} / EPOLICY     a generated e-policy: what the public check answers
INVOICE#{number} / INVOICE   an invoice number is recorded once
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petcover.ports import Item, Page, Put, Store, Update
from petcover.repositories.base import load

if TYPE_CHECKING:
    from petcover.models.service_requests import EPolicyCheck, ServiceRequest

REQUEST_SK = "REQUEST"


def request_key(request_id: str) -> tuple[str, str]:
    return f"SREQ#{request_id}", REQUEST_SK


def queue_index(queue: str, state: str) -> str:
    return f"SREQQ#{queue}#{state}"


def policy_index(policy_number: str) -> str:
    return f"SREQPOL#{policy_number}"


def e_policy_key(code: str) -> tuple[str, str]:
    return f"EPOLICY#{code}", "EPOLICY"


def invoice_key(number: str) -> tuple[str, str]:
    return f"INVOICE#{number.upper()}", "INVOICE"


def document_key(policy_number: str, code: str) -> str:
    """Where the PDF lives in the document bucket."""
    return f"e-policies/{policy_number}/{code}.pdf"


def _indexes(r: ServiceRequest) -> dict[str, str]:
    order = f"{r.created_at.isoformat()}#{r.request_id}"
    return {
        "gsi1pk": queue_index(r.queue, r.status),
        "gsi1sk": order,
        "gsi2pk": policy_index(r.policy_number),
        "gsi2sk": order,
    }


def new_item(r: ServiceRequest) -> Put:
    pk, sk = request_key(r.request_id)
    item: Item = {
        "pk": pk,
        "sk": sk,
        "kind": "service_request",
        "state": r.status,
        "version": r.version,
        "data": r.model_dump_json(),
        **_indexes(r),
    }
    return Put(item, if_absent=True)


def change(before: ServiceRequest, after: ServiceRequest) -> Update:
    """The request moved on: conditional on the state and version it was read at."""
    return Update(
        *request_key(before.request_id),
        set={"state": after.status, "data": after.model_dump_json(), "gsi1pk": queue_index(after.queue, after.status)},
        add={"version": 1},
        expect=[("state", "=", before.status), ("version", "=", before.version)],
    )


def from_item(item: Item) -> ServiceRequest:
    from petcover.models.service_requests import ServiceRequest

    r = load(ServiceRequest, item)
    return r.model_copy(update={"status": item["state"], "version": int(item["version"])})


def find(store: Store, request_id: str) -> ServiceRequest | None:
    item = store.get(*request_key(request_id))
    return from_item(item) if item else None


def queue_page(store: Store, queue: str, state: str, *, limit: int, cursor: str | None) -> Page:
    return store.query(queue_index(queue, state), index="gsi1", limit=limit, cursor=cursor)


def policy_page(store: Store, policy_number: str, *, limit: int, cursor: str | None) -> Page:
    return store.query(policy_index(policy_number), index="gsi2", limit=limit, cursor=cursor, descending=True)


def e_policy_item(check: EPolicyCheck, request_id: str) -> Put:
    pk, sk = e_policy_key(check.code)
    return Put(
        {"pk": pk, "sk": sk, "kind": "e_policy", "ref": request_id, "data": check.model_dump_json()}, if_absent=True
    )


def find_e_policy(store: Store, code: str) -> EPolicyCheck | None:
    from petcover.models.service_requests import EPolicyCheck

    item = store.get(*e_policy_key(code), consistent=False)
    return load(EPolicyCheck, item) if item else None


def invoice_item(number: str, request_id: str) -> Put:
    pk, sk = invoice_key(number)
    return Put({"pk": pk, "sk": sk, "kind": "invoice", "ref": request_id}, if_absent=True)
