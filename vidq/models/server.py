"""What an OpenAI-compatible server is, checked before any work: does it answer, does it
serve the model, how long is its context, and does the model take images.

    info = check_server(client, "qwen2.5-7b")      # GET /models; ModelError with one line if unusable
    info.context                                    # tokens, when the server says (vLLM, SGLang, ...)
    sees = probe_vision(client, "qwen2.5-7b")       # two tiny requests: with and without an image

``check_server`` is one ``GET {api_base}/models`` with a short timeout: an unreachable
server, one that is not OpenAI-compatible (HTML, 404, 501), one at the site root instead
of ``/v1``, or one that does not list the model fails in seconds with a line that says
what to change.  ``probe_vision`` decides whether the model really sees pictures: a text
model behind a chat template that drops list-valued messages answers 200 with nonsense,
so the answer is judged by the tokens the server counted (an image costs tokens) and by
whether it names the colour of the test picture.

Knows nothing about tasks or the CLI.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from vidq.errors import ModelError
from vidq.models.http import HttpClient, HttpFailure

log = logging.getLogger("vidq.models")

HEALTH_TIMEOUT_S = 10.0  # GET /models: the whole answer
PROBE_TIMEOUT_S = 60.0  # each vision probe request (a tiny prompt; a cold server may load the model)
PROBE_SIDE = 224  # test picture side, pixels: every vision encoder spends tens of tokens on it
PROBE_COLOUR = ("red", (220, 20, 20))  # the test picture's colour and RGB
IMAGE_TOKEN_GAIN = 24  # prompt tokens an image must add for the model to count as seeing it
PROBE_QUESTION = "What is the main colour of this picture? Answer with one word."
CONTEXT_KEYS = ("max_model_len", "context_length", "context_window", "max_context_length", "n_ctx")
_CONTEXT_IN_ERROR = (
    re.compile(r"maximum context length is (\d+)", re.IGNORECASE),  # OpenAI, vLLM, llama-cpp-python
    re.compile(r"context window of (\d+)", re.IGNORECASE),
    re.compile(r"\"n_ctx\"\s*:\s*(\d+)"),  # llama.cpp's llama-server error body
    re.compile(r"context (?:size|length|window) (?:of|is) (\d+)", re.IGNORECASE),
)


@dataclass(frozen=True)
class ServerInfo:
    """What ``GET /models`` said."""

    models: tuple[str, ...]  # the ids the server lists (may be empty)
    model: str  # the id to send: the listed spelling of the requested model, or it as given
    context: int | None  # context window in tokens, when the server reports one
    owned_by: str = ""  # the entry's owner ("llamacpp", "vllm", ...), for logs
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # the matched entry


def _same_model(listed: str, wanted: str) -> bool:
    """Whether a listed id names the requested model: exactly, ignoring case, an Ollama
    ``:latest`` tag, or a file path's directory and ``.gguf`` extension."""
    def forms(name: str) -> set[str]:
        n = name.strip().lower()
        out = {n, n.removesuffix(":latest")}
        base = n.rsplit("/", 1)[-1]
        out |= {base, base.removesuffix(".gguf")}
        return out

    w = wanted.strip().lower()
    return w in forms(listed) or w.removesuffix(":latest") in forms(listed)


def _context_of(entry: dict[str, Any]) -> int | None:
    for source in (entry, entry.get("meta") if isinstance(entry.get("meta"), dict) else {}):
        for key in CONTEXT_KEYS:
            value = source.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                return int(value)
    return None


def context_from_error(message: str) -> int | None:
    """The context size a server names when it refuses a prompt as too long, else None.

    >>> context_from_error("This model's maximum context length is 2048 tokens. However, you requested 5000")
    2048
    """
    for pattern in _CONTEXT_IN_ERROR:
        m = pattern.search(message)
        if m:
            return int(m.group(1))
    return None


def _root_hint(client: HttpClient) -> str:
    """`` (the API is at .../v1: use --api-base .../v1)`` when the root lacks /v1 and /v1 answers."""
    if client.base.rstrip("/").endswith("/v1"):
        return ""
    alt = HttpClient(client.base + "/v1", key=client.key, policy=client.policy, sleep=client.sleep)
    try:
        data = alt.json("GET", "/models", timeout=HEALTH_TIMEOUT_S, retries=0)
    except ModelError:
        return " (OpenAI-compatible servers usually answer under /v1: try --api-base " + client.base + "/v1)"
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        return f" (the API is at {client.base}/v1: use --api-base {client.base}/v1)"
    return ""


