"""The jobs against an OpenAI-compatible server as users run them: a text-only model (a
llama.cpp-like fake whose template drops image messages) writes summaries, answers and find
verdicts from the sample's transcript; an unreachable server fails before any
transcription; a hanging one costs the request timeout; --timeout bounds the whole job."""

from __future__ import annotations

import json
import re
import time

import pytest
from fake_openai import FakeServer, counted_tokens, text_only

NOTE = "text-only model: saw what was said and written, not the pictures"


def writer(prompt: str) -> str:
    """A scripted text model: answers each kind of prompt vidq sends, always too long."""
    if "Reply with one letter only" in prompt:
        return "A"
    if "Options:" in prompt:
        return "A. Worker bees collect nectar, as said at [00:09]. They make honey from it. More."
    if "Question:" in prompt:
        return "Worker bees collect nectar from flowers [00:09]. They turn it into honey. Third sentence. Fourth."
    if "said or written on screen in these lines" in prompt:
        return "Yes, nectar is said at [00:09]."
    if "Title:" in prompt:
        return "Title: [00:01] What this part is about\nIt ends at [09:59]. First sentence. Second sentence. Third."
    if "summaries of the consecutive parts" in prompt:
        return "Title: The whole video\nOne. Two. Three. Four. Five. Six. Seven. Eight. Nine. Ten."
    return "I do not know."


def _run(cli, *args):
    r = cli(*args)
    assert "Traceback" not in r.stderr
    return r


def _remote(server, *extra):
    return ("--model", "openai:m", "--api-base", server.url, *extra)


def test_summarize_with_a_text_model(cli, sample_video, job_cache):
    video, _ = sample_video
    with FakeServer(chat=text_only(writer)) as server:
        r = _run(cli, "summarize", video, *_remote(server), "--json", "--cache-dir", job_cache)
        text = _run(cli, "summarize", video, *_remote(server), "--cache-dir", job_cache)
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["method"] == "text-model" and doc["sees_images"] is False
    assert doc["meta"]["text_only"] is True and NOTE in doc["notices"]
    assert len(doc["chapters"]) >= 2 and all(c["title"] == "What this part is about" for c in doc["chapters"])
    assert all(len(c["sentences"]) == 2 for c in doc["chapters"])  # medium: 2 a chapter, however much it wrote
    assert doc["summary"] == "One. Two. Three. Four."
    invented = len(doc["chapters"])  # each chapter's "It ends at [09:59]." cites a time the video does not have
    assert f"{invented} sentence(s) the model wrote cited times the video does not have and were left out" \
        in doc["notices"] and doc["meta"]["invented_sentences"] == invented
    chats = [c["body"] for c in server.chats()]
    assert all(isinstance(b["messages"][-1]["content"], str) for b in chats[2:])  # after the two vision probes
    chapter_prompts = [b["messages"][-1]["content"] for b in chats if "Title:" in str(b["messages"][-1]["content"])]
    assert any(re.search(r"\[00:0\d\] said: Worker bees collect nectar", p) for p in chapter_prompts)
    assert "bread" not in chapter_prompts[0].lower()  # each chapter gets its own lines
    assert text.exit_code == 0 and f"Note: {NOTE}" in text.stdout
    assert "lite backend cannot see" not in text.stdout


def test_ask_with_a_text_model(cli, sample_video, job_cache):
    video, _ = sample_video
    with FakeServer(chat=text_only(writer)) as server:
        mc = _run(cli, "ask", video, "What do worker bees collect?", "--choices", "A) nectar", "B) lava",
                  *_remote(server), "--json", "--cache-dir", job_cache)
        open_ = _run(cli, "ask", video, "What do worker bees collect?", *_remote(server), "--cache-dir", job_cache)
    assert mc.exit_code == 0, mc.stderr
    doc = json.loads(mc.stdout)
    assert doc["letter"] == "A" and doc["method"] == "text-model" and NOTE in doc["notices"]
    assert doc["citations"][0]["source"] == "speech" and "nectar" in doc["citations"][0]["text"]
    assert doc["citations"][0]["start"] - 1 <= 9.0 <= doc["citations"][0]["end"] + 1
    prompt = server.chats()[-2]["body"]["messages"][1]["content"]
    assert "Worker bees collect nectar" in prompt and "said:" in prompt  # the whole transcript fits
    assert open_.exit_code == 0
    first, *rest = open_.stdout.splitlines()
    assert first == "Worker bees collect nectar from flowers [00:09]. They turn it into honey."  # 2 sentences
    assert f"Note: {NOTE}" in rest


