"""The stub's HTTP side: read each request, record it, pick a fault or a reply, and write it.

`StubServer` (server.py) adds the settings, the scripting and the lifecycle on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from selfinstruct.testing.faults import Fault, Window
from selfinstruct.testing.responses import (
    REASONS,
    ReplyFn,
    completion,
    error_body,
    head,
    limit_headers,
    mangled,
    refused_format,
    too_many,
)
from selfinstruct.testing.thinking import Thinking


@dataclass
class Recorded:
    """One request as it arrived: seconds since start, method, path, JSON body, headers."""

    at: float
    method: str
    path: str
    body: Any
    headers: dict[str, str]


class RequestHandler:
    """Answers the requests of one stub endpoint; the attributes are set by `StubServer`."""

    host: str
    port: int
    model: str
    latency: float
    jitter: float
    token_latency: float
    seed: int
    reply: ReplyFn | None
    fault_fn: Callable[[int], Fault | None] | None
    faults: deque[Fault]
    windows: list[Window]
    max_in_flight: int | None
    rps: float | None
    retry_after: str
    record: bool
    diverse: bool
    journal: IO[str] | None
    gather: int | None
    thinking: Thinking | None
    formats: frozenset[str] | None
    format_status: int
    requests: list[Recorded]
    count: int
    in_flight: int
    peak_in_flight: int
    statuses: dict[int | str, int]
    _gathered: asyncio.Event | None
    _started: float
    _recent: deque[float]
    _writers: set[asyncio.StreamWriter]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def now(self) -> float:
        """Seconds since the server started (the clock of `Recorded.at` and windows)."""
        return time.monotonic() - self._started

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            keep = True
            while keep:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                raw = await reader.readexactly(length) if length else b""
                keep = await self._request(method, path, headers, raw, writer)
                keep = keep and headers.get("connection", "").lower() != "close"
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ValueError,
        ):
            pass
        except asyncio.CancelledError:
            pass  # the server is shutting down (asyncio would log a cancelled handler)
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _request(
        self, method: str, path: str, headers: dict[str, str], raw: bytes, writer: Any
    ) -> bool:
        """Answer one request; False when the connection must close."""
        number, self.count = self.count, self.count + 1
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if self.record:
            self.requests.append(Recorded(self.now(), method, path, body, headers))
        if self.journal is not None and method == "POST":
            line = {"at": time.time(), "url": self.url, "path": path, "body": body}
            self.journal.write(json.dumps(line, ensure_ascii=False) + "\n")
        fault = self._fault(number)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if fault is not None:
                return await self._misbehave(fault, path, headers, body, writer)
            route = path.split("?", 1)[0]  # a base URL may carry a query (?key=..., Azure's)
            if method == "GET" and route.rstrip("/").endswith("/models"):
                model = {"id": self.model, "object": "model", "created": 0, "owned_by": "stub"}
                return await self._send(writer, 200, {"object": "list", "data": [model]})
            if method != "POST" or not route.endswith("completions"):
                return await self._send(
                    writer, 404, error_body(f"no route {method} {path}", "", False)
                )
            if not isinstance(body, dict):
                return await self._send(
                    writer, 400, error_body("body is not a JSON object", "", False)
                )
            refused = self.thinking.refusal(body) if self.thinking is not None else None
            if refused is not None:
                error = {"message": refused[1], "type": "invalid_request_error"}
                error |= {"param": refused[0], "code": "unsupported_parameter"}
                return await self._send(writer, 400, {"error": error})
            unsupported = refused_format(self.formats, self.format_status, body)
            if unsupported is not None:
                error_json = error_body(unsupported, "", False)
                return await self._send(writer, self.format_status, error_json)
            payload, tokens = completion(self, route, body, number)
            await self._wait_for_gather()
            delay = self.latency + self.token_latency * tokens
            if self.jitter:
                delay += random.Random(self.seed * 1_000_003 + number).uniform(0, self.jitter)
            if delay > 0:
                await asyncio.sleep(delay)
            return await self._send(
                writer, 200, payload, limit_headers(self.rps, self._recent, self.now())
            )
        finally:
            self.in_flight -= 1

    async def _wait_for_gather(self) -> None:
        """Hold this request until `gather` requests are in flight together (see __init__)."""
        if self.gather is None:
            return
        if self._gathered is None:
            self._gathered = asyncio.Event()
        if self.in_flight >= self.gather:
            self._gathered.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._gathered.wait(), 60)

    def _fault(self, number: int) -> Fault | None:
        """The fault for request `number`: a window, the queue, `fault_fn`, then rate limits."""
        now = self.now()
        for window in self.windows:
            if window.start <= now < window.end:
                return window.fault
        if self.faults:
            return self.faults.popleft()
        if self.fault_fn is not None:
            fault = self.fault_fn(number)
            if fault is not None:
                return fault
        if self.max_in_flight is not None and self.in_flight >= self.max_in_flight:
            return Fault.http(429, self.retry_after, echo_auth=False)
        if self.rps is not None:
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.rps:
                return too_many(self.rps, self.retry_after, reset=self._recent[0] + 1.0 - now)
            self._recent.append(now)
        return None

    async def _misbehave(
        self, fault: Fault, path: str, headers: dict[str, str], body: Any, writer: Any
    ) -> bool:
        """Answer with `fault`; False when the connection must close."""
        self.statuses[fault.kind] = self.statuses.get(fault.kind, 0) + 1
        auth = headers.get("authorization", "") if fault.echo_auth else ""
        if fault.kind in ("close", "refuse"):
            writer.close()
            return False
        if fault.kind == "reset":
            with contextlib.suppress(OSError):
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if fault.kind == "garbage":
            await self._write(writer, b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01binary")
            writer.close()
            return False
        if fault.kind == "stall":
            await asyncio.Event().wait()
        if fault.kind == "http":
            text = f"{REASONS.get(fault.status, 'Error')} (request n°{self.count})"
            payload = error_body(text, auth, fault.status == 429)
            return await self._send(writer, fault.status, payload, dict(fault.headers))
        if fault.kind == "html":
            page = f"<html><body><h1>Welcome</h1><p>{auth}</p></body></html>".encode()
            return await self._raw(writer, fault.status, page, "text/html")
        payload, _ = completion(self, path, body if isinstance(body, dict) else {}, self.count)
        data = mangled(fault, payload)
        if fault.kind == "cut":
            start = head(200, len(data), "application/json", {})
            await self._write(writer, start + data[: len(data) // 2])
            writer.transport.abort()
            return False
        if fault.kind == "drip":
            if not await self._write(writer, head(200, len(data), "application/json", {})):
                return False
            for i in range(len(data)):
                await asyncio.sleep(fault.interval)
                if not await self._write(writer, data[i : i + 1]):
                    return False
            return True
        return await self._raw(writer, 200, data, "application/json")

    async def _send(
        self, writer: Any, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> bool:
        data = json.dumps(payload).encode()
        return await self._raw(writer, status, data, "application/json", headers)

    async def _raw(
        self,
        writer: Any,
        status: int,
        data: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> bool:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        return await self._write(writer, head(status, len(data), content_type, headers) + data)

    @staticmethod
    async def _write(writer: Any, data: bytes) -> bool:
        """Write and drain; False when the client has gone."""
        try:
            writer.write(data)
            await writer.drain()
        except (ConnectionError, RuntimeError):
            return False
        return not writer.is_closing()
