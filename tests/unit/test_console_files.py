"""The console's files: which file a URL names, their types and caching, and what is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from petcover.errors import InvalidInput, NotFound
from petcover.services import console

INDEX = b"<!doctype html><title>petcover</title>"


def _event(proxy: str | None) -> dict[str, Any]:
    return {
        "httpMethod": "GET",
        "resource": "/console/{proxy+}" if proxy is not None else "/console",
        "path": f"/console/{proxy or ''}",
        "pathParameters": {"proxy": proxy} if proxy is not None else None,
        "headers": {},
        "requestContext": {"requestId": "r-1"},
    }


@pytest.fixture
def deployed(fake_ports: Any) -> Any:
    fake_ports.blobs.put_bytes("console/index.html", INDEX, "text/html")
    fake_ports.blobs.put_bytes("console/assets/index-abc123.js", b"console.log(1)", "text/javascript")
    fake_ports.blobs.put_bytes("console/assets/index-abc123.css", b"body{}", "text/css")
    return fake_ports


@pytest.mark.parametrize(
    ("proxy", "name"),
    [
        (None, "index.html"),
        ("", "index.html"),
        ("/", "index.html"),
        ("work-orders", "index.html"),
        ("work-orders/AP123/", "index.html"),
        ("claims/CL-1", "index.html"),
        ("assets/index-abc123.js", "assets/index-abc123.js"),
        ("index.html", "index.html"),
    ],
)
def test_routes_of_the_application_answer_with_its_page(proxy: str | None, name: str) -> None:
    assert console.file_name(proxy) == name


@pytest.mark.parametrize("proxy", ["../template.yaml", "assets/../../x.js", "a//b.js", "assets\\x.js", "./x.js"])
def test_paths_that_climb_or_are_odd_are_refused(proxy: str) -> None:
    with pytest.raises(InvalidInput) as err:
        console.file_name(proxy)
    assert err.value.code == "INVALID_CONSOLE_PATH"


def test_hashed_files_are_cached_for_a_year_and_the_page_is_revalidated(deployed: Any) -> None:
    js = console.get_file(deployed, "assets/index-abc123.js")
    assert js.content_type.startswith("text/javascript")
    assert "immutable" in js.cache_control
    assert js.text == "console.log(1)"
    page = console.get_file(deployed, "dispatch")
    assert page.content_type.startswith("text/html")
    assert page.cache_control == "no-cache"
    assert page.text == INDEX.decode()


def test_a_missing_file_is_404_and_an_unknown_type_is_never_served(deployed: Any) -> None:
    with pytest.raises(NotFound) as err:
        console.get_file(deployed, "assets/missing.js")
    assert err.value.code == "CONSOLE_FILE_NOT_FOUND"
    deployed.blobs.put_bytes("console/secret.py", b"x", "text/plain")
    with pytest.raises(NotFound):
        console.get_file(deployed, "secret.py")


def test_before_the_console_is_uploaded_the_page_says_so(fake_ports: Any) -> None:
    with pytest.raises(NotFound) as err:
        console.get_file(fake_ports, None)
    assert err.value.code == "CONSOLE_NOT_DEPLOYED"


def test_the_handler_answers_with_the_file_its_type_and_caching(deployed: Any) -> None:
    from console import serve

    css = serve.handler(_event("assets/index-abc123.css"), None)
    assert css["statusCode"] == 200
    assert css["headers"]["Content-Type"] == "text/css; charset=utf-8"
    assert css["headers"]["Cache-Control"] == "public, max-age=31536000, immutable"
    assert css["body"] == "body{}"
    root = serve.handler(_event(None), None)
    assert root["statusCode"] == 200 and root["body"] == INDEX.decode()
    climb = serve.handler(_event("../x.js"), None)
    assert climb["statusCode"] == 400
    assert json.loads(climb["body"])["error"]["code"] == "INVALID_CONSOLE_PATH"