def test_a_shorter_context_named_by_the_server_gets_a_shorter_prompt(cli, sample_video, job_cache):
    video, _ = sample_video
    model = text_only(writer)
    refusal = {"error": {"message": "This model's maximum context length is 700 tokens. However, you requested more."}}

    def answer(body):
        if counted_tokens(body, drop_lists=True) > 360:  # the whole transcript is about 400
            return 400, refusal, {}
        return model(body)

    with FakeServer(chat=answer) as server:
        r = _run(cli, "ask", video, "What do worker bees collect?", *_remote(server, "--remote-vision", "no"),
                 "--json", "--cache-dir", job_cache)
    assert r.exit_code == 0, r.stderr
    assert "its context is 700 tokens; sending less of the video's text" in r.stderr
    doc = json.loads(r.stdout)
    sent = doc["meta"]["evidence_lines"]
    assert sent["left_out_to_fit"] > 0 and sent["sent"] >= 1
    first, second = server.chats()
    assert len(json.dumps(second["body"])) < len(json.dumps(first["body"]))


def test_ask_exits_3_when_the_reply_names_no_option(cli, sample_video, job_cache):
    video, _ = sample_video
    with FakeServer(chat=text_only(lambda prompt: "I cannot tell.")) as server:
        r = _run(cli, "ask", video, "What do worker bees collect?", "--choices", "A) nectar", "B) lava",
                 *_remote(server), "--cache-dir", job_cache)
    assert r.exit_code == 3
    assert r.stdout.splitlines()[0] == "(no option)" and "names no option: 'I cannot tell.'" in r.stdout
    assert len([c for c in server.chats() if "Options:" in str(c["body"])]) == 2  # asked once more, for a letter


def test_find_with_a_text_model(cli, sample_video, job_cache):
    video, _ = sample_video
    with FakeServer(chat=text_only(writer)) as server:
        r = _run(cli, "find", "nectar", video, *_remote(server), "--json", "--cache-dir", job_cache)
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    best = doc["hits"][0]
    assert best["verified_by"] == "openai:m" and best["reason"].endswith("; openai:m (text only): Yes, nectar is said "
                                                                         "at [00:09].")
    assert 0.95 < best["score"] < 1.0  # half the model's yes, half the exact term match
    assert best["start"] <= 13.0 and doc["meta"]["text_only"] is True


def test_an_unreachable_server_fails_before_any_transcription(cli, sample_video, tmp_path):
    video, _ = sample_video
    t0 = time.monotonic()
    r = _run(cli, "summarize", video, "--model", "openai:m", "--api-base", "http://127.0.0.1:9/v1",
             "--cache-dir", tmp_path / "cache")
    assert time.monotonic() - t0 < 10
    assert r.exit_code == 3 and r.stdout == ""
    assert re.fullmatch(r"vidq: error: cannot reach http://127.0.0.1:9/v1 \(.*\); is the server running\?\n",
                        r.stderr)
    assert not [p for p in (tmp_path / "cache").rglob("*") if "transcri" in p.name or "timeline" in p.name]


def test_no_v1_and_a_web_server_are_named(cli, sample_video, job_cache):
    video, _ = sample_video
    with FakeServer() as server:
        r = _run(cli, "ask", video, "why?", "--model", "openai:m", "--api-base", server.root, "--cache-dir", job_cache)
    assert r.exit_code == 3 and f"use --api-base {server.root}/v1" in r.stderr
    page = (200, b"<html>It works!</html>", {"Content-Type": "text/html"})
    with FakeServer(models_answer=page) as server:
        r = _run(cli, "find", "bees", video, *_remote(server), "--cache-dir", job_cache)
    assert r.exit_code == 3 and "not an OpenAI-compatible API" in r.stderr


def test_a_hanging_server_costs_the_request_timeout_from_the_config(cli, sample_video, job_cache, tmp_path):
    video, _ = sample_video
    config = tmp_path / "config.toml"
    config.write_text('remote_vision = "no"\nrequest_timeout = 2\nretries = 0\n', encoding="utf-8")
    with FakeServer(hang=("/v1/chat/completions",)) as server:
        t0 = time.monotonic()
        r = _run(cli, "--config", config, "ask", video, "What do bees collect?", *_remote(server),
                 "--cache-dir", job_cache)
        took = time.monotonic() - t0
    assert r.exit_code == 3 and "no answer within 2 s; a slow server needs a longer --request-timeout" in r.stderr, r.stderr
    assert len(server.chats()) == 1 and took < 30


def test_the_whole_job_stays_within_timeout(run_vidq, sample_video, job_cache):
    video, _ = sample_video
    with FakeServer(hang=("/v1/chat/completions",)) as server:
        t0 = time.monotonic()
        r = run_vidq("--timeout", "8", "summarize", video, *_remote(server, "--remote-vision", "no"),
                     "--cache-dir", job_cache)
        took = time.monotonic() - t0
    assert r.exit_code == 3 and "timed out after 8 s (--timeout)" in r.stderr, r.stderr
    assert took < 8 + 10


@pytest.mark.parametrize(("flag", "value", "message"), [("--remote-vision", "maybe", "--remote-vision must be auto"),
                                                        ("--context", "10", "--context must be a number"),
                                                        ("--retries", "50", "--retries must be between 0 and 10")])
def test_bad_remote_flags_are_usage_errors(cli, sample_video, flag, value, message):
    video, _ = sample_video
    r = _run(cli, "ask", video, "why?", "--model", "openai:m", flag, value)
    assert r.exit_code == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1
