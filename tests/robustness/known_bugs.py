"""Product bugs the suite found and that are still open, with how to recognise their findings.

A fuzz finding that matches a known bug is reported (bench file, failures column) but does not
fail the fuzz run; each bug also has a dedicated reproduction marked ``xfail(strict=True)``, so
the day it is fixed that test fails and this entry has to go.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.robustness.fuzz import Finding


@dataclass(frozen=True)
class KnownBug:
    id: str
    owner: str
    text: str
    matches: Callable[[Finding], bool]


DEEP_JSON = KnownBug(
    "deep-json",
    "shared/petcover/api.py (`_run`)",
    "A deeply nested JSON body (e.g. 50,000 `[`, 50 KB, under the 256 KB limit) answers 500 INTERNAL on every "
    "operation with a body: `json.loads` raises RecursionError, which `_run` does not catch (it catches "
    "ValueError/UnicodeDecodeError only); expected 400 MALFORMED_JSON.",
    lambda f: f.check == "no 5xx" and ("[[[[" in f.request or '{"a":{"a"' in f.request),
)
BAD_CURSOR = KnownBug(
    "bad-cursor",
    "shared/petcover/storage/dynamo.py (`DynamoStore.query`)",
    "A malformed pagination `cursor` query parameter answers 500 INTERNAL on every paginated list "
    "(e.g. `GET /ops/webhooks/dead-letters?cursor=!!!`, `GET /ops/sla/reports?kind=summary&cursor=<non-ASCII>`, "
    "`GET /work-orders?cursor=...`): the cursor is base64-decoded and JSON-parsed without validation, and a "
    "decodable one that is not a key makes DynamoDB raise ValidationException; expected 400 INVALID_CURSOR.",
    lambda f: f.check == "no 5xx" and "cursor=" in f.request,
)
ALL = [DEEP_JSON, BAD_CURSOR]


def match(finding: Finding) -> KnownBug | None:
    return next((b for b in ALL if b.matches(finding)), None)


def describe(bug: KnownBug) -> str:
    return f"**{bug.id}** ({bug.owner}): {bug.text}"
