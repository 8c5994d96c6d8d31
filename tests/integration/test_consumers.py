"""The SQS entry point: partial batch failures and the correlation id hop."""

from petcover import runtime
from petcover.observability import correlation_id
from petcover.queues import queue_consumer
from tests.support import events


def test_partial_batch_failure_reports_only_the_failed_messages(aws):
    seen = []

    @queue_consumer("Test")
    def handler(p, body, record):
        seen.append((body["n"], correlation_id()))
        if body["n"] == 2:
            raise ValueError("boom")

    ev = events.sqs("BulkConsumeFunction", [{"n": 1}, {"n": 2}, {"n": 3}])
    out = handler(ev, None)
    assert out == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert [n for n, _ in seen] == [1, 2, 3]
    assert {cid for _, cid in seen} == {"sample-correlation"}
    assert runtime.ports() is not None
