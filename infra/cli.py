"""petcover command line for the local cloud (and any deployed stack with its base URL).

python -m infra.cli token --roles ops,admin [--sub alice]     mint an ops bearer token
python -m infra.cli curl POST /quotes '{"...": 1}'            a signed curl line (demo channel)
python -m infra.cli call POST /quotes '{"...": 1}'            sign, send and print the answer
python -m infra.cli call --as provider GET /work-orders       the same as the demo provider
python -m infra.cli bulk-issue FILE --channel C --product P --plan PLAN   upload, start, show progress
python -m infra.cli redrive-quota                              re-run quota deductions from the DLQ
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from typing import Any

from infra.credentials import curl_line, ops_token, portal_token
from infra.localcloud import default_cloud
from petcover.client import OpsClient, PetcoverClient


def _state() -> dict[str, Any]:
    cloud = default_cloud()
    stack = json.loads((cloud.run_dir / "stack.json").read_text())
    demo = json.loads((cloud.run_dir / "demo.json").read_text())
    return {"base": stack["api_base"], "demo": demo}


def bulk_issue(args: argparse.Namespace) -> int:
    st = _state()
    ops = OpsClient(st["base"], ops_token(["service"]))
    slot = ops.post("/ops/bulk-issues/uploads").json
    with open(args.file, "rb") as fh:
        data = fh.read()
    fmt = "jsonl" if args.file.endswith((".jsonl", ".ndjson")) else "csv"
    req = urllib.request.Request(
        slot["upload_url"], data=data, method="PUT", headers={"Content-Type": slot["content_type"]}
    )
    with urllib.request.urlopen(req, timeout=60):
        pass
    started = ops.post(
        "/ops/bulk-issues",
        json={
            "channel_id": args.channel,
            "product_code": args.product,
            "plan_code": args.plan,
            "format": fmt,
            "upload_id": slot["upload_id"],
        },
        idempotency_key=f"bulk-{slot['upload_id']}",
    )
    if started.status != 202:
        print(json.dumps(started.json, indent=2))
        return 1
    job = started.json["job_id"]
    t0 = time.time()
    while True:
        s = ops.get(f"/ops/bulk-issues/{job}").json
        done = s["issued"] + s["rejected"]
        total = max(s["accepted"], 1)
        bar = "#" * int(40 * done / total)
        sys.stdout.write(
            f"\r[{bar:<40}] {done}/{s['accepted']} issued={s['issued']} rejected={s['rejected']}"
            f" {time.time() - t0:5.1f}s"
        )
        sys.stdout.flush()
        if s["status"] == "done":
            print()
            for r in s["rejected_rows"][:20]:
                print(f"  row {r['index']} {r['account_id']}: {'; '.join(r['reasons'])}")
            return 0
        time.sleep(1)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="petcover")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("token")
    t.add_argument("--roles", default="admin")
    t.add_argument("--sub", default="cli")
    t.add_argument("--provider", help="a portal sign-in for this provider's staff instead of an ops token")
    t.add_argument("--insurer", help="a portal sign-in for this insurer's staff instead of an ops token")
    for name in ("curl", "call"):
        c = sub.add_parser(name)
        c.add_argument("--as", dest="who", choices=("channel", "provider"), default="channel")
        c.add_argument("method")
        c.add_argument("path")
        c.add_argument("body", nargs="?", default="")
    b = sub.add_parser("bulk-issue")
    b.add_argument("file")
    b.add_argument("--channel", default="demo-shop")
    b.add_argument("--product", default="account-security")
    b.add_argument("--plan", default="basic")
    sub.add_parser("redrive-quota")
    args = ap.parse_args(argv)
    if args.cmd == "token" and (args.provider or args.insurer):
        kind = "provider" if args.provider else "insurer"
        print(portal_token(args.provider or args.insurer, kind))
    elif args.cmd == "token":
        print(ops_token(args.roles.split(","), args.sub))
    elif args.cmd == "curl":
        st = _state()
        ch = st["demo"][args.who]
        print(curl_line(st["base"], ch["key_id"], ch["secret"], args.method.upper(), args.path, args.body))
    elif args.cmd == "call":
        st = _state()
        ch = st["demo"][args.who]
        # A function's first call on the emulator can take well over ten seconds (cold start).
        timeout = float(os.environ.get("PETCOVER_CLIENT_TIMEOUT", "120"))
        client = PetcoverClient(st["base"], ch["key_id"], ch["secret"], timeout=timeout)
        resp = client.request(
            args.method.upper(),
            args.path,
            json=json.loads(args.body) if args.body else None,
            idempotency_key=f"cli-{time.time_ns()}" if args.method.upper() == "POST" else None,
        )
        print(resp.status)
        print(json.dumps(resp.json, indent=2) if resp.json is not None else resp.body.decode())
    elif args.cmd == "bulk-issue":
        return bulk_issue(args)
    elif args.cmd == "redrive-quota":
        st = _state()
        resp = OpsClient(st["base"], ops_token(["ops"])).post("/ops/quota/redrive")
        print(resp.status, json.dumps(resp.json))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
