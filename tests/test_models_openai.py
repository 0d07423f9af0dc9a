"""The OpenAI-compatible HTTP backend against small fake servers on 127.0.0.1: the health
check before any work, vision decided per endpoint and model, bounded waits, the retry
rule, dropped prompts refused, --offline."""

from __future__ import annotations

import base64
import io
import socket
import time

import numpy as np
import pytest
from fake_openai import FakeServer, reply, text_only, vision

from vidq.errors import InputError, ModelError
from vidq.media.types import FrameBatch
from vidq.models.base import ContextExceeded, GenerateOptions, VideoInput
from vidq.models.openai_http import (
    OpenAIBackend,
    default_request_timeout,
    image_tokens,
    is_local_url,
)
from vidq.models.registry import load_backend
from vidq.models.server import context_from_error
from vidq.store import Store


def _video(n: int = 3, span=None) -> VideoInput:
    images = np.zeros((n, 24, 32, 3), dtype=np.uint8)
    images[:, :, :, 0] = 200
    batch = FrameBatch(images=images, pts=np.array([0.5, 2.5, 4.5][:n]), indices=np.arange(n))
    return VideoInput(batches=iter([batch]), times=[0.5, 2.5, 4.5][:n], subtitles=["hello there", "", "bye now"][:n],
                      duration=6.0, span=span)


def _backend(url: str, **kw) -> OpenAIBackend:
    waits: list[float] = []
    backend = OpenAIBackend("m", api_base=url, key="sk-test", sleep=waits.append, **kw)
    backend.waits = waits  # type: ignore[attr-defined]
    return backend