def check_server(client: HttpClient, model: str) -> ServerInfo:
    """``GET /models`` and find ``model`` in it; ``ModelError`` (one line) when the server is unusable."""
    base = client.base
    try:
        data = client.json("GET", "/models", timeout=HEALTH_TIMEOUT_S)
    except HttpFailure as e:
        if e.status in (401, 403):
            raise ModelError(f"{base}: HTTP {e.status} {e.message}; check VIDQ_API_KEY (or OPENAI_API_KEY)"
                             .replace("  ", " ")) from e
        if e.kind == "not-json":
            raise ModelError(f"{base} is not an OpenAI-compatible API: GET /models answered {e.content_type}, "
                             f"not a model list{_root_hint(client)}") from e
        if e.status is not None:
            detail = f" {e.message}" if e.message else ""
            raise ModelError(f"{base} is not an OpenAI-compatible API: GET /models answered HTTP {e.status}"
                             f"{detail}{_root_hint(client) if e.status in (404, 405) else ''}") from e
        raise
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ModelError(f"{base} is not an OpenAI-compatible API: GET /models has no 'data' list"
                         f"{_root_hint(client)}")
    entries = [d for d in items if isinstance(d, dict) and isinstance(d.get("id"), str)]
    ids = tuple(d["id"] for d in entries)
    if not ids:
        log.info("%s lists no models; sending %r as the model name", base, model)
        return ServerInfo((), model, None)
    match = next((d for d in entries if d["id"] == model), None) or \
        next((d for d in entries if _same_model(d["id"], model)), None)
    if match is None:
        shown = ", ".join(ids[:8]) + (f" and {len(ids) - 8} more" if len(ids) > 8 else "")
        raise ModelError(f"{base} does not serve a model named {model!r}; it lists: {shown} "
                         f"(use --model openai:{ids[0]})")
    return ServerInfo(ids, match["id"], _context_of(match), str(match.get("owned_by", "")), match)


def probe_image_url() -> str:
    """The test picture: a ``PROBE_SIDE`` square of ``PROBE_COLOUR``, as a PNG data URL."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (PROBE_SIDE, PROBE_SIDE), PROBE_COLOUR[1]).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _probe(client: HttpClient, model: str, content: Any, timeout: float) -> tuple[str, int | None]:
    body = {"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": 8, "temperature": 0.0}
    data = client.json("POST", "/chat/completions", body, timeout=timeout)
    try:
        text = str(data["choices"][0]["message"]["content"] or "")
    except (KeyError, IndexError, TypeError):
        text = ""
    usage = data.get("usage") if isinstance(data, dict) else None
    tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    return text, int(tokens) if isinstance(tokens, (int, float)) else None


def probe_vision(client: HttpClient, model: str, *, timeout: float = PROBE_TIMEOUT_S) -> tuple[bool, str]:
    """Whether ``model`` on this server sees images, and why (one phrase for the log).

    The same question goes out as plain text and with the test picture.  A refusal of
    the picture (any HTTP error but 401/403/429) means no; with token counts, the picture
    must add ``IMAGE_TOKEN_GAIN`` prompt tokens; without them, the answer must name its
    colour.
    """
    try:
        _, text_tokens = _probe(client, model, PROBE_QUESTION, timeout)
    except HttpFailure as e:
        slow = "; a slow server needs a longer --request-timeout or --remote-vision yes|no" if e.kind == "timeout" else ""
        raise ModelError(f"{client.base}: a one-line test prompt failed: {e}{slow}") from e
    try:
        answer, image_tokens = _probe(client, model, [{"type": "text", "text": PROBE_QUESTION},
                                                      {"type": "image_url", "image_url": {"url": probe_image_url()}}],
                                       timeout)
    except HttpFailure as e:
        if e.status in (401, 403, 429) or e.kind in ("unreachable", "timeout"):
            raise ModelError(f"{client.base}: the image test prompt failed: {e}") from e
        return False, f"the server refused an image ({e.status or e.kind}{': ' + e.message if e.message else ''})"
    if text_tokens is not None and image_tokens is not None:
        gain = image_tokens - text_tokens
        if gain >= IMAGE_TOKEN_GAIN:
            return True, f"an image added {gain} prompt tokens"
        return False, f"an image added {gain} prompt tokens (the server's template drops pictures)"
    named = PROBE_COLOUR[0] in answer.lower()
    return named, f"asked the colour of a {PROBE_COLOUR[0]} picture, answered {answer.strip()[:40]!r}"
