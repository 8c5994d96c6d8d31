"""What a handler loads when its container starts (issue 20: cold start).

Structure, not time: every handler module under functions/ is imported in a fresh interpreter
(the way Lambda loads it, tracing off as on the local stage) and the modules it pulled in are
checked. Heavy libraries load inside the function that uses them; a staff handler does not load
channel signatures; a handler that only builds keys does not load the models it does not read.
The figures themselves are in `make bench` (bench/results/cold_imports.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# Never loaded by importing any handler: each is loaded where it is used, on the call that uses it.
HEAVY = (
    "aws_xray_sdk",  # only when tracing is on: it makes two botocore clients as it loads
    "pydantic_settings",  # settings are a plain model (asyncio, ssl, argparse, dotenv otherwise)
    "boto3",  # clients are made by petcover.runtime on the first call that needs one
    "botocore.session",
    "botocore.client",
    "pynamodb",
    "jwt",
    "cryptography",
    "openpyxl",
    "reportlab",
    "matplotlib",
    "PIL",
    "requests",
)

# (handler, modules its operation does not use). A staff read of a product; a channel's policy query.
LIGHT = {
    "catalog.get_product": (
        "petcover.signing",
        "petcover.models.partners",
        "petcover.models.fulfilment",
        "petcover.services.policies",
    ),
    "policies.get_policy": ("petcover.models.partners", "petcover.models.fulfilment"),
}


def loaded_by(modules: list[str], env: dict[str, str] | None = None) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    base = {
        "PYTHONPATH": os.pathsep.join(str(ROOT / d) for d in ("shared", "functions", ".")),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env={**base, **(env or {})}, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout))


def handler_modules() -> list[str]:
    from infra import template

    return sorted({template.handler_module(f["Properties"]["Handler"])[0] for f in template.functions().values()})


def heavy_in(loaded: set[str]) -> list[str]:
    return sorted(h for h in HEAVY if h in loaded or any(m.startswith(h + ".") for m in loaded))


def test_no_handler_loads_a_heavy_library_at_import() -> None:
    # one interpreter importing all of them: what none of them loads together, none loads alone
    modules = handler_modules()
    assert len(modules) > 100
    assert heavy_in(loaded_by(modules)) == []


def test_a_light_handler_loads_only_its_operation() -> None:
    for handler, unused in LIGHT.items():
        loaded = loaded_by([handler])
        assert handler in loaded
        assert sorted(m for m in unused if m in loaded) == [], handler


def test_the_guard_sees_a_heavy_import() -> None:
    # the check itself can fail: a handler that pulls the SDK in is caught
    assert heavy_in(loaded_by(["catalog.get_product", "boto3"])) == ["boto3", "botocore.client", "botocore.session"]


def test_tracing_on_still_traces() -> None:
    on = {"POWERTOOLS_TRACE_DISABLED": "false", "LAMBDA_TASK_ROOT": str(ROOT)}
    loaded = loaded_by(["petcover.observability"], env=on)
    assert "aws_xray_sdk.core" in loaded


SHAPES_REPORT = (
    "import importlib, json, sys\n"
    "from pydantic import BaseModel\n"
    "for m in json.loads(sys.argv[1]):\n"
    "    importlib.import_module(m)\n"
    "def below(c):\n"
    "    for s in c.__subclasses__():\n"
    "        yield s\n"
    "        yield from below(s)\n"
    "ours = {c for c in below(BaseModel) if c.__module__.startswith('petcover.')}\n"
    "print(json.dumps({'shapes': len(ours),\n"
    "    'eager': sorted(c.__qualname__ for c in ours if not c.model_config.get('defer_build')),\n"
    "    'built': sorted(c.__qualname__ for c in ours if c.__pydantic_complete__)}))\n"
)


def shapes_after_importing(modules: list[str]) -> dict[str, Any]:
    env = {
        "PYTHONPATH": os.pathsep.join(str(ROOT / d) for d in ("shared", "functions", ".")),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    out = subprocess.run(
        [sys.executable, "-c", SHAPES_REPORT, json.dumps(modules)], env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout))


def test_every_shape_builds_its_validator_on_first_use_not_at_import() -> None:
    # Every handler imported at once: each shape they define derives from petcover.models.base.Model
    # (defer_build), and only the few that module code uses at import (defaults) are built.
    seen = shapes_after_importing(handler_modules())
    assert seen["shapes"] > 200
    assert seen["eager"] == []
    assert len(seen["built"]) <= 5, seen["built"]
