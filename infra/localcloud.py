"""The local cloud: ministack on loopback, the real template deployed with sam, demo data, a sink
and a mock insurer (``infra.mock_insurer``, docs/insurer-api.md).

    python -m infra.localcloud up        # start, build, deploy, seed; print where to point a client
    python -m infra.localcloud down      # stop everything it started
    python -m infra.localcloud fire FN   # run a scheduled (or any) function now with its sample event
                                         # (an SNS-subscribed one gets a fresh notification each time)
    python -m infra.localcloud sink      # what the webhook / chat sink received
    python -m infra.localcloud status

Set ``LOCALSTACK=1`` to deploy to a LocalStack already running on 127.0.0.1:4566 instead
(LocalStack now needs ``LOCALSTACK_AUTH_TOKEN`` in its own environment).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import bytecode, roles, runtime_provided, seed, template

ROOT = template.ROOT
TOOLS_BIN = Path(os.environ.get("PETCOVER_TOOLS_BIN", ROOT / ".tools" / "venv" / "bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _say(msg: str) -> None:
    print(f"[petcover] {msg}", flush=True)


@dataclass
class LocalCloud:
    port: int = 4566
    sink_port: int = 4599
    insurer_port: int = 4598
    stack: str = "petcover-local"
    run_dir: Path = ROOT / ".run" / "local"
    use_localstack: bool = False
    resources: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sink_url(self) -> str:
        return f"http://127.0.0.1:{self.sink_port}"

    @property
    def insurer_url(self) -> str:
        return f"http://127.0.0.1:{self.insurer_port}"

    @property
    def api_base(self) -> str:
        return f"{self.endpoint}/restapis/{self.outputs['ApiId']}/v1/_user_request_"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "SAM_CLI_TELEMETRY": "0",
            "GATEWAY_PORT": str(self.port),
            "BIND_HOST": "127.0.0.1",
            "MINISTACK_HOST": "127.0.0.1",
            "TMPDIR": str(self.run_dir),
        }

    # -------------------------------------------------------------- processes
    def _pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def _spawn(self, name: str, argv: list[str]) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log = (self.run_dir / f"{name}.log").open("w")
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=self.env(), start_new_session=True, cwd=ROOT
        )
        self._pidfile(name).write_text(str(proc.pid))

    def _wait(self, url: str, what: str, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{what} did not answer at {url} within {timeout:.0f}s")

    def start(self) -> None:
        self.stop(quiet=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not self.use_localstack:
            _say(f"starting ministack on {self.endpoint}")
            self._spawn(
                "ministack",
                [
                    str(TOOLS_BIN / "python"),
                    "-m",
                    "hypercorn",
                    "ministack.app:app",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--keep-alive",
                    "75",
                ],
            )
        self._wait(
            f"{self.endpoint}/_ministack/health" if not self.use_localstack else f"{self.endpoint}/_localstack/health",
            "the emulator",
        )
        _say(f"starting the webhook/chat sink on {self.sink_url}")
        self._spawn(
            "sink",
            [sys.executable, "-m", "infra.sink", str(self.sink_port), str(self.run_dir / "sink.jsonl")],
        )
        self._wait(f"{self.sink_url}/_sink/health", "the sink", 15)
        _say(f"starting the mock insurer on {self.insurer_url}")
        self._spawn("insurer", [sys.executable, "-m", "infra.mock_insurer", str(self.insurer_port)])
        self._wait(f"{self.insurer_url}/_mock/health", "the mock insurer", 15)

    def stop(self, quiet: bool = False) -> None:
        for name in ("insurer", "sink", "ministack"):
            pf = self._pidfile(name)
            if not pf.exists():
                continue
            pid = int(pf.read_text())
            try:
                os.killpg(pid, signal.SIGTERM)
                for _ in range(50):
                    os.killpg(pid, 0)
                    time.sleep(0.1)
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            pf.unlink(missing_ok=True)
            if not quiet:
                _say(f"stopped {name}")

    # -------------------------------------------------------------- deploy
    def deploy(self) -> None:
        env = self.env()
        _say("sam build (no container)")
        t0 = time.time()
        # Each cloud builds into its own folder, so a test session, a bench and `make run` can build at once.
        build_dir = self.run_dir / "build"
        subprocess.run(
            [
                str(TOOLS_BIN / "sam"),
                "build",
                "--parallel",
                "--cached",
                "--template",
                "template.yaml",
                "--build-dir",
                str(build_dir),
                "--cache-dir",
                str(self.run_dir / "cache"),
            ],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        _say(f"built in {time.time() - t0:.1f}s; {prepare_build(build_dir)}; sam deploy to {self.endpoint}")
        t1 = time.time()
        overrides = [
            "Stage=local",
            f"OpsChatUrl={self.sink_url}/chat/ops",
            f"MailSinkUrl={self.sink_url}/mail",
        ]
        result = subprocess.run(
            [
                str(TOOLS_BIN / "sam"),
                "deploy",
                "--template-file",
                str(build_dir / "template.yaml"),
                "--stack-name",
                self.stack,
                "--resolve-s3",
                "--capabilities",
                "CAPABILITY_IAM",
                "CAPABILITY_AUTO_EXPAND",
                "--no-confirm-changeset",
                "--no-fail-on-empty-changeset",
                "--parameter-overrides",
                *overrides,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
            raise RuntimeError("sam deploy failed")
        _say(f"deployed in {time.time() - t1:.1f}s")
        self.describe()
        self.upload_console()

    def upload_console(self) -> None:
        """The console's build into the document bucket (served at /console); skipped if not built."""
        from infra import console

        if not (console.DIST / "index.html").exists():
            _say("console not built (make console): /console will answer CONSOLE_NOT_DEPLOYED")
            return
        n = console.upload(self._boto("s3"), self.resources["DocumentBucket"])
        _say(f"console: {n} files uploaded")

    def _boto(self, service: str) -> Any:
        import boto3

        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def describe(self) -> None:
        cfn = self._boto("cloudformation")
        stack = cfn.describe_stacks(StackName=self.stack)["Stacks"][0]
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        self.resources = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cfn.describe_stack_resources(StackName=self.stack)["StackResources"]
        }
        (self.run_dir / "stack.json").write_text(
            json.dumps(
                {
                    "endpoint": self.endpoint,
                    "sink": self.sink_url,
                    "insurer": self.insurer_url,
                    "api_base": self.api_base,
                    "stack": self.stack,
                    "outputs": self.outputs,
                    "resources": self.resources,
                },
                indent=2,
            )
        )

    def function_env(self) -> dict[str, str]:
        """The Globals environment resolved against the deployed stack (for seeding and tests)."""
        env: dict[str, str] = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "STAGE": "local",
            "OPS_CHAT_URL": f"{self.sink_url}/chat/ops",
            "MAIL_SINK_URL": f"{self.sink_url}/mail",
        }
        sqs = self._boto("sqs")
        for var, value in template.global_env().items():
            if isinstance(value, dict) and "Ref" in value and value["Ref"] in self.resources:
                ref = value["Ref"]
                phys = self.resources[ref]
                if template.resources().get(ref, {}).get("Type") == "AWS::SQS::Queue" and not phys.startswith("http"):
                    phys = sqs.get_queue_url(QueueName=phys.rsplit("/", 1)[-1])["QueueUrl"]
                env[var] = phys
        return env

    def load(self) -> LocalCloud:
        data = json.loads((self.run_dir / "stack.json").read_text())
        self.outputs, self.resources = data["outputs"], data["resources"]
        return self

    # -------------------------------------------------------------- operations
    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        lam = self._boto("lambda")
        name = self.resources.get(function, function)
        resp = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
        payload = resp["Payload"].read()
        return json.loads(payload) if payload else None

    def fire(self, function: str) -> Any:
        path = ROOT / "events" / f"{function}.json"
        event = json.loads(path.read_text()) if path.exists() else {}
        if "time" in event:
            event["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for record in event.get("Records") or []:
            if "Sns" in record:  # a new notification each time: the forwarder posts each message id once
                fresh_notification(record["Sns"])
        return self.invoke(function, event)

    def sink_requests(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.sink_url}/_sink/requests", timeout=5) as r:
            return json.loads(r.read())  # type: ignore[no-any-return]


def fresh_notification(sns: dict[str, Any]) -> None:
    """The sample SNS notification as if published now: a new message id and times (an alarm's too)."""
    now = time.time()
    sns["MessageId"] = str(uuid.uuid4())
    sns["Timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now))
    try:
        message = json.loads(sns.get("Message") or "")
    except ValueError:
        return
    if isinstance(message, dict) and "StateChangeTime" in message:
        message["StateChangeTime"] = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(now))
        sns["Message"] = json.dumps(message, ensure_ascii=False)


def prepare_build(build_dir: Path) -> str:
    """What `make deploy` does between `sam build` and `sam deploy` too: shared roles, the runtime's
    SDK left out of the layers, bytecode."""
    shared = roles.share(build_dir / "template.yaml")
    left_out = runtime_provided.trim(build_dir)
    compiled = bytecode.compile_build(build_dir)[0]
    return f"{shared}; {left_out} runtime files left out; {compiled} folders in bytecode"


def default_cloud() -> LocalCloud:
    return LocalCloud(
        port=int(os.environ.get("PETCOVER_PORT", "4566")),
        sink_port=int(os.environ.get("PETCOVER_SINK_PORT", "4599")),
        insurer_port=int(os.environ.get("PETCOVER_INSURER_PORT", "4598")),
        use_localstack=os.environ.get("LOCALSTACK") == "1",
        run_dir=Path(os.environ.get("PETCOVER_RUN_DIR") or ROOT / ".run" / "local"),
    )


def up(cloud: LocalCloud) -> None:
    t0 = time.time()
    cloud.start()
    cloud.deploy()
    _say("seeding demo data")
    demo = seed.seed(cloud)
    (cloud.run_dir / "demo.json").write_text(json.dumps(demo, indent=2))
    _say(f"ready in {time.time() - t0:.0f}s")
    print(seed.banner(cloud, demo), flush=True)


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "up"
    cloud = default_cloud()
    if cmd == "up":
        up(cloud)
        if "--wait" in argv:
            _say("running; Ctrl-C stops everything")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                cloud.stop()
    elif cmd == "down":
        cloud.stop()
    elif cmd == "fire":
        cloud.load()
        print(json.dumps(cloud.fire(argv[1]), indent=2))
    elif cmd == "sink":
        for r in cloud.sink_requests():
            print(json.dumps(r))
    elif cmd == "status":
        cloud.load()
        print(json.dumps({"api_base": cloud.api_base, "sink": cloud.sink_url, "insurer": cloud.insurer_url}, indent=2))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
