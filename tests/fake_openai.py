"""Small fake servers on 127.0.0.1 for the OpenAI-compatible backend's tests.

``FakeServer`` answers ``GET {prefix}/models`` and ``POST {prefix}/chat/completions`` the way
real servers do, or the ways they fail:

- ``models``: the ids to list (``None``: answer 404, as at a site root);
- ``context``: a ``max_model_len`` to report (vLLM does);
- ``chat``: a function ``(body) -> (status, doc, headers)``, or a list of such answers
  taken in turn, for ``/chat/completions``;
- ``hang``: paths that accept the request and never answer (until the server stops);
- ``text_only(reply)``: a llama.cpp-like text model whose chat template drops list-valued
  messages silently (chatml): it counts only the string messages' tokens.

Every request is recorded in ``requests`` (path, headers, JSON body).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, Any, dict[str, str]]


def reply(text: str, prompt_tokens: int = 321) -> dict:
    """A ``chat.completion`` document."""
    return {"id": "x", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 5, "total_tokens": prompt_tokens + 5}}


def counted_tokens(body: dict, *, drop_lists: bool) -> int:
    """Prompt tokens a server would count: 4 characters a token over the string messages (and
    the text parts of list messages unless ``drop_lists``), 300 per image when kept."""
    chars, images = 0, 0
    for m in body.get("messages", []):
        content = m.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list) and not drop_lists:
            chars += sum(len(p.get("text", "")) for p in content if p.get("type") == "text")
            images += sum(p.get("type") == "image_url" for p in content)
    return 10 + chars // 4 + 300 * images


def user_text(body: dict) -> str:
    """The text of the last user message (string, or the text parts of a list)."""
    content = body["messages"][-1]["content"]
    return content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)


def text_only(write: Callable[[str], str]) -> Callable[[dict], Answer]:
    """A text model behind a template that drops list-valued messages: ``write(user text)`` is its reply."""
    def answer(body: dict) -> Answer:
        content = body["messages"][-1]["content"]
        tokens = counted_tokens(body, drop_lists=True)
        if not isinstance(content, str):  # the template saw only the system prompt
            return 200, reply("As a video assistant, I can help you with that.", tokens), {}
        return 200, reply(write(content), tokens), {}
    return answer


def vision(write: Callable[[str], str]) -> Callable[[dict], Answer]:
    """A vision model: counts image tokens, and names the test picture's colour."""
    def answer(body: dict) -> Answer:
        text = user_text(body)
        has_image = any(isinstance(m.get("content"), list) and any(p.get("type") == "image_url" for p in m["content"])
                        for m in body["messages"])
        if "main colour" in text and has_image:
            return 200, reply("Red.", counted_tokens(body, drop_lists=False)), {}
        return 200, reply(write(text), counted_tokens(body, drop_lists=False)), {}
    return answer


class FakeServer:
    """See the module docstring."""

    def __init__(self, *, models: list[str] | None = ("m",), context: int | None = None,
                 chat: Callable[[dict], Answer] | list[Answer] | None = None, hang: tuple[str, ...] = (),
                 prefix: str = "/v1", models_answer: Answer | None = None):
        self.requests: list[dict] = []
        self.stop = threading.Event()
        outer = self
        script = list(chat) if isinstance(chat, list) else None

        def chat_answer(body: dict) -> Answer:
            if script is not None:
                return script.pop(0) if script else (200, reply("ok"), {})
            if chat is not None:
                return chat(body)  # type: ignore[operator]
            return 200, reply("ok"), {}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, doc: Any, headers: dict[str, str]) -> None:
                data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Type" not in headers:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _hang(self) -> bool:
                if self.path in hang:
                    outer.stop.wait(120)
                    return True
                return False

            def do_GET(self):
                outer.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
                if self._hang():
                    return
                if models_answer is not None:
                    self._send(*models_answer)
                elif self.path == f"{prefix}/models" and models is not None:
                    data = [{"id": m, "object": "model", "owned_by": "fake",
                             **({"max_model_len": context} if context else {})} for m in models]
                    self._send(200, {"object": "list", "data": data}, {})
                else:
                    self._send(404, {"detail": "Not Found"}, {})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                outer.requests.append({"method": "POST", "path": self.path, "headers": dict(self.headers),
                                       "body": body})
                if self._hang():
                    return
                if self.path != f"{prefix}/chat/completions":
                    self._send(404, {"detail": "Not Found"}, {})
                    return
                self._send(*chat_answer(body))

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.root = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.url = self.root + prefix
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def chats(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST"]

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
