"""A small fake Overpass API server speaking the real wire format, on a free loopback port.

``POST /api/interpreter`` with a form body ``data=<Overpass QL>`` (or ``GET /api/interpreter?data=…``)
answers like overpass-api.de: ``200`` with ``{"version": 0.6, "generator": …, "osm3s": {…},
"elements": [...]}`` holding the elements inside the query's global ``[bbox:south,west,north,east]``;
``400`` with an HTML error page for a query that is not ``[out:json]``; and, on demand, ``429 Too Many
Requests`` / ``504 Gateway Timeout`` with ``Retry-After``, or a ``200`` whose ``remark`` reports a runtime
error after part of the elements (what Overpass sends when a query runs out of time or memory).
It records every request (method, headers, query) for assertions.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

GENERATOR = "Overpass API 0.7.62.1 084b4234"
COPYRIGHT = (
    "The data included in this document is from www.openstreetmap.org. The data is made available under ODbL."
)
_BBOX = re.compile(r"\[bbox:([-\d.]+),([-\d.]+),([-\d.]+),([-\d.]+)\]")


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    user_agent: str
    content_type: str
    query: str


@dataclass
class FakeOverpass:
    """The server's data and behaviour; change ``failures`` between requests to script an outage."""

    elements: list[dict[str, Any]]
    failures: list[tuple[int, str | None]] = field(default_factory=list)
    """Answers to give first, in order: ``(status, Retry-After)``; status 200 = a runtime-error remark."""
    requests: list[Seen] = field(default_factory=list)
    url: str = ""

    def answer(self, query: str) -> tuple[int, dict[str, str], bytes]:
        if not query.lstrip().startswith("[out:json]"):
            page = (
                "<html><body><p><strong>Error</strong>: line 1: parse error: not [out:json]</p></body></html>"
            )
            return 400, {"Content-Type": "text/html; charset=utf-8"}, page.encode()
        if self.failures:
            status, retry_after = self.failures.pop(0)
            if status != 200:
                headers = {"Content-Type": "text/html; charset=utf-8"}
                if retry_after is not None:
                    headers["Retry-After"] = retry_after
                reason = {429: "Too Many Requests", 504: "Gateway Timeout"}.get(status, "Error")
                return status, headers, f"<html><body><h1>{status} {reason}</h1></body></html>".encode()
            doc = self._document(query)
            doc["elements"] = doc["elements"][:1]
            doc["remark"] = 'runtime error: Query timed out in "query" at line 3 after 181 seconds.'
            return 200, {"Content-Type": "application/json"}, json.dumps(doc).encode()
        return 200, {"Content-Type": "application/json"}, json.dumps(self._document(query)).encode()

    def _document(self, query: str) -> dict[str, Any]:
        box = _BBOX.search(query)
        south, west, north, east = (float(v) for v in box.groups()) if box else (-90.0, -180.0, 90.0, 180.0)

        def inside(element: dict[str, Any]) -> bool:
            point = element.get("center") or element
            return south <= float(point["lat"]) <= north and west <= float(point["lon"]) <= east

        return {
            "version": 0.6,
            "generator": GENERATOR,
            "osm3s": {"timestamp_osm_base": "2026-11-30T06:00:00Z", "copyright": COPYRIGHT},
            "elements": [e for e in self.elements if inside(e)],
        }


def _handler(fake: FakeOverpass) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, query: str) -> None:
            self.requests_seen(query)
            if urlsplit(self.path).path != "/api/interpreter":
                self.send_response(404)
                self.end_headers()
                return
            status, headers, body = fake.answer(query)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def requests_seen(self, query: str) -> None:
            fake.requests.append(
                Seen(
                    self.command,
                    self.path,
                    self.headers.get("User-Agent", ""),
                    self.headers.get("Content-Type", ""),
                    query,
                )
            )

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode("utf-8"))
            self._serve(form.get("data", [""])[0])

        def do_GET(self) -> None:
            self._serve(parse_qs(urlsplit(self.path).query).get("data", [""])[0])

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def serve(elements: list[dict[str, Any]]) -> Iterator[FakeOverpass]:
    """Run a fake Overpass server until the block ends; ``fake.url`` is its ``/api/interpreter`` URL."""
    fake = FakeOverpass(elements)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/api/interpreter"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
