"""Keys and items of provider quality.

Items (main table):

- ``QSTAT#{provider}#{month}`` / ``{metric}``  a monthly counter (``n``; a rating's ``total`` is
      the sum of scores), moved with ADD in the transaction of the event it counts. Metrics:
      ``orders``, ``done#{node}``, ``ontime#{node}``, ``breaches``, ``exceptions``, ``complaints``,
      ``rating``. gsi1 ``QSTATM#{month}`` / ``{provider}#{metric}``: a month's counters, one Query.
- ``APPT#{appointment}`` partition / ``RATING``  the owner's rating, once (put if absent).
- ``WO#{order}`` / ``COMPLAINT#{at}#{id}``  a complaint against a work order.
- ``QRULES`` / ``HEAD`` (``version``) and ``V#{n:05d}``  quality rule versions.
- ``QASSESS#{month}`` / ``P#{provider}``  a provider's assessment; ``RUN``: the month's run
      (``n`` = runs so far). A re-run replaces them; the counters are only read.
- ``QPROPOSAL#{id}`` / ``PROPOSAL``  a dispatch-rules proposal (``state``, ``version``).
- ``QTIER#{provider}`` / ``TIER``  ``state`` ``core`` | ``standard``: what the SLA due times read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from petcover.domain.quality import TIMED_NODES, Assessment, MonthCounters, QualityRules
from petcover.ports import Item, Put, Store, Update
from petcover.repositories import timeline
from petcover.repositories.appointments import appointment_key
from petcover.repositories.base import paginate

if TYPE_CHECKING:
    from petcover.models.quality import Complaint, MonthAssessment, QualityRulesVersion, Rating, ShareProposal

STAT_PREFIX = "QSTAT#"
MONTH_INDEX_PREFIX = "QSTATM#"
RULES_PK = "QRULES"
HEAD_SK = "HEAD"
RATING_SK = "RATING"
COMPLAINT_PREFIX = "COMPLAINT#"
RUN_SK = "RUN"
PROVIDER_PREFIX = "P#"


# ---------------------------------------------------------------- counters


def counter_op(provider_id: str, month: str, metric: str, n: int = 1, total: int | None = None) -> Update:
    """ADD ``n`` (and ``total``) to a provider's monthly counter, created on first use."""
    add: dict[str, int | float] = {"n": n}
    if total is not None:
        add["total"] = total
    return Update(
        f"{STAT_PREFIX}{provider_id}#{month}",
        metric,
        set={
            "kind": "quality_counter",
            "owner": provider_id,
            "gsi1pk": f"{MONTH_INDEX_PREFIX}{month}",
            "gsi1sk": f"{provider_id}#{metric}",
        },
        add=add,
    )


def done_metric(node: str) -> str:
    return f"done#{node}"


def on_time_metric(node: str) -> str:
    return f"ontime#{node}"


def month_counters(store: Store, month: str) -> dict[str, MonthCounters]:
    """Every provider's counters of ``month``: one Query over gsi1, page by page."""
    raw: dict[str, dict[str, object]] = {}
    for item in paginate(store, f"{MONTH_INDEX_PREFIX}{month}", index="gsi1", limit=500):
        provider, metric = str(item["gsi1sk"]).split("#", 1)
        c = raw.setdefault(provider, {"provider_id": provider, "month": month, "done": {}, "on_time": {}})
        n = int(item.get("n") or 0)
        kind, _, node = metric.partition("#")
        if kind == "done" and node in TIMED_NODES:
            c["done"][node] = n  # type: ignore[index]
        elif kind == "ontime" and node in TIMED_NODES:
            c["on_time"][node] = n  # type: ignore[index]
        elif metric == "rating":
            c["rating_count"], c["rating_sum"] = n, int(item.get("total") or 0)
        elif metric in ("orders", "breaches", "exceptions", "complaints"):
            c[metric] = n
    return {k: MonthCounters.model_validate(v) for k, v in raw.items()}


# ---------------------------------------------------------------- ratings and complaints


def rating_key(appointment_id: str) -> tuple[str, str]:
    return appointment_key(appointment_id)[0], RATING_SK


def rating_item(r: Rating) -> Item:
    pk, sk = rating_key(r.appointment_id)
    return {"pk": pk, "sk": sk, "kind": "rating", "owner": r.provider_id, "data": r.model_dump_json()}


