"""How infra.reach and infra.facts read code, on a small made-up code base: what a handler can
reach, and what it sends, emits, stores or reads on the way."""

from pathlib import Path
from textwrap import dedent

import pytest

from infra.grants import Analysis

LAYER = {
    "__init__.py": "",
    "names.py": 'ALERTS = "alert"\n',
    "report_keys.py": 'def daily(day):\n    return {"png": f"reports/charts/{day}.png"}\n',
    "outbox.py": """
        def message(p, *, body, queue=None, detail_type=None):
            return body

        def _publish(p, d):
            if d["queue"]:
                p.publisher.send(d["queue"], [d])
            else:
                p.publisher.emit(d["detail_type"], [d])

        def release(p, d):
            _publish(p, d)

        def sweep(p):
            for d in p.store.query("OUTBOX"):
                _publish(p, d)
    """,
    "work.py": """
        from petcover import outbox, report_keys
        from petcover.names import ALERTS

        def book(p):
            outbox.message(p, queue="dispatch", body={})
            outbox.release(p, {})

        def cancel(p):
            outbox.message(p, detail_type="Cancelled", body={})
            outbox.release(p, {})

        def _deduction(p):
            return outbox.message(p, queue="quota", body={})

        def fulfil(p):
            _deduction(p)
            outbox.release(p, {})

        def alert(p):
            p.publisher.send(ALERTS, [{}])

        def never_called(p):
            p.publisher.send("bulk", [])

        def _key(day):
            return f"reports/daily/{day}.csv"

        def write(p, day):
            keys = {"csv": _key(day), "json": f"reports/daily/{day}.json"}
            p.blobs.put_bytes(keys["csv"], b"", "text/csv")
            p.blobs.put_bytes(report_keys.daily(day)["png"], b"", "image/png")

        def read(p, item):
            return p.blobs.get_bytes(item["ref"])

        def redrive(sqs, settings):
            move(sqs, settings.quota_dlq_url, settings.quota_queue_url)

        def move(sqs, source, target):
            sqs.receive_message(QueueUrl=source)
            sqs.send_message_batch(QueueUrl=target, Entries=[])

        def chat(settings):
            return settings.ops_chat_url

        def _notify(p, queue, body):
            p.publisher.send(queue, [body])

        def remind(p):
            _notify(p, "alert", {})
    """,
    "odd.py": """
        def read(p, item):
            return p.blobs.get_bytes(item["ref"])

        def post(sender):
            sender.send("x")
    """,
}
HANDLERS = {
    "book": "def handler(p):\n    from petcover import work\n    work.book(p)\n    work.alert(p)\n",
    "cancel": "from petcover import work\n\ndef handler(p):\n    work.cancel(p)\n",
    "fulfil": "from petcover import work\n\ndef handler(p):\n    work.fulfil(p)\n",
    "sweep": "from petcover import outbox\n\ndef handler(p):\n    return outbox.sweep(p)\n",
    "report": "from petcover import work\n\ndef handler(p):\n    work.write(p, 'd')\n    work.read(p, {})\n",
    "redrive": "from petcover import work\n\ndef handler(p):\n    work.redrive(None, None)\n",
    "dynamic": (
        "import importlib\n\ndef handler(p):\n    return importlib.import_module('petcover.work').chat(None)\n"
    ),
    "remind": "from petcover import work\n\ndef handler(p):\n    work.remind(p)\n",
    "odd": "from petcover import odd\n\ndef handler(p):\n    odd.read(p, {})\n    odd.post(None)\n",
}


@pytest.fixture(scope="module")
def code(tmp_path_factory) -> Analysis:
    root: Path = tmp_path_factory.mktemp("code")
    for name, text in LAYER.items():
        path = root / "shared" / "petcover" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text))
    (root / "functions" / "area").mkdir(parents=True)
    (root / "functions" / "area" / "__init__.py").write_text("")
    for name, text in HANDLERS.items():
        (root / "functions" / "area" / f"{name}.py").write_text(text)
    return Analysis([root / "shared", root / "functions"])


def uses(code: Analysis, handler: str) -> set[tuple[str, str]]:
    return {(u.kind, u.target) for u in code.uses(f"area.{handler}", "handler")}


def test_sends_are_found_through_function_level_imports_and_imported_constants(code):
    assert uses(code, "book") == {("queue", "dispatch"), ("queue", "alert")}


def test_a_queue_name_passed_as_an_argument_is_followed_to_the_callers(code):
    assert uses(code, "remind") == {("queue", "alert")}


def test_what_a_handler_never_names_is_not_reached(code):
    assert ("queue", "bulk") not in uses(code, "book")


def test_an_outbox_writer_relays_only_its_own_messages(code):
    assert uses(code, "cancel") == {("events", "Cancelled")}


def test_a_releaser_whose_messages_are_written_by_what_it_calls_relays_only_those(code):
    assert uses(code, "fulfil") == {("queue", "quota")}


def test_the_sweeper_relays_every_outbox_message(code):
    assert uses(code, "sweep") == {("queue", "dispatch"), ("events", "Cancelled"), ("queue", "quota")}


def test_blob_keys_resolve_to_their_literal_prefix_and_data_keys_to_their_module_prefix(code):
    assert uses(code, "report") == {
        ("s3:PutObject", "reports/daily/"),
        ("s3:PutObject", "reports/charts/"),
        ("s3:GetObject", "reports/"),
        ("s3:ListBucket", "reports/"),
    }


def test_queue_urls_are_followed_into_the_parameters_of_the_function_using_them(code):
    assert uses(code, "redrive") == {
        ("setting", "quota_dlq_url"),
        ("setting", "quota_queue_url"),
        ("sqs:poll", "quota_dlq"),
        ("sqs:send", "quota"),
    }


def test_a_literal_import_module_is_followed(code):
    assert uses(code, "dynamic") == {("setting", "ops_chat_url")}


def test_what_cannot_be_told_is_reported(code):
    problems = sorted(u.target for u in code.uses("area.odd", "handler") if u.kind == "problem")
    assert problems == [
        "cannot tell whether .send() is the publisher; call p.publisher.send",
        "get_bytes: cannot tell which keys; build the key from a literal prefix",
    ]
