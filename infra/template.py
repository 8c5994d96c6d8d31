"""Reads template.yaml: the one source of truth for tables, queues, schedules and routes.

Tests build their moto resources from it, the local tooling fires schedules from it, and the
OpenAPI generator walks its routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def parse(text: str) -> Any:
    """YAML with the CloudFormation short forms (!Ref X -> {"Ref": "X"})."""
    return yaml.load(text, Loader=_CfnLoader)


@lru_cache(maxsize=1)
def load() -> dict[str, Any]:
    return parse(TEMPLATE.read_text())  # type: ignore[no-any-return]


def resources(kind: str | None = None) -> dict[str, dict[str, Any]]:
    res = load()["Resources"]
    return {k: v for k, v in res.items() if kind is None or v["Type"] == kind}


def globals_env() -> dict[str, Any]:
    """What Globals give every function."""
    return dict(load()["Globals"]["Function"]["Environment"]["Variables"])


def function_env(function: str) -> dict[str, Any]:
    """What one function runs with: Globals, then its own Environment."""
    own = (functions()[function]["Properties"].get("Environment") or {}).get("Variables") or {}
    return {**globals_env(), **own}


def global_env() -> dict[str, Any]:
    """Every variable the template sets for some function (one name always has one value).

    In-process runs play every function at once (the moto tests, seeding the local cloud), so
    they are given all of them; on AWS each function gets only ``function_env``.
    """
    out = globals_env()
    for name in functions():
        for var, value in function_env(name).items():
            if out.setdefault(var, value) != value:
                raise ValueError(f"{var} has two values in template.yaml ({name})")
    return out


@dataclass(frozen=True)
class Route:
    function: str
    method: str
    path: str
    handler: str


@dataclass(frozen=True)
class Consumer:
    function: str
    queue: str
    handler: str
    batch_size: int


@dataclass(frozen=True)
class Schedule:
    function: str
    expression: str
    timezone: str | None
    handler: str


def functions() -> dict[str, dict[str, Any]]:
    return resources("AWS::Serverless::Function")


def routes() -> list[Route]:
    out = []
    for name, fn in functions().items():
        for ev in (fn["Properties"].get("Events") or {}).values():
            if ev["Type"] == "Api":
                p = ev["Properties"]
                out.append(Route(name, p["Method"].upper(), p["Path"], fn["Properties"]["Handler"]))
    return out


def consumers() -> list[Consumer]:
    out = []
    for name, fn in functions().items():
        for ev in (fn["Properties"].get("Events") or {}).values():
            if ev["Type"] == "SQS":
                queue = ev["Properties"]["Queue"]["Fn::GetAtt"][0]
                size = int(ev["Properties"].get("BatchSize", 10))
                out.append(Consumer(name, queue, fn["Properties"]["Handler"], size))
    return out


def _default(value: Any) -> Any:
    """A ``!Ref`` to a template parameter, as deployed with the parameter's default."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return load()["Parameters"].get(value["Ref"], {}).get("Default", value)
    return value


def schedules() -> list[Schedule]:
    out = []
    for name, fn in functions().items():
        for ev in (fn["Properties"].get("Events") or {}).values():
            if ev["Type"] in ("ScheduleV2", "Schedule"):
                p = ev["Properties"]
                out.append(
                    Schedule(
                        name,
                        p["ScheduleExpression"],
                        _default(p.get("ScheduleExpressionTimezone")),
                        fn["Properties"]["Handler"],
                    )
                )
    return out


def event_rules() -> list[tuple[str, dict[str, Any]]]:
    """(function, pattern) for EventBridge-triggered functions."""
    out = []
    for name, fn in functions().items():
        for ev in (fn["Properties"].get("Events") or {}).values():
            if ev["Type"] == "EventBridgeRule":
                out.append((name, ev["Properties"]["Pattern"]))
    return out


def subscriptions() -> list[tuple[str, str]]:
    """(function, topic logical id) for SNS-subscribed functions."""
    out = []
    for name, fn in functions().items():
        for ev in (fn["Properties"].get("Events") or {}).values():
            if ev["Type"] == "SNS":
                out.append((name, ev["Properties"]["Topic"]["Ref"]))
    return out


def alarms() -> dict[str, dict[str, Any]]:
    return resources("AWS::CloudWatch::Alarm")


def handler_module(handler: str) -> tuple[str, str]:
    module, _, attr = handler.rpartition(".")
    return module, attr
