from petcover.identity import Principal
from petcover.models.bulk import BulkIssueRequest
from petcover.services import bulk
from tests.support.fixtures import catalogue

STAFF = Principal("ops", "bob", ("service",))


def _drain(p) -> int:
    """Run every queued bulk message like the consumer would (rows may be redelivered)."""
    n = 0
    while msgs := p.publisher.drain("bulk"):
        for m in msgs:
            if m["type"] == "split":
                bulk.split(p, m["job_id"])
            else:
                bulk.issue_row(p, m["job_id"], m["index"], m["row"])
            n += 1
    return n


def test_csv_rows_are_issued_and_bad_rows_come_back_with_reasons(fake_ports):
    p = fake_ports
    catalogue(p, ("shop-a",))
    content = "account_id,holder_name\nacc-1,Ann\nacc-2,Ben\n,Nobody\nacc-1,Ann again\n"
    job = bulk.start(
        p,
        STAFF,
        BulkIssueRequest(channel_id="shop-a", product_code="account-security", plan_code="basic", content=content),
    )
    _drain(p)
    st = bulk.status(p, job.job_id)
    assert (st.accepted, st.issued, st.rejected, st.status) == (4, 2, 2, "done")
    reasons = {r.index: r.reasons for r in st.rejected_rows}
    assert any("account_id" in x for x in reasons[2])
    assert any("active" in x.lower() for x in reasons[3])  # one free cover per account


def test_redelivered_rows_do_not_issue_or_count_twice(fake_ports):
    p = fake_ports
    catalogue(p, ("shop-a",))
    lines = "\n".join(f'{{"account_id": "a{i}", "holder_name": "H{i}"}}' for i in range(20))
    job = bulk.start(
        p,
        STAFF,
        BulkIssueRequest(
            channel_id="shop-a", product_code="account-security", plan_code="basic", format="jsonl", content=lines
        ),
    )
    bulk.split(p, job.job_id)
    rows = [m for m in p.publisher.drain("bulk") if m["type"] == "row"]
    for m in rows + rows:  # every row delivered twice
        bulk.issue_row(p, m["job_id"], m["index"], m["row"])
    st = bulk.status(p, job.job_id)
    assert (st.accepted, st.issued, st.rejected) == (20, 20, 0)
    policies = [i for i in p.store.all_items() if i.get("kind") == "policy"]
    assert len(policies) == 20
