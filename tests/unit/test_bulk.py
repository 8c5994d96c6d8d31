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


def test_a_warm_container_reads_the_job_once_for_all_its_rows(fake_ports, monkeypatch):
    p = fake_ports
    catalogue(p, ("shop-a",))
    content = "account_id,holder_name\n" + "".join(f"acc-{i},Holder {i}\n" for i in range(5))
    req = BulkIssueRequest(channel_id="shop-a", product_code="account-security", plan_code="basic", content=content)
    job = bulk.start(p, STAFF, req)
    bulk.split(p, job.job_id)
    rows = [m for m in p.publisher.drain("bulk") if m["type"] == "row"]
    reads: list[str] = []
    real = bulk.bulk_repo.load_job
    monkeypatch.setattr(
        bulk.bulk_repo, "load_job", lambda store, job_id, **kw: reads.append(job_id) or real(store, job_id, **kw)
    )

    for m in rows:
        assert bulk.issue_row(p, m["job_id"], m["index"], m["row"]) == "issued"

    assert reads == [job.job_id]
    assert bulk.status(p, job.job_id).issued == 5