# -- requests -------------------------------------------------------------------------------
def test_payload_interleaves_times_images_and_subtitles():
    with FakeServer(chat=[(200, reply("  The cat sits.  ", prompt_tokens=900), {})]) as server:
        backend = _backend(server.url, vision="yes")
        result = backend.answer(_video(), "What happens?", GenerateOptions(max_new_tokens=50))
    assert result.text == "The cat sits."
    assert result.meta["frames"] == 3 and result.meta["context_length"] == 900
    request = server.chats()[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "m" and body["max_tokens"] == 50 and body["temperature"] == 0.0
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


def test_a_window_header_carries_its_real_start_and_end():
    with FakeServer(chat=[(200, reply("yes", prompt_tokens=900), {})]) as server:
        _backend(server.url, vision="yes").answer(_video(span=(0.5, 4.5)), "Is it red?", GenerateOptions())
    header = server.chats()[0]["body"]["messages"][1]["content"][0]["text"]
    assert header.startswith("3 frames from 00:00:00.500 to 00:00:04.500 of a 00:00:06.000 video")


def test_text_prompts_go_out_as_plain_strings():
    with FakeServer(chat=[(200, reply("fine"), {})]) as server:
        _backend(server.url, vision="no").answer(None, "Summarize: bees make honey.", GenerateOptions(system="S"))
    assert server.chats()[0]["body"]["messages"] == [{"role": "system", "content": "S"},
                                                    {"role": "user", "content": "Summarize: bees make honey."}]


def test_a_text_only_backend_refuses_frames():
    backend = _backend("http://127.0.0.1:9/v1", vision="no")
    assert backend.capabilities.sees_images is False and backend.capabilities.writes_text is True
    with pytest.raises(ModelError, match="does not take images"):
        backend.prepare(_video(), "hi", GenerateOptions())


# -- the retry rule and bounded waits --------------------------------------------------------
def test_retries_429_and_503_with_backoff():
    script = [(429, {"error": {"message": "slow down"}}, {"Retry-After": "3"}),
              (503, {"error": {"message": "overloaded"}}, {}),
              (200, reply("fine"), {})]
    with FakeServer(chat=script) as server:
        backend = _backend(server.url)
        result = backend.answer(None, "hi", GenerateOptions())
    assert result.text == "fine"
    assert len(server.chats()) == 3
    assert backend.waits == [3.0, 2.0]  # Retry-After honoured, then 1 s x 2^1


def test_gives_up_after_the_retries():
    with FakeServer(chat=[(502, {"error": "bad gateway"}, {})] * 3) as server:
        backend = _backend(server.url, retries=2)
        with pytest.raises(ModelError, match=r"HTTP 502 bad gateway \(gave up after 3 tries\)"):
            backend.answer(None, "hi", GenerateOptions())
    assert backend.waits == [1.0, 2.0]


@pytest.mark.parametrize("status", [400, 404, 422, 500, 501])
def test_other_errors_are_final(status):
    with FakeServer(chat=[(status, {"error": {"message": "no"}}, {})] * 3) as server:
        with pytest.raises(ModelError, match=f"HTTP {status} no"):
            _backend(server.url).answer(None, "hi", GenerateOptions())
    assert len(server.chats()) == 1


def test_401_says_which_key_to_check():
    with FakeServer(chat=[(401, {"error": {"message": "Incorrect API key provided"}}, {})]) as server:
        with pytest.raises(ModelError, match="HTTP 401 Incorrect API key provided; check VIDQ_API_KEY"):
            _backend(server.url).answer(None, "hi", GenerateOptions())
    assert len(server.chats()) == 1


def test_a_hanging_server_costs_one_request_timeout():
    with FakeServer(hang=("/v1/chat/completions",)) as server:
        backend = _backend(server.url, request_timeout=1.5)
        t0 = time.monotonic()
        with pytest.raises(ModelError, match=r"no answer within 1.5 s; a slow server needs a longer --request-timeout"):
            backend.answer(None, "hi", GenerateOptions())
        took = time.monotonic() - t0
    assert len(server.chats()) == 1 and backend.waits == []  # a timeout is not repeated
    assert took < 10


def test_a_dropped_connection_is_repeated():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    accepted = []

    def drop_all():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            conn.recv(65536)
            conn.close()

    import threading

    threading.Thread(target=drop_all, daemon=True).start()
    try:
        backend = _backend(f"http://127.0.0.1:{port}/v1", retries=1)
        with pytest.raises(ModelError, match=r"closed the connection without answering \(gave up after 2 tries\)"):
            backend.answer(None, "hi", GenerateOptions())
    finally:
        listener.close()
    assert len(accepted) == 2 and backend.waits == [1.0]


def test_default_request_timeout_is_sized_to_the_request():
    assert default_request_timeout(400, 100) == 65.0
    assert default_request_timeout(100_000, 2000) == 150.0  # capped: a stuck server costs at most this a try
    assert image_tokens(768) == 448 and image_tokens(384) == 112


# -- the health check --------------------------------------------------------------------------
def test_health_check_finds_the_model_and_the_context():
    with FakeServer(models=["Qwen/Qwen2.5-VL-7B-Instruct"], context=32768, chat=vision(lambda t: "ok")) as server:
        backend = _backend(server.url, vision="auto")
        backend.model = "qwen/qwen2.5-vl-7b-instruct"  # case differs: the server's spelling is used
        backend.connect()
    assert backend.model == "Qwen/Qwen2.5-VL-7B-Instruct"
    assert backend.capabilities.max_context == 32768 and backend.capabilities.sees_images is True
    assert server.requests[0]["method"] == "GET" and server.requests[0]["path"] == "/v1/models"


@pytest.mark.parametrize(("listed", "given"), [(["llama3:latest"], "llama3"),
                                               (["/models/smollm2.Q4_1.gguf"], "smollm2.Q4_1")])
def test_model_names_match_as_servers_spell_them(listed, given):
    with FakeServer(models=listed) as server:
        backend = OpenAIBackend(given, api_base=server.url, vision="no").connect()
    assert backend.model == listed[0]


def test_a_missing_model_is_named_with_what_the_server_has():
    with FakeServer(models=["llama3", "mistral"]) as server, \
            pytest.raises(ModelError, match=r"does not serve a model named 'gpt-4o'; it lists: llama3, mistral "
                                            r"\(use --model openai:llama3\)"):
        OpenAIBackend("gpt-4o", api_base=server.url).connect()
    assert [r["method"] for r in server.requests] == ["GET"]  # nothing was sent to a model


def test_root_without_v1_gets_the_v1_hint():
    with FakeServer() as server, pytest.raises(ModelError, match=r"answered HTTP 404 .*use --api-base .*/v1\)"):
        OpenAIBackend("m", api_base=server.root).connect()


def test_a_plain_web_server_is_not_openai_compatible():
    page = (200, b"<html><body>It works!</body></html>", {"Content-Type": "text/html"})
    with FakeServer(models_answer=page) as server, \
            pytest.raises(ModelError, match=r"is not an OpenAI-compatible API: GET /models answered text/html"):
        OpenAIBackend("m", api_base=server.url).connect()
    with FakeServer(models_answer=(501, b"Unsupported method", {"Content-Type": "text/plain"})) as server:
        with pytest.raises(ModelError, match=r"answered HTTP 501"):
            OpenAIBackend("m", api_base=server.url).connect()
        assert len(server.requests) == 1  # 501 is not repeated


def test_an_unreachable_server_fails_at_once():
    t0 = time.monotonic()
    with pytest.raises(ModelError, match=r"cannot reach http://127.0.0.1:9/v1 \(.*\); is the server running\?"):
        OpenAIBackend("m", api_base="http://127.0.0.1:9/v1").connect()
    assert time.monotonic() - t0 < 5


def test_only_a_timeout_while_connecting_is_called_unreachable(monkeypatch):
    """urllib wraps every timeout of a request in URLError; only the connect's is "cannot reach"."""
    from vidq.models.http import HttpClient, HttpFailure, HttpPolicy

    def no_connection(*args, **kw):
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    with pytest.raises(HttpFailure, match=r"cannot reach http://127.0.0.1:9/v1: no connection within 2 s") as e:
        HttpClient("http://127.0.0.1:9/v1", policy=HttpPolicy(connect_timeout=2.0)).request("GET", "/models", timeout=5)
    assert e.value.kind == "unreachable"
    monkeypatch.undo()

    class Slow(socket.socket):
        def sendall(self, *args, **kw):  # connected, then the upload times out
            raise TimeoutError("timed out")

    def slow_connection(address, *args, **kw):
        sock = Slow(socket.AF_INET, socket.SOCK_STREAM)
        sock.connect(address)
        return sock

    with FakeServer() as server:
        monkeypatch.setattr(socket, "create_connection", slow_connection)
        with pytest.raises(HttpFailure, match=r"POST .*/chat/completions: no answer within 5 s") as e:
            HttpClient(server.url).request("POST", "/chat/completions", {"x": 1}, timeout=5, retries=0)
    assert e.value.kind == "timeout"


def test_a_server_that_never_answers_models_fails_within_the_health_timeout(monkeypatch):
    monkeypatch.setattr("vidq.models.server.HEALTH_TIMEOUT_S", 1.0)
    with FakeServer(hang=("/v1/models",)) as server, pytest.raises(ModelError, match="no answer within 1 s"):
        OpenAIBackend("m", api_base=server.url).connect()


# -- vision: decided, probed, cached --------------------------------------------------------------
def test_a_text_model_that_drops_images_is_probed_as_text_only(tmp_path):
    store = Store(tmp_path)
    with FakeServer(chat=text_only(lambda t: "Blue.")) as server:
        backend = OpenAIBackend("m", api_base=server.url).connect(store)
        assert backend.capabilities.sees_images is False and backend.capabilities.writes_text is True
        assert "image added" in backend.vision_reason
        assert len(server.chats()) == 2
        again = OpenAIBackend("m", api_base=server.url).connect(store)  # cached per endpoint + model
        assert again.capabilities.sees_images is False and len(server.chats()) == 2
        assert again.vision_reason.startswith("cached probe")


def test_a_vision_model_is_probed_as_seeing():
    with FakeServer(chat=vision(lambda t: "ok")) as server:
        assert OpenAIBackend("m", api_base=server.url).connect().capabilities.sees_images is True


def test_a_server_refusing_images_is_text_only():
    def answer(body):
        if isinstance(body["messages"][-1]["content"], list):
            return 500, {"error": {"message": "Value is not a string"}}, {}
        return 200, reply("red", 20), {}

    with FakeServer(chat=answer) as server:
        backend = OpenAIBackend("m", api_base=server.url).connect()
    assert backend.capabilities.sees_images is False and "refused an image (500" in backend.vision_reason


def test_remote_vision_no_skips_the_probe():
    with FakeServer() as server:
        OpenAIBackend("m", api_base=server.url, vision="no").connect()
    assert server.chats() == []


# -- replies held to what was sent ------------------------------------------------------------------
def test_frames_refused_by_a_text_model_suggest_remote_vision_no():
    refusal = (500, {"error": {"message": 'can only concatenate str (not "list") to str'}}, {})
    with FakeServer(chat=[refusal]) as server, \
            pytest.raises(ModelError, match=r"HTTP 500 can only concatenate .*rerun with --remote-vision no"):
        _backend(server.url, vision="yes").answer(_video(), "What happens?", GenerateOptions())


def test_a_reply_to_a_mostly_dropped_prompt_is_refused():
    with FakeServer(chat=[(200, reply("As a video assistant, I can help.", prompt_tokens=62), {})]) as server:
        backend = _backend(server.url, vision="yes")
        with pytest.raises(ModelError, match=r"read 62 prompt tokens of about \d+ sent .*dropped most of the prompt.*"
                                             r"--remote-vision no"):
            backend.answer(_video(), "What happens?" + " and then?" * 20, GenerateOptions())


def test_a_prompt_longer_than_the_context_names_the_size():
    refusal = {"error": {"message": "This model's maximum context length is 2048 tokens. However, you requested "
                                    "5000 tokens (4900 in the messages, 100 in the completion).",
                         "type": "invalid_request_error"}}
    with FakeServer(chat=[(400, refusal, {})]) as server:
        backend = _backend(server.url, vision="no")
        with pytest.raises(ContextExceeded, match="longer than the server's 2048-token context; rerun with "
                                                  "--context 2048") as e:
            backend.answer(None, "x " * 10000, GenerateOptions())
    assert e.value.context == 2048 and backend.capabilities.max_context == 2048
    assert context_from_error('{"error":{"code":400,"type":"exceed_context_size_error","n_ctx":4096}}') == 4096


def test_frames_beyond_the_context_are_left_out_evenly_keeping_their_words():
    with FakeServer(chat=[(200, reply("ok", prompt_tokens=400), {})]) as server:
        backend = _backend(server.url, vision="yes", context=512)
        result = backend.answer(_video(3), "What happens?", GenerateOptions(max_new_tokens=16))
    assert result.meta["frames"] == 1
    parts = [(c["type"], c.get("text")) for c in server.chats()[0]["body"]["messages"][1]["content"]]
    assert parts[1:] == [("text", "[00:00.5]"), ("image_url", None), ("text", "hello there"), ("text", "bye now"),
                         ("text", "What happens?")]


def test_frames_are_fitted_to_the_context():
    backend = _backend("http://127.0.0.1:9/v1", vision="yes", context=8192)
    assert backend.suggest_frames(8, GenerateOptions()) == 8 and backend.frame_size == 768
    assert backend.suggest_frames(32, GenerateOptions()) == 32 and backend.frame_size == 384
    n = backend.suggest_frames(256, GenerateOptions())
    assert n == (8192 - 512 - 768) // (112 + 24) and backend.frame_size == 384


# -- options and --offline -------------------------------------------------------------------
def test_key_from_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    assert OpenAIBackend("m", api_base="http://localhost:1/v1").key == "sk-openai"
    monkeypatch.setenv("VIDQ_API_KEY", "sk-vidq")
    assert OpenAIBackend("m", api_base="http://localhost:1/v1").key == "sk-vidq"


def test_offline_refuses_a_remote_server():
    with pytest.raises(InputError, match="--offline: --api-base https://api.example.com/v1 is not on this machine"):
        load_backend("openai:gpt-4o", api_base="https://api.example.com/v1", offline=True)
    with FakeServer(models=["gpt-4o"]) as server:
        backend = load_backend("openai:gpt-4o", api_base=server.url, offline=True, remote_vision="no")
    assert backend.name == "openai:gpt-4o"
    assert is_local_url("http://[::1]:8000/v1") and is_local_url("http://127.0.0.2/v1")
    assert not is_local_url("http://10.0.0.5/v1")


@pytest.mark.parametrize(("kw", "message"), [({"vision": "maybe"}, "--remote-vision must be auto, yes or no"),
                                             ({"context": 100}, "--context must be at least 512"),
                                             ({"retries": 99}, "--retries must be between 0 and 10"),
                                             ({"request_timeout": 0}, "--request-timeout must be a positive")])
def test_bad_option_values_are_input_errors(kw, message):
    with pytest.raises(InputError, match=message):
        OpenAIBackend("m", api_base="http://localhost:1/v1", **kw)


def test_compression_other_than_none_is_refused():
    with pytest.raises(InputError, match="--compress kv: an HTTP server gets frames as images"):
        OpenAIBackend("m", api_base="http://localhost:1/v1").prepare(None, "hi", GenerateOptions(compress="kv"))
