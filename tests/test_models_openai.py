"""The OpenAI-compatible HTTP backend against a local server thread (a recorded-schema fake
of /v1/chat/completions on 127.0.0.1): the request payload, retries, errors, --offline."""

from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from vidq.errors import InputError, ModelError
from vidq.media.types import FrameBatch
from vidq.models.base import GenerateOptions, VideoInput
from vidq.models.openai_http import OpenAIBackend, is_local_url
from vidq.models.registry import load_backend


class FakeServer:
    """Answers POST /v1/chat/completions from a script of (status, body, headers)."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                outer.requests.append({"path": self.path, "headers": dict(self.headers),
                                       "body": json.loads(self.rfile.read(length))})
                status, body, headers = outer.script.pop(0) if outer.script else (200, _reply("ok"), {})
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _reply(text: str) -> dict:
    return {"id": "x", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 321, "completion_tokens": 5, "total_tokens": 326}}


def _video(n: int = 3) -> VideoInput:
    images = np.zeros((n, 24, 32, 3), dtype=np.uint8)
    images[:, :, :, 0] = 200
    batch = FrameBatch(images=images, pts=np.array([0.5, 2.5, 4.5][:n]), indices=np.arange(n))
    return VideoInput(batches=iter([batch]), times=[0.5, 2.5, 4.5][:n], subtitles=["hello there", "", "bye now"][:n],
                      duration=6.0)


def _backend(url: str, **kw) -> OpenAIBackend:
    waits: list[float] = []
    backend = OpenAIBackend("qwen-vl", api_base=url, key="sk-test", sleep=waits.append, **kw)
    backend.waits = waits  # type: ignore[attr-defined]
    return backend


def test_payload_interleaves_times_images_and_subtitles():
    with FakeServer([(200, _reply("  The cat sits.  "), {})]) as server:
        backend = _backend(server.url)
        result = backend.answer(_video(), "What happens?", GenerateOptions(max_new_tokens=50))
    assert result.text == "The cat sits."
    assert result.meta["frames"] == 3 and result.meta["context_length"] == 321
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "qwen-vl" and body["max_tokens"] == 50 and body["temperature"] == 0.0
    system, user = body["messages"]
    assert system["role"] == "system"
    kinds = [(c["type"], c.get("text")) for c in user["content"]]
    assert kinds[0][0] == "text" and kinds[0][1].startswith("3 frames from a 00:00:06.000 video")
    assert kinds[1:] == [("text", "[00:00.5]"), ("image_url", None), ("text", "hello there"),
                         ("text", "[00:02.5]"), ("image_url", None),
                         ("text", "[00:04.5]"), ("image_url", None), ("text", "bye now"),
                         ("text", "What happens?")]
    url = user["content"][2]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    from PIL import Image

    img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert img.format == "JPEG" and img.size == (32, 24)


def test_retries_429_and_5xx_with_backoff():
    script = [(429, {"error": {"message": "slow down"}}, {"Retry-After": "3"}),
              (503, {"error": {"message": "overloaded"}}, {}),
              (200, _reply("fine"), {})]
    with FakeServer(script) as server:
        backend = _backend(server.url)
        result = backend.answer(None, "hi", GenerateOptions())
    assert result.text == "fine"
    assert len(server.requests) == 3
    assert backend.waits == [3.0, 2.0]  # Retry-After honoured, then 1 s x 2^1


def test_gives_up_after_the_retries():
    with FakeServer([(500, {"error": "boom"}, {})] * 3) as server:
        backend = _backend(server.url, retries=2)
        with pytest.raises(ModelError, match="giving up after 3 attempts: HTTP 500 boom"):
            backend.answer(None, "hi", GenerateOptions())
    assert backend.waits == [1.0, 2.0]


def test_401_says_which_key_to_check():
    with FakeServer([(401, {"error": {"message": "Incorrect API key provided"}}, {})]) as server:
        backend = _backend(server.url)
        with pytest.raises(ModelError, match="HTTP 401 Incorrect API key provided; check VIDQ_API_KEY"):
            backend.answer(None, "hi", GenerateOptions())
    assert len(server.requests) == 1  # no retry on auth errors


def test_404_is_not_retried():
    with FakeServer([(404, {"error": {"message": "model 'x' not found"}}, {})]) as server, \
            pytest.raises(ModelError, match="404 model 'x' not found .is the model name right"):
        _backend(server.url).answer(None, "hi", GenerateOptions())
    assert len(server.requests) == 1


def test_connection_errors_are_retried_then_reported():
    backend = _backend("http://127.0.0.1:9/v1", retries=1, timeout=2)  # port 9: nothing listens
    with pytest.raises(ModelError, match="giving up after 2 attempts: cannot reach http://127.0.0.1:9/v1"):
        backend.answer(None, "hi", GenerateOptions())
    assert backend.waits == [1.0]


def test_key_from_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    assert OpenAIBackend("m", api_base="http://localhost:1/v1").key == "sk-openai"
    monkeypatch.setenv("VIDQ_API_KEY", "sk-vidq")
    assert OpenAIBackend("m", api_base="http://localhost:1/v1").key == "sk-vidq"


def test_offline_refuses_a_remote_server():
    with pytest.raises(InputError, match="--offline: --api-base https://api.example.com/v1 is not on this machine"):
        load_backend("openai:gpt-4o", api_base="https://api.example.com/v1", offline=True)
    backend = load_backend("openai:gpt-4o", api_base="http://localhost:8000/v1", offline=True)
    assert backend.name == "openai:gpt-4o"
    assert is_local_url("http://[::1]:8000/v1") and is_local_url("http://127.0.0.2/v1")
    assert not is_local_url("http://10.0.0.5/v1")


def test_compression_other_than_none_is_refused():
    with pytest.raises(InputError, match="--compress kv: an HTTP server gets frames as images"):
        OpenAIBackend("m", api_base="http://localhost:1/v1").prepare(None, "hi", GenerateOptions(compress="kv"))
