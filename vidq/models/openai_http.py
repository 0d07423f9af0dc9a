"""OpenAI-compatible HTTP backend (vLLM, SGLang, llama.cpp server, OpenAI): pre-sampled
frames go out as JPEG data-URL images, each preceded by its timestamp text and followed by
its subtitle text, in one ``/chat/completions`` request.

Standard library only (``urllib``).  Retries with exponential backoff on 429, 5xx and
connection errors (``Retry-After`` honoured), a per-request timeout, and one-line errors
(401/403 -> check ``VIDQ_API_KEY``).  The key comes from ``VIDQ_API_KEY`` or
``OPENAI_API_KEY``; the server from ``--api-base``, ``VIDQ_API_BASE`` or
``OPENAI_BASE_URL``.  Under ``--offline`` only a server on this machine is allowed.
Knows nothing about tasks or the CLI.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from vidq.errors import InputError, ModelError
from vidq.models.base import (
    Backend,
    Capabilities,
    GenerateOptions,
    Generation,
    Prepared,
    VideoInput,
)
from vidq.models.vlm.layout import frame_stamp
from vidq.models.vlm.prompt import DEFAULT_SYSTEM, header_text

log = logging.getLogger("vidq.models")

DEFAULT_API_BASE = "https://api.openai.com/v1"
TIMEOUT_S = 300.0  # per request
RETRIES = 4  # retries after the first attempt
BACKOFF_S = 1.0  # first wait; doubles each retry
MAX_WAIT_S = 60.0  # cap on one wait (and on Retry-After)
JPEG_QUALITY = 85
MAX_SIDE = 768  # longest frame side sent, pixels
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


def api_key() -> str | None:
    return os.environ.get("VIDQ_API_KEY") or os.environ.get("OPENAI_API_KEY") or None


def default_api_base() -> str:
    return os.environ.get("VIDQ_API_BASE") or os.environ.get("OPENAI_BASE_URL") or DEFAULT_API_BASE


def is_local_url(url: str) -> bool:
    """True when ``url``'s host is this machine (localhost or a loopback address)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def jpeg_data_url(frame: np.ndarray, *, max_side: int = MAX_SIDE, quality: int = JPEG_QUALITY) -> str:
    """RGB frame [H, W, 3] uint8 -> ``data:image/jpeg;base64,...`` (longest side <= max_side)."""
    from PIL import Image

    img = Image.fromarray(frame)
    if max(img.size) > max_side:
        scale = max_side / max(img.size)
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def build_messages(video: VideoInput | None, prompt: str, system: str | None) -> tuple[list[dict], int]:
    """Chat messages with interleaved frames; returns (messages, frames sent)."""
    content: list[dict[str, Any]] = []
    frames = 0
    if video is not None:
        parts: list[dict[str, Any]] = []
        for batch in video.batches:
            for img, pts, idx in zip(batch.images, batch.pts, batch.indices):
                parts.append({"type": "text", "text": frame_stamp(float(pts), video.duration)})
                parts.append({"type": "image_url", "image_url": {"url": jpeg_data_url(img)}})
                words = video.subtitles[int(idx)].strip() if video.subtitles is not None else ""
                if words:
                    parts.append({"type": "text", "text": words})
                frames += 1
        if frames == 0:
            raise InputError("no frames to send (the video yielded none)")
        content.append({"type": "text", "text": header_text(frames, video.duration, video.subtitles is not None)})
        content.extend(parts)
    content.append({"type": "text", "text": prompt.strip()})
    messages = [{"role": "system", "content": system if system is not None else DEFAULT_SYSTEM},
                {"role": "user", "content": content}]
    return messages, frames


@dataclass
class HttpResult:
    status: int
    body: bytes
    headers: dict[str, str]


