import json

from tests.support import events


def test_health_reads_the_table(aws):
    from system import health

    resp = health.handler(events.api("HealthFunction"), None)
    assert resp["statusCode"] == 200
    body = json.loads(resp["body"])
    assert body["status"] == "ok"
    assert body["stage"] == "local"
    assert resp["headers"]["X-Correlation-Id"]


def test_health_reports_a_missing_table_as_error_body(aws, monkeypatch):
    from petcover import runtime
    from petcover.config import reset_settings
    from system import health

    monkeypatch.setenv("MAIN_TABLE", "no-such-table")
    reset_settings()
    runtime.install(None)
    resp = health.handler(events.api("HealthFunction"), None)
    assert resp["statusCode"] == 500
    body = json.loads(resp["body"])
    assert body["error"]["code"] == "INTERNAL"
    assert "Traceback" not in resp["body"]
