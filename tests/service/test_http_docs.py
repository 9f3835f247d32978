"""Every request/response example in docs/http.md runs, in order, against a fresh service.

A `<!-- request: NAME -->` block is sent as written; the `<!-- response: NAME -->` block after it
must match the answer:

- the status line's code, and every header shown;
- a JSON body matches when every key shown matches (keys not shown are allowed), a list when
  its elements match in order (a final `"..."` allows more), and `"..."` matches any value;
- `$NAME` is replaced by its value: the keys ($ADMIN_KEY, $REVIEWER_KEY, $DEPARTMENT_KEY) and
  $PACKAGE_TXT (examples/yueyang-kjj-2023/package.txt) are given; any other `$NAME` in a
  response is bound to what the answer holds there, and must hold the same value later;
- a text body (/metrics) matches when every line shown appears in the answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from engine.rubric.registry import REPO_ROOT
from tests.service.conftest import PACKAGE_TXT, Service

DOC = REPO_ROOT / "docs" / "http.md"
_BLOCK = re.compile(r"<!-- (request|response): ([\w-]+) -->\n```\w*\n(.*?)```", re.S)
_VAR = re.compile(r"\$([A-Z][A-Z0-9_]*)")


@dataclass
class Message:
    """A request or response block: its first line, headers and body."""

    first: str
    headers: dict[str, str]
    body: str


def _parse(block: str) -> Message:
    head, _, body = block.partition("\n\n")
    first, *lines = head.splitlines()
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Message(first.strip(), headers, body.strip())


def examples() -> list[tuple[str, Message, Message]]:
    """(name, request, response) pairs in document order."""
    blocks = _BLOCK.findall(DOC.read_text("utf-8"))
    out = []
    for (kind, name, req), (kind2, name2, resp) in zip(blocks[::2], blocks[1::2], strict=True):
        assert (kind, kind2) == ("request", "response"), (name, name2)
        assert name == name2, (name, name2)
        out.append((name, _parse(req), _parse(resp)))
    return out


class Bindings(dict[str, Any]):
    """$NAME values: given, and bound from earlier answers."""

    def substitute(self, text: str) -> str:
        """Every bound $NAME replaced (JSON-escaped when inside a JSON string)."""
        return _VAR.sub(lambda m: str(self[m.group(1)]) if m.group(1) in self else m.group(0), text)

    def match(self, shown: Any, actual: Any, where: str) -> None:
        """Assert that `actual` matches the documented `shown` (see the module docstring)."""
        if shown == "...":
            return
        if isinstance(shown, str) and (var := re.fullmatch(r"\$([A-Z][A-Z0-9_]*)", shown)):
            name = var.group(1)
            if name in self:
                assert actual == self[name], f"{where}: ${name} is {self[name]!r}, got {actual!r}"
            else:
                self[name] = actual
            return
        if isinstance(shown, dict):
            assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
            for key, value in shown.items():
                assert key in actual, f"{where}: no key {key!r} in {sorted(actual)}"
                self.match(value, actual[key], f"{where}.{key}")
            return
        if isinstance(shown, list):
            assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
            open_ended = bool(shown) and shown[-1] == "..."
            items = shown[:-1] if open_ended else shown
            if not open_ended:
                assert len(actual) == len(items), (
                    f"{where}: {len(actual)} items, shown {len(items)}"
                )
            assert len(actual) >= len(items), f"{where}: only {len(actual)} items"
            for i, value in enumerate(items):
                self.match(value, actual[i], f"{where}.{i}")
            return
        if isinstance(shown, str) and "$" in shown:
            shown = self.substitute(shown)
        assert actual == shown, f"{where}: documented {shown!r}, got {actual!r}"


def test_the_examples_in_docs_http_md_run(svc: Service) -> None:
    found = examples()
    assert len(found) >= 10
    bindings = Bindings(
        ADMIN_KEY=svc.keys.admin,
        REVIEWER_KEY=svc.keys.reviewer,
        DEPARTMENT_KEY=svc.keys.department,
        PACKAGE_TXT=json.dumps(PACKAGE_TXT, ensure_ascii=False)[1:-1],
    )
    for name, request, response in found:
        method, target, *_ = bindings.substitute(request.first).split()
        headers = {k: bindings.substitute(v) for k, v in request.headers.items()}
        body = bindings.substitute(request.body).encode("utf-8") if request.body else None
        answer = svc.client.request(method, target, headers=headers, content=body)
        status = int(response.first.split()[1])
        assert answer.status_code == status, f"{name}: {answer.status_code} {answer.text[:2000]}"
        # The body first: it binds the names ($ID) that headers (Location) then use.
        if response.headers.get("content-type", "").startswith("text/plain"):
            for line in response.body.splitlines():
                if line != "...":
                    assert line in answer.text, f"{name}: no line {line!r}"
        elif response.body:
            bindings.match(json.loads(response.body), answer.json(), name)
        for header, value in response.headers.items():
            bindings.match(value, answer.headers.get(header), f"{name} header {header}")


def test_every_endpoint_has_an_example() -> None:
    shown = {(r.first.split()[0], r.first.split()[1].split("?")[0]) for _n, r, _a in examples()}
    routes = {(m, re.sub(r"\$[A-Z_]+|[0-9a-f-]{36}", "{}", p)) for m, p in shown}
    expected = {
        ("POST", "/v1/evaluations"),
        ("GET", "/v1/evaluations"),
        ("GET", "/v1/evaluations/{}"),
        ("POST", "/v1/evaluations/{}/adjustments"),
        ("GET", "/v1/evaluations/{}/audit"),
        ("POST", "/v1/evaluations/{}/replay"),
        ("GET", "/v1/rubrics"),
        ("GET", "/v1/rubrics/yueyang-fujian5/versions/2024.1"),
        ("POST", "/v1/keys"),
        ("GET", "/v1/keys"),
        ("DELETE", "/v1/keys/{}"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/v1/evaluations/{}/explain"),
        ("GET", "/v1/seasons/2023/results.csv"),
        ("POST", "/v1/seasons/2023/sample"),
        ("GET", "/v1/seasons/2023/sample"),
    }
    assert expected <= routes, expected - routes
