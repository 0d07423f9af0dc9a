"""OpenAI-compatible HTTP backend (vLLM, SGLang, llama.cpp, Ollama, LM Studio, OpenAI).

    backend = OpenAIBackend("qwen2.5-7b", api_base="http://127.0.0.1:8080/v1").connect(store)
    backend.capabilities.sees_images     # decided by --remote-vision (auto: probed once, cached)

``connect`` runs before any work (the registry's loader calls it): ``GET /models`` checks
that the server answers, speaks the API and serves the model, and reads its context size
(:mod:`vidq.models.server`); then the model's vision is decided -- ``--remote-vision yes``
or ``no``, or ``auto``: two tiny probe requests, the answer cached per endpoint and model.

A model that sees gets pre-sampled frames as JPEG data-URL images, each preceded by its
timestamp and followed by its subtitle text, in one ``/chat/completions`` request; frame
sizes and counts are cut to fit the context (``suggest_frames``).  A model that cannot see
is still a writer (``Capabilities.writes_text``): the jobs give it the timeline's text,
and it gets plain string messages, which every chat template takes.

Every reply is checked against what was sent: when the server counted far fewer prompt
tokens than the text alone must cost (``usage.prompt_tokens``), it dropped most of the
prompt, and the reply is refused (exit 3) rather than printed.  A prompt refused as
longer than the context raises :class:`ContextExceeded` carrying the server's size, so a
caller can refit once.

Waits are bounded (:mod:`vidq.models.http`): a few seconds to connect, ``--request-timeout``
(default: sized to the request) for the answer, ``--retries`` repeats on 408/429/502/503/504
and dropped connections only.  The key comes from ``VIDQ_API_KEY`` or ``OPENAI_API_KEY``;
the server from ``--api-base``, ``VIDQ_API_BASE`` or ``OPENAI_BASE_URL``.  Under
``--offline`` only a server on this machine is allowed.  Knows nothing about tasks or the CLI.
"""

from __future__ import annotations

import base64
import hashlib
import io
import ipaddress
import logging
import math
import os
import time
import urllib.parse
from dataclasses import replace
from typing import Any

import numpy as np

from vidq.errors import InputError, ModelError
from vidq.models.base import (
    Backend,
    Capabilities,
    ContextExceeded,
    GenerateOptions,
    Generation,
    Prepared,
    VideoInput,
)
from vidq.models.http import (
    CONNECT_TIMEOUT_S,
    RETRIES,
    HttpClient,
    HttpFailure,
    HttpPolicy,
)
from vidq.models.server import (
    PROBE_TIMEOUT_S,
    check_server,
    context_from_error,
    probe_vision,
)
from vidq.models.vlm.layout import frame_stamp
from vidq.models.vlm.prompt import DEFAULT_SYSTEM, header_text

log = logging.getLogger("vidq.models")

DEFAULT_API_BASE = "https://api.openai.com/v1"
VISION_CHOICES = ("auto", "yes", "no")  # --remote-vision
VISION_STAGE = "remote-vision/1"  # cache stage of a probed answer, per endpoint and model
LOCAL_CONTEXT = 4096  # tokens assumed for a server on this machine that does not say (llama.cpp, Ollama, LM Studio defaults)
REMOTE_CONTEXT = 128000  # tokens assumed for a remote server that does not say (hosted APIs)
MIN_CONTEXT = 512  # --context below this is a typo
JPEG_QUALITY = 85
SIDES = (768, 512, 384)  # longest frame sides tried, largest first, when fitting frames to the context
PATCH = 28  # pixels per visual token side after merging (Qwen2-VL family; a fair middle for others)
FRAME_TEXT_TOKENS = 24  # timestamp and a few subtitle words per frame
PROMPT_RESERVE = 768  # tokens kept for the header, question and system prompt when fitting frames
CHARS_PER_TOKEN = 4.0  # English prose, most tokenizers; used only for estimates
IMAGE_MIN_TOKENS = 32  # the least any vision encoder spends on a frame of SIDES[-1] pixels
DROPPED_SHARE = 0.5  # the server counting fewer than this share of the estimate dropped the prompt
MIN_CHECKED_TOKENS = 64  # prompts estimated below this are too small to judge
TIMEOUT_BASE_S = 30.0  # default request timeout: this ...
PROMPT_TOKENS_PER_S = 40.0  # ... plus the prompt read at this rate (a 7B model on a laptop CPU) ...
NEW_TOKENS_PER_S = 4.0  # ... plus the reply written at this rate ...
MAX_DEFAULT_TIMEOUT_S = 150.0  # ... at most this (a stuck server costs at most this per try)
MAX_RETRIES = 10  # --retries above this is a typo


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


