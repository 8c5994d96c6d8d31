"""The back-office console's build, uploaded to the document bucket under ``console/``.

    python -m infra.console upload --stack NAME     # after `sam deploy` on AWS (make deploy does)

The local cloud uploads it in ``LocalCloud.deploy``. The ConsoleFunction serves these files at
``/console`` on the API's own origin (petcover.services.console).
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "console" / "dist"


def files(dist: Path = DIST) -> list[tuple[str, Path]]:
    """(key, file) for every file of the build; index.html last, so a page never names missing files."""
    found = sorted((f"console/{p.relative_to(dist).as_posix()}", p) for p in dist.rglob("*") if p.is_file())
    return sorted(found, key=lambda kv: kv[0] == "console/index.html")


def upload(s3: Any, bucket: str, dist: Path = DIST, config: dict[str, Any] | None = None) -> int:
    """Puts the build into ``bucket``; returns how many files. Older hashed files stay for open pages.

    ``config.json`` tells the page where staff sign in: ``{"cognito": {"domain", "clientId"}}`` on
    AWS, ``{}`` locally (the sign-in links `make run` prints hand the page a token instead).
    """
    if not (dist / "index.html").exists():
        raise FileNotFoundError(f"{dist}/index.html is missing: build the console first (make console)")
    s3.put_object(
        Bucket=bucket,
        Key="console/config.json",
        Body=json.dumps(config or {}).encode(),
        ContentType="application/json",
    )
    count = 1
    for key, path in files(dist):
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=content_type)
        count += 1
    return count


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="infra.console")
    ap.add_argument("command", choices=["upload"])
    ap.add_argument("--stack", required=True)
    args = ap.parse_args(argv)
    import boto3

    cfn = boto3.client("cloudformation")
    bucket = cfn.describe_stack_resource(StackName=args.stack, LogicalResourceId="DocumentBucket")
    name = bucket["StackResourceDetail"]["PhysicalResourceId"]
    stack = cfn.describe_stacks(StackName=args.stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    config: dict[str, Any] = {}
    if outputs.get("StaffSignInDomain"):
        config["cognito"] = {"domain": outputs["StaffSignInDomain"], "clientId": outputs["StaffConsoleClientId"]}
    n = upload(boto3.client("s3"), name, config=config)
    print(f"uploaded {n} console files to s3://{name}/console/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
