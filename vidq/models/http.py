"""HTTP for remote model servers: bounded waits and a narrow retry rule.

    client = HttpClient("http://127.0.0.1:8080/v1", key=None, policy=HttpPolicy(retries=2))
    data = client.json("GET", "/models", timeout=10)            # dict, or HttpFailure
    data = client.json("POST", "/chat/completions", body, timeout=120)

Every request has two clocks: connecting (TCP and TLS) may take ``connect_timeout``
seconds, the answer ``timeout`` seconds more.  A request is repeated only when repeating
can help: HTTP 408, 429, 502, 503 and 504 (``Retry-After`` honoured, capped) and a
connection the server dropped before answering.  Anything else -- a refused connection, a
timeout, any other 4xx, 500, 501 -- is reported at once: a server that did not answer in
time is busy or stuck, and sending the same work again only doubles the wait.

Standard library only (``urllib``, so ``HTTP(S)_PROXY`` is honoured).  Knows nothing about
tasks, the CLI or what the requests mean.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from vidq.errors import ModelError

log = logging.getLogger("vidq.models")

CONNECT_TIMEOUT_S = 5.0  # TCP + TLS connect
RETRIES = 2  # repeats after the first try (so 3 tries at most)
BACKOFF_S = 1.0  # first wait before a repeat; doubles each time
MAX_WAIT_S = 30.0  # cap on one wait, and on a server's Retry-After
RETRY_STATUS = frozenset({408, 429, 502, 503, 504})  # worth repeating; everything else is final
READ_CHUNK = 64 * 1024  # bytes per read of a response body


@dataclass(frozen=True)
class HttpPolicy:
    """How long to wait and how often to repeat."""

    connect_timeout: float = CONNECT_TIMEOUT_S  # seconds to connect (TCP + TLS)
    retries: int = RETRIES  # repeats after the first try, on RETRY_STATUS and dropped connections
    backoff: float = BACKOFF_S  # first wait between tries, seconds; doubles


class HttpFailure(ModelError):
    """A request that did not get a usable answer; ``str()`` is the one line for the user.

    ``status`` is the HTTP status (None: no HTTP answer), ``message`` the server's own
    error text, ``body`` the raw answer, ``kind`` one of ``unreachable``, ``timeout``,
    ``dropped``, ``http``, ``not-json``.
    """

    def __init__(self, line: str, *, kind: str, status: int | None = None, message: str = "",
                 body: bytes = b"", content_type: str = ""):
        super().__init__(line)
        self.kind = kind
        self.status = status
        self.message = message
        self.body = body
        self.content_type = content_type


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]  # lower-case names


class ConnectTimeout(TimeoutError):
    """No connection within the connect timeout (a timeout later on, sending or waiting, is not this)."""


class _ConnectFirst:
    """An ``http.client`` connection whose connect has its own, shorter, timeout."""

    connect_timeout: float = CONNECT_TIMEOUT_S
    timeout: Any
    sock: Any

    def connect(self) -> None:
        read = self.timeout
        self.timeout = min(self.connect_timeout, read) if isinstance(read, (int, float)) else self.connect_timeout
        try:
            super().connect()  # type: ignore[misc]
        except TimeoutError as e:
            raise ConnectTimeout(str(e) or "timed out") from e
        finally:
            self.timeout = read
        self.sock.settimeout(read)


class _HTTPConnection(_ConnectFirst, http.client.HTTPConnection):
    def __init__(self, *args: Any, connect_timeout: float = CONNECT_TIMEOUT_S, **kw: Any):
        super().__init__(*args, **kw)
        self.connect_timeout = connect_timeout


class _HTTPSConnection(_ConnectFirst, http.client.HTTPSConnection):
    def __init__(self, *args: Any, connect_timeout: float = CONNECT_TIMEOUT_S, **kw: Any):
        super().__init__(*args, **kw)
        self.connect_timeout = connect_timeout


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, connect_timeout: float):
        super().__init__()
        self.connect_timeout = connect_timeout

    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(partial(_HTTPConnection, connect_timeout=self.connect_timeout), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, connect_timeout: float):
        super().__init__()
        self.connect_timeout = connect_timeout

    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(partial(_HTTPSConnection, connect_timeout=self.connect_timeout), req,
                            context=self._context)  # type: ignore[attr-defined]


def error_message(body: bytes) -> str:
    """The server's error message (OpenAI's ``{"error": {"message": ...}}``), one line."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return " ".join(text.splitlines()[0].split())[:200] if text else ""
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return str(err.get("message", "")).splitlines()[0][:200] if err.get("message") else ""
    if isinstance(err, str):
        return err[:200]
    return str(data.get("message", ""))[:200] if isinstance(data, dict) else ""