def image_tokens(side: int, aspect: float = 16 / 9) -> int:
    """Estimated visual tokens of a frame whose longest side is ``side`` px (``PATCH``-px tokens).

    >>> image_tokens(768)
    448
    """
    w, h = side, side / aspect
    return max(IMAGE_MIN_TOKENS, math.ceil(w / PATCH) * math.ceil(h / PATCH))


def default_request_timeout(prompt_tokens: int, new_tokens: int) -> float:
    """Seconds to wait for one answer when ``--request-timeout`` is not given.

    >>> default_request_timeout(400, 100)
    65.0
    """
    return round(min(MAX_DEFAULT_TIMEOUT_S, TIMEOUT_BASE_S + prompt_tokens / PROMPT_TOKENS_PER_S
                     + new_tokens / NEW_TOKENS_PER_S), 1)


def jpeg_data_url(frame: np.ndarray, *, max_side: int = SIDES[0], quality: int = JPEG_QUALITY) -> str:
    """RGB frame [H, W, 3] uint8 -> ``data:image/jpeg;base64,...`` (longest side <= max_side)."""
    from PIL import Image

    img = Image.fromarray(frame)
    if max(img.size) > max_side:
        scale = max_side / max(img.size)
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def fit_frames(frames: int, budget: int) -> tuple[int, int]:
    """``(side, frames)``: the largest of ``SIDES`` at which ``frames`` fit ``budget`` tokens,
    else the smallest side and as many frames as fit there (at least one).

    >>> fit_frames(8, 6912), fit_frames(32, 6912), fit_frames(256, 6912)
    ((768, 8), (384, 32), (384, 50))
    """
    for side in SIDES:
        if frames * (image_tokens(side) + FRAME_TEXT_TOKENS) <= budget:
            return side, frames
    return SIDES[-1], max(1, min(frames, budget // (image_tokens(SIDES[-1]) + FRAME_TEXT_TOKENS)))


def build_messages(video: VideoInput | None, prompt: str, system: str | None, *,
                   max_side: int = SIDES[0], max_frames: int | None = None) -> tuple[list[dict], int, int]:
    """Chat messages; returns (messages, frames sent, characters of text sent).

    Without frames the user message is a plain string (every chat template takes one);
    with frames it is a list of parts: header, then per frame its time, its image and the
    words spoken since the previous frame, then the prompt.  ``max_frames`` keeps that many
    of the video's frames, evenly spread (the words of a skipped frame go with the next one).
    """
    system_text = system if system is not None else DEFAULT_SYSTEM
    if video is None:
        text = prompt.strip()
        return ([{"role": "system", "content": system_text}, {"role": "user", "content": text}], 0,
                len(system_text) + len(text))
    parts: list[dict[str, Any]] = []
    frames = 0
    total = len(video.times)
    keep = None if max_frames is None or max_frames >= total else \
        set(np.linspace(0, total - 1, max_frames).round().astype(int).tolist())
    pending: list[str] = []
    for batch in video.batches:
        for img, pts, idx in zip(batch.images, batch.pts, batch.indices):
            words = video.subtitles[int(idx)].strip() if video.subtitles is not None else ""
            if keep is not None and int(idx) not in keep:
                pending.extend([words] if words else [])
                continue
            parts.append({"type": "text", "text": frame_stamp(float(pts), video.duration)})
            parts.append({"type": "image_url", "image_url": {"url": jpeg_data_url(img, max_side=max_side)}})
            words = " ".join([*pending, words]).strip()
            pending = []
            if words:
                parts.append({"type": "text", "text": words})
            frames += 1
    if pending:  # words spoken after the last frame sent
        parts.append({"type": "text", "text": " ".join(pending)})
    if frames == 0:
        raise InputError("no frames to send (the video yielded none)")
    content: list[dict[str, Any]] = [{"type": "text", "text": header_text(frames, video.duration,
                                                                          video.subtitles is not None, video.span)}]
    content.extend(parts)
    content.append({"type": "text", "text": prompt.strip()})
    chars = len(system_text) + sum(len(p["text"]) for p in content if p["type"] == "text")
    return [{"role": "system", "content": system_text}, {"role": "user", "content": content}], frames, chars


def endpoint_key(api_base: str, model: str) -> str:
    """A 40-hex-digit cache key for what is cached about one model on one server."""
    return hashlib.blake2b(f"openai\0{api_base}\0{model}".encode(), digest_size=20).hexdigest()


class OpenAIBackend(Backend):
    """``openai:MODEL``: any OpenAI-compatible ``/chat/completions`` server."""

    def __init__(self, model: str, *, api_base: str | None = None, key: str | None = None,
                 vision: str = "auto", context: int | None = None, request_timeout: float | None = None,
                 retries: int = RETRIES, connect_timeout: float = CONNECT_TIMEOUT_S, backoff: float = 1.0,
                 offline: bool = False, sleep: Any = time.sleep):
        base = (api_base or default_api_base()).rstrip("/")
        if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
            raise InputError(f"--api-base {base}: give an http:// or https:// URL")
        if offline and not is_local_url(base):
            raise InputError(f"--offline: --api-base {base} is not on this machine (use a localhost server or drop --offline)")
        if vision not in VISION_CHOICES:
            raise InputError(f"--remote-vision must be auto, yes or no, not {vision!r}")
        if context is not None and context < MIN_CONTEXT:
            raise InputError(f"--context must be at least {MIN_CONTEXT} tokens, not {context}")
        if request_timeout is not None and not (0 < request_timeout <= 24 * 3600):
            raise InputError(f"--request-timeout must be a positive number of seconds, not {request_timeout:g}")
        if not 0 <= retries <= MAX_RETRIES:
            raise InputError(f"--retries must be between 0 and {MAX_RETRIES}, not {retries}")
        self.model = model  # the model name as given; the server's spelling after connect()
        self.api_base = base  # e.g. http://localhost:8000/v1
        self.vision = vision  # --remote-vision: auto | yes | no
        self.context_given = context  # --context (None: what the server reports, else assumed)
        self.request_timeout = request_timeout  # seconds per answer (None: sized to each request)
        self.client = HttpClient(base, key=key if key is not None else api_key(),
                                 policy=HttpPolicy(connect_timeout=connect_timeout, retries=retries, backoff=backoff),
                                 sleep=sleep)
        self.name = f"openai:{model}"
        self.context_source = "--context" if context is not None else "assumed"
        self.vision_reason = f"--remote-vision {vision}"
        assumed = LOCAL_CONTEXT if is_local_url(base) else REMOTE_CONTEXT
        self.capabilities = Capabilities(sees_images=vision != "no", writes_text=True,
                                         max_context=context or assumed, compressions=("none",))
        self.frame_size = SIDES[0]

    @property
    def key(self) -> str | None:
        return self.client.key

    # -- before any work ----------------------------------------------------------------------
    def connect(self, store: Any = None) -> OpenAIBackend:
        """Check the server and decide vision (see the module docstring); returns self.

        ``store`` (a ``vidq.store.Store``) caches the probed vision answer per endpoint and model.
        """
        info = check_server(self.client, self.model)
        self.model = info.model
        context = self.context_given or info.context
        if self.context_given is None and info.context is not None:
            self.context_source = "the server"
        sees = self._decide_vision(store)
        self.capabilities = replace(self.capabilities, sees_images=sees,
                                    max_context=context or self.capabilities.max_context)
        log.info("%s at %s: context %d tokens (%s); %s (%s)", self.name, self.api_base,
                 self.capabilities.max_context, self.context_source,
                 "sees images" if sees else "text only: it gets the transcript and on-screen text", self.vision_reason)
        return self

    def _decide_vision(self, store: Any) -> bool:
        if self.vision != "auto":
            return self.vision == "yes"
        key, params = endpoint_key(self.api_base, self.model), {"api_base": self.api_base, "model": self.model}
        cached = store.get_json(key, VISION_STAGE, params) if store is not None and store.enabled else None
        if isinstance(cached, dict) and isinstance(cached.get("sees"), bool):
            self.vision_reason = f"cached probe: {cached.get('why', '')}"
            return cached["sees"]
        sees, why = probe_vision(self.client, self.model,
                                 timeout=min(PROBE_TIMEOUT_S, self.request_timeout or PROBE_TIMEOUT_S))
        self.vision_reason = f"probed: {why}"
        if store is not None and store.enabled:
            store.put_json(key, VISION_STAGE, params, {"sees": sees, "why": why})
        return sees

    # -- fitting the context ------------------------------------------------------------------
    def suggest_frames(self, frames: int, options: GenerateOptions) -> int:
        """The frames (and, through ``frame_size``, the frame side) that fit the context."""
        if not self.capabilities.sees_images:
            return frames
        side, fit = fit_frames(frames, self._frame_budget(options))
        self.frame_size = side
        if fit < frames:
            log.info("%s: %d of %d frames at %d px fit its %d-token context", self.name, fit, frames, side,
                     self.capabilities.max_context)
        return fit

    def _frame_budget(self, options: GenerateOptions) -> int:
        return self.capabilities.max_context - options.max_new_tokens - PROMPT_RESERVE

    # -- the backend contract -----------------------------------------------------------------
    def prepare(self, video: VideoInput | None, prompt: str, options: GenerateOptions) -> Prepared:
        if options.compress not in ("auto", "none"):
            raise InputError(f"--compress {options.compress}: an HTTP server gets frames as images; use none (or auto)")
        if video is not None and not self.capabilities.sees_images:
            raise ModelError(f"{self.name} does not take images ({self.vision_reason}); "
                             "it is given the video's text instead")
        side, fit = SIDES[0], None
        if video is not None:  # every caller's frames fit the context, whoever sampled them
            side, fit = fit_frames(len(video.times), self._frame_budget(options))
            side = min(side, self.frame_size or side)
            if fit < len(video.times):
                log.info("%s: sending %d of %d frames at %d px to fit its %d-token context", self.name, fit,
                         len(video.times), side, self.capabilities.max_context)
        messages, frames, chars = build_messages(video, prompt, options.system, max_side=side, max_frames=fit)
        estimate = int(chars / CHARS_PER_TOKEN) + frames * image_tokens(side)
        return Prepared(self.name, messages, {"model": self.name, "frames": frames, "compression": "none",
                                              "api_base": urllib.parse.urlsplit(self.api_base).netloc,
                                              "sees_images": self.capabilities.sees_images,
                                              "sent_chars": chars, "prompt_tokens_estimate": estimate})

    def generate(self, prepared: Prepared, options: GenerateOptions) -> Generation:
        body: dict[str, Any] = {"model": self.model, "messages": prepared.payload,
                                "max_tokens": options.max_new_tokens, "temperature": options.temperature}
        if options.temperature > 0:
            body["seed"] = options.seed
        estimate = int(prepared.meta.get("prompt_tokens_estimate", 0))
        timeout = self.request_timeout or default_request_timeout(estimate, options.max_new_tokens)
        t0 = time.perf_counter()
        try:
            data = self.client.json("POST", "/chat/completions", body, timeout=timeout)
        except HttpFailure as e:
            raise self._failure(e, estimate, int(prepared.meta.get("frames", 0))) from e
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as e:
            raise ModelError(f"{self.api_base}: unexpected response (no choices[0].message.content)") from e
        usage = data.get("usage") or {}
        read = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        self._check_read(read, prepared)
        meta = {"context_length": read, "generated_tokens": usage.get("completion_tokens"),
                "finish_reason": choice.get("finish_reason"), "request_timeout_s": timeout,
                "timings": {"request_s": time.perf_counter() - t0}}
        return Generation(text=str(text).strip(), meta=meta)

    def _check_read(self, read: Any, prepared: Prepared) -> None:
        """Refuse a reply to a prompt the server mostly did not read (see the module docstring)."""
        if not isinstance(read, (int, float)) or isinstance(read, bool):
            return
        text_tokens = prepared.meta.get("sent_chars", 0) / CHARS_PER_TOKEN
        least = text_tokens + prepared.meta.get("frames", 0) * IMAGE_MIN_TOKENS
        if least >= MIN_CHECKED_TOKENS and read < DROPPED_SHARE * least:
            what = (f"{prepared.meta['frames']} images and their text" if prepared.meta.get("frames")
                    else "the text")
            hint = ("its chat template may drop image messages: rerun with --remote-vision no"
                    if prepared.meta.get("frames") else "its context may be shorter than the prompt: check --context")
            raise ModelError(f"{self.name}: the server read {int(read)} prompt tokens of about {int(least)} sent "
                             f"({what}): it dropped most of the prompt, so its reply is not used; {hint}")

    def _failure(self, e: HttpFailure, estimate: int, frames: int) -> ModelError:
        if e.status in (401, 403):
            return ModelError(f"{self.api_base}: HTTP {e.status} {e.message}; check VIDQ_API_KEY "
                              "(or OPENAI_API_KEY)".replace("  ", " "))
        if e.status == 400:
            ctx = context_from_error(e.message or e.body.decode("utf-8", "replace"))
            if ctx is not None:
                self.capabilities = replace(self.capabilities, max_context=ctx)
                self.context_source = "the server's refusal"
                return ContextExceeded(f"{self.name}: the prompt (about {estimate} tokens) is longer than the "
                                       f"server's {ctx}-token context; rerun with --context {ctx} or give the "
                                       "server a longer context", ctx)
        if e.status == 404:
            return ModelError(f"{e} (is the model name right?)")
        if e.kind == "timeout":
            return ModelError(f"{self.name}: {e}; a slow server needs a longer --request-timeout")
        if frames and e.status in (400, 415, 422, 500):
            return ModelError(f"{self.name}: {e}; if the model cannot see images, rerun with --remote-vision no "
                              "(or auto)")
        return ModelError(f"{self.name}: {e}")
