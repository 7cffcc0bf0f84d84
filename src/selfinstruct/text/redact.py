"""URLs fit to write down or show: no user-info, secret-looking query parameters as `***`.

A base URL may carry credentials (`http://user:password@host/v1`, `...?key=...`); requests use
the real URL, while everything recorded (run.json, stats.json, usage.jsonl, the report, the
dataset card) and everything printed (progress, log lines, errors, `--dump-config`) goes
through `redact_url`, or `redact_text` for free text that may quote a URL.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

MASK = "***"
_SECRET_WORDS = ("key", "token", "passw", "secret", "signature", "credential", "auth")
_SECRET_NAMES = frozenset({"sig", "pwd", "pass", "code", "session", "sid"})
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")
_USERINFO = re.compile(r"(//)[^/@\s]*@")


def is_secret_name(name: str) -> bool:
    """Whether a query parameter's name looks like it carries a credential."""
    lowered = name.lower()
    return lowered in _SECRET_NAMES or any(word in lowered for word in _SECRET_WORDS)


@lru_cache(maxsize=1024)
def redact_url(url: str) -> str:
    """`url` without user-info and with secret-looking query values masked."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return _USERINFO.sub(r"\1", url.split("?", 1)[0])
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = "&".join(
            f"{quote(k, safe='')}={MASK if is_secret_name(k) else quote(v, safe='')}"
            for k, v in pairs
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """`text` with every URL in it redacted (error messages, command lines)."""
    if "://" not in text:
        return text
    return _URL.sub(lambda m: _redact_match(m.group(0)), text)


def _redact_match(found: str) -> str:
    trail = ""
    while found and found[-1] in ".,;:)]}":
        trail, found = found[-1] + trail, found[:-1]
    return redact_url(found) + trail


def split_credentials(url: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(base URL, query parameters, headers) to send `url`'s requests with.

    The openai client would glue paths after a query and drop user-info, so the query goes as
    the client's default query and user-info as an `Authorization: Basic` header.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    headers: dict[str, str] = {}
    if parts.username is not None or parts.password is not None:
        pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")), query, headers


def secrets_of(url: str) -> list[str]:
    """The credentials `url` carries, in every form a server might echo them (to mask them)."""
    parts = urlsplit(url)
    found: list[str] = []
    if parts.password:
        found += [parts.password, unquote(parts.password)]
    if parts.username is not None or parts.password is not None:
        headers = split_credentials(url)[2]
        found.append(headers["Authorization"].removeprefix("Basic "))
    found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if is_secret_name(k)]
    found += [quote(v, safe="") for v in found]
    return sorted({s for s in found if len(s) >= 3}, key=len, reverse=True)