class HttpClient:
    """Requests to one API root (``base``: e.g. ``http://host:8000/v1``)."""

    def __init__(self, base: str, *, key: str | None = None, policy: HttpPolicy = HttpPolicy(),
                 sleep: Callable[[float], None] = time.sleep):
        self.base = base.rstrip("/")  # API root, no trailing slash
        self.key = key  # bearer token (None: none sent)
        self.policy = policy
        self.sleep = sleep  # injectable for tests
        self.opener = urllib.request.build_opener(_HTTPHandler(policy.connect_timeout),
                                                  _HTTPSHandler(policy.connect_timeout))

    def send(self, method: str, url: str, payload: bytes | None, timeout: float) -> Response:
        """One try: the server's answer, whatever its status; ``OSError`` when there is none."""
        headers = {"Accept": "application/json", "User-Agent": "vidq"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        request = urllib.request.Request(url, data=payload, headers=headers, method=method)
        deadline = time.monotonic() + timeout
        try:
            response = self.opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as e:
            body = e.read() or b""
            return Response(e.code, body, {k.lower(): v for k, v in (e.headers or {}).items()})
        with response:
            chunks = []
            while True:
                if time.monotonic() > deadline:  # a server trickling its answer out
                    raise TimeoutError("timed out reading the answer")
                chunk = response.read(READ_CHUNK)
                if not chunk:
                    break
                chunks.append(chunk)
            return Response(response.status, b"".join(chunks), {k.lower(): v for k, v in response.headers.items()})

    def request(self, method: str, path: str, body: dict[str, Any] | None = None, *, timeout: float,
                retries: int | None = None) -> Response:
        """``method`` on ``base + path`` with the retry rule; a 2xx ``Response`` or ``HttpFailure``."""
        url = self.base + path
        payload = json.dumps(body).encode("utf-8") if body is not None else None
        tries = 1 + (self.policy.retries if retries is None else retries)
        failure: HttpFailure | None = None
        for attempt in range(tries):
            wait = min(MAX_WAIT_S, self.policy.backoff * (2 ** attempt))
            try:
                result = self.send(method, url, payload, timeout)
            except (OSError, http.client.HTTPException) as e:  # URLError, timeouts, resets, bad answers
                failure = self._network_failure(method, path, e, timeout)
                if failure.kind != "dropped":
                    raise failure from e
            else:
                if 200 <= result.status < 300:
                    return result
                failure = self._http_failure(method, path, result)
                if result.status not in RETRY_STATUS:
                    raise failure
                retry_after = result.headers.get("retry-after", "")
                if retry_after.replace(".", "", 1).isdigit():
                    wait = min(MAX_WAIT_S, float(retry_after))
            if attempt + 1 < tries:
                log.warning("%s %s: %s; trying again in %.1f s (%d/%d)", method, url, failure, wait, attempt + 1,
                            tries - 1)
                self.sleep(wait)
        assert failure is not None
        raise HttpFailure(f"{failure} (gave up after {tries} tries)", kind=failure.kind, status=failure.status,
                          message=failure.message, body=failure.body, content_type=failure.content_type)

    def json(self, method: str, path: str, body: dict[str, Any] | None = None, *, timeout: float,
             retries: int | None = None) -> Any:
        """``request`` whose 2xx answer must be JSON (``HttpFailure`` kind ``not-json`` otherwise)."""
        result = self.request(method, path, body, timeout=timeout, retries=retries)
        try:
            return json.loads(result.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            kind = result.headers.get("content-type", "").split(";")[0].strip() or "no content type"
            raise HttpFailure(f"{method} {self.base}{path} answered HTTP {result.status} with {kind}, not JSON",
                              kind="not-json", status=result.status, body=result.body, content_type=kind) from e

    def _network_failure(self, method: str, path: str, e: BaseException, timeout: float) -> HttpFailure:
        reason = getattr(e, "reason", e) if isinstance(e, urllib.error.URLError) else e
        where = f"{method} {self.base}{path}"
        if isinstance(reason, (ConnectionResetError, BrokenPipeError, http.client.IncompleteRead,
                               http.client.RemoteDisconnected)):
            return HttpFailure(f"{where}: the server closed the connection without answering", kind="dropped")
        if isinstance(reason, TimeoutError):
            if isinstance(reason, ConnectTimeout):  # urllib also wraps a timeout while sending the body
                return HttpFailure(f"cannot reach {self.base}: no connection within "
                                   f"{self.policy.connect_timeout:g} s", kind="unreachable")
            return HttpFailure(f"{where}: no answer within {timeout:g} s", kind="timeout")
        if isinstance(reason, http.client.HTTPException):
            return HttpFailure(f"{where}: the server's answer is not HTTP ({type(reason).__name__}); "
                               "is this an OpenAI-compatible server?", kind="http")
        text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
        return HttpFailure(f"cannot reach {self.base} ({text}); is the server running?", kind="unreachable")

    def _http_failure(self, method: str, path: str, result: Response) -> HttpFailure:
        message = error_message(result.body)
        kind = result.headers.get("content-type", "").split(";")[0].strip()
        line = f"{method} {self.base}{path}: HTTP {result.status}" + (f" {message}" if message else "")
        return HttpFailure(line, kind="http", status=result.status, message=message, body=result.body,
                           content_type=kind)