def load_rating(item: Item) -> Rating:
    from petcover.models.quality import Rating

    return Rating.model_validate_json(item["data"])


def complaint_item(c: Complaint) -> Item:
    return {
        "pk": timeline.work_order_pk(c.work_order_id),
        "sk": f"{COMPLAINT_PREFIX}{c.recorded_at.isoformat()}#{c.complaint_id}",
        "kind": "complaint",
        "owner": c.provider_id,
        "data": c.model_dump_json(),
    }


def complaints(store: Store, order_id: str) -> list[Complaint]:
    from petcover.models.quality import Complaint

    items = paginate(store, timeline.work_order_pk(order_id), sk_prefix=COMPLAINT_PREFIX)
    return [Complaint.model_validate_json(i["data"]) for i in items]


# ---------------------------------------------------------------- rules


def rules_head_key() -> tuple[str, str]:
    return RULES_PK, HEAD_SK


def rules_version_key(version: int) -> tuple[str, str]:
    return RULES_PK, f"V#{version:05d}"


def rules_items(v: QualityRulesVersion) -> tuple[Item, Item]:
    data = v.model_dump_json()
    head = {"pk": RULES_PK, "sk": HEAD_SK, "kind": "quality_rules", "version": v.version, "data": data}
    pk, sk = rules_version_key(v.version)
    return head, {"pk": pk, "sk": sk, "kind": "quality_rules", "version": v.version, "data": data}


def load_rules(item: Item | None) -> QualityRulesVersion:
    from petcover.models.quality import QualityRulesVersion

    if item is None:
        return QualityRulesVersion(version=0, rules=QualityRules())
    return QualityRulesVersion.model_validate_json(item["data"])


# ---------------------------------------------------------------- assessments


def assessment_pk(month: str) -> str:
    return f"QASSESS#{month}"


def assessment_item(a: Assessment) -> Item:
    return {
        "pk": assessment_pk(a.month),
        "sk": f"{PROVIDER_PREFIX}{a.provider_id}",
        "kind": "assessment",
        "owner": a.provider_id,
        "state": a.grade or "ungraded",
        "data": a.model_dump_json(),
    }


def run_key(month: str) -> tuple[str, str]:
    return assessment_pk(month), RUN_SK


def run_item(summary: MonthAssessment) -> Item:
    """The month's run, without the per-provider list (kept in their own items)."""
    data = summary.model_copy(update={"providers": []}).model_dump_json()
    return {"pk": assessment_pk(summary.month), "sk": RUN_SK, "kind": "assessment_run", "n": summary.runs, "data": data}


def load_run(item: Item) -> MonthAssessment:
    from petcover.models.quality import MonthAssessment

    return MonthAssessment.model_validate_json(item["data"])


def assessment_of(store: Store, month: str, provider_id: str) -> Assessment | None:
    item = store.get(assessment_pk(month), f"{PROVIDER_PREFIX}{provider_id}")
    return Assessment.model_validate(json.loads(item["data"])) if item else None


def assessments(store: Store, month: str) -> Iterator[Assessment]:
    for item in paginate(store, assessment_pk(month), sk_prefix=PROVIDER_PREFIX, limit=200):
        yield Assessment.model_validate(json.loads(item["data"]))


# ---------------------------------------------------------------- proposals and tiers


def proposal_key(proposal_id: str) -> tuple[str, str]:
    return f"QPROPOSAL#{proposal_id}", "PROPOSAL"


def proposal_item(prop: ShareProposal, version: int) -> Item:
    pk, sk = proposal_key(prop.proposal_id)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "share_proposal",
        "state": prop.state,
        "version": version,
        "data": prop.model_dump_json(),
    }


def load_proposal(item: Item) -> tuple[ShareProposal, int]:
    from petcover.models.quality import ShareProposal

    return ShareProposal.model_validate_json(item["data"]), int(item.get("version") or 1)


def tier_key(provider_id: str) -> tuple[str, str]:
    return f"QTIER#{provider_id}", "TIER"


def tier_put(provider_id: str, core: bool, source: str, at: datetime) -> Put:
    pk, sk = tier_key(provider_id)
    data = json.dumps({"core": core, "source": source, "at": at.isoformat()})
    return Put({"pk": pk, "sk": sk, "kind": "provider_tier", "state": "core" if core else "standard", "data": data})


def is_core(item: Item | None) -> bool:
    return item is not None and item.get("state") == "core"