class OpenAIBackend(Backend):
    """``openai:MODEL``: any OpenAI-compatible ``/chat/completions`` server."""

    def __init__(self, model: str, *, api_base: str | None = None, key: str | None = None,
                 timeout: float = TIMEOUT_S, retries: int = RETRIES, backoff: float = BACKOFF_S,
                 offline: bool = False, sleep: Callable[[float], None] = time.sleep):
        base = (api_base or default_api_base()).rstrip("/")
        if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
            raise InputError(f"--api-base {base}: give an http:// or https:// URL")
        if offline and not is_local_url(base):
            raise InputError(f"--offline: --api-base {base} is not on this machine (use a localhost server or drop --offline)")
        self.model = model  # the server's model name
        self.api_base = base  # e.g. http://localhost:8000/v1
        self.key = key if key is not None else api_key()  # bearer token (None: none sent)
        self.timeout = timeout  # seconds per request
        self.retries = retries  # retries after the first attempt
        self.backoff = backoff  # first wait in seconds; doubles
        self.sleep = sleep  # injectable for tests
        self.name = f"openai:{model}"
        self.capabilities = Capabilities(sees_images=True, max_context=128000, compressions=("none",))

    def prepare(self, video: VideoInput | None, prompt: str, options: GenerateOptions) -> Prepared:
        if options.compress not in ("auto", "none"):
            raise InputError(f"--compress {options.compress}: an HTTP server gets frames as images; use none (or auto)")
        messages, frames = build_messages(video, prompt, options.system)
        return Prepared(self.name, messages, {"model": self.name, "frames": frames, "compression": "none",
                                              "api_base": urllib.parse.urlsplit(self.api_base).netloc})

    def generate(self, prepared: Prepared, options: GenerateOptions) -> Generation:
        body: dict[str, Any] = {"model": self.model, "messages": prepared.payload,
                                "max_tokens": options.max_new_tokens, "temperature": options.temperature}
        if options.temperature > 0:
            body["seed"] = options.seed
        t0 = time.perf_counter()
        data = self._post("/chat/completions", body)
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as e:
            raise ModelError(f"{self.api_base}: unexpected response (no choices[0].message.content)") from e
        usage = data.get("usage") or {}
        meta = {"context_length": usage.get("prompt_tokens"), "generated_tokens": usage.get("completion_tokens"),
                "finish_reason": choice.get("finish_reason"), "timings": {"request_s": time.perf_counter() - t0}}
        return Generation(text=str(text).strip(), meta=meta)

    # -- HTTP -----------------------------------------------------------------------------
    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.api_base + path
        payload = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "vidq"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        last = ""
        for attempt in range(self.retries + 1):
            wait = min(MAX_WAIT_S, self.backoff * (2 ** attempt))
            try:
                result = self._send(url, payload, headers)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                reason = getattr(e, "reason", e)
                last = f"cannot reach {self.api_base} ({reason})"
            else:
                if 200 <= result.status < 300:
                    try:
                        return json.loads(result.body.decode("utf-8"))
                    except (UnicodeDecodeError, json.JSONDecodeError) as e:
                        raise ModelError(f"{url}: the response is not JSON") from e
                message = _error_message(result.body)
                if result.status in (401, 403):
                    raise ModelError(f"{self.api_base}: HTTP {result.status} {message}; check VIDQ_API_KEY "
                                     "(or OPENAI_API_KEY)".replace("  ", " "))
                if result.status not in RETRY_STATUS and result.status < 500:
                    hint = " (is the model name right?)" if result.status == 404 else ""
                    raise ModelError(f"{self.api_base}: HTTP {result.status} {message}{hint}".strip())
                last = f"HTTP {result.status} {message}".strip()
                retry_after = result.headers.get("retry-after", "")
                if retry_after.replace(".", "", 1).isdigit():
                    wait = min(MAX_WAIT_S, float(retry_after))
            if attempt < self.retries:
                log.warning("%s: %s; retrying in %.1f s (%d/%d)", self.name, last, wait, attempt + 1, self.retries)
                self.sleep(wait)
        raise ModelError(f"{self.name}: giving up after {self.retries + 1} attempts: {last}")

    def _send(self, url: str, payload: bytes, headers: dict[str, str]) -> HttpResult:
        request = urllib.request.Request(url, data=payload, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return HttpResult(response.status, response.read(), {k.lower(): v for k, v in response.headers.items()})
        except urllib.error.HTTPError as e:
            return HttpResult(e.code, e.read() or b"", {k.lower(): v for k, v in (e.headers or {}).items()})


def _error_message(body: bytes) -> str:
    """The server's error message (OpenAI's ``{"error": {"message": ...}}``), one line."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text.splitlines()[0][:200] if text else ""
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return str(err.get("message", "")).splitlines()[0][:200] if err.get("message") else ""
    if isinstance(err, str):
        return err[:200]
    return str(data.get("message", ""))[:200] if isinstance(data, dict) else ""
