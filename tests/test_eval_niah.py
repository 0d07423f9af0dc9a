"""``vidq eval niah``: the grid runner on a scripted backend (exact grids), needles, splicing,
the CLI (table, JSON, PNG, resume), and the lite and tiny-VLM paths end to end."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from eval_support import ScriptedBackend, make_haystack

from vidq.cli.commands.eval import _niah_text
from vidq.errors import InputError
from vidq.eval import needles as nd
from vidq.eval.niah import (
    FrameCache,
    NiahOptions,
    depth_steps,
    first_slot,
    parse_frames,
    run_niah,
    summarize,
)
from vidq.media import decode, plan_samples, probe
from vidq.tasks.pipeline import JobOptions

JOB = JobOptions(model="scripted", subtitles="none")


@pytest.fixture(scope="session")
def haystack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_haystack(tmp_path_factory.mktemp("eval-niah") / "hay.mp4")


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> ScriptedBackend:
    """A ScriptedBackend reachable as ``--model scripted:x`` through the model registry."""
    from vidq.models import registry

    backend = ScriptedBackend()
    reg = registry.Registry()
    reg.add_family(registry.Family("scripted", load=lambda request: backend, scheme="scripted"))
    monkeypatch.setattr(registry, "_REGISTRY", reg)
    return backend


def test_depths_frames_and_slots():
    assert depth_steps(5) == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert depth_steps(1) == (0.5,)
    assert parse_frames("64, 16,64,2048") == (16, 64, 2048)
    for bad in ("", "a,b", "0", "9000"):
        with pytest.raises(InputError):
            parse_frames(bad)
    with pytest.raises(InputError):
        depth_steps(0)
    assert [first_slot(16, d) for d in depth_steps(5)] == [0, 4, 8, 12, 15]
    assert first_slot(10, 1.0, width=3) == 7 and first_slot(2, 0.5, width=5) == 0


def test_grid_is_exact_with_a_scripted_reader(haystack):
    backend = ScriptedBackend()
    needles = nd.default_needles(("text", "speech"), 1)
    opts = NiahOptions(depths=depth_steps(5), frames=(8, 16))
    items = list(run_niah(haystack, needles, JOB, backend, opts))
    assert [i["id"] for i in items][:4] == ["text-1@d0@n8", "speech-1@d0@n8", "text-1@d25@n8", "speech-1@d25@n8"]
    assert len(items) == 2 * 5 * 2
    # the reader looks at the first half of the positions only: depths 0 and 25% are seen
    summary = summarize(items, opts.depths, opts.frames)
    assert summary["grid"] == [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    assert summary["overall"]["correct"] == 8 and summary["overall"]["n"] == 20
    assert summary["by_kind"]["speech"]["correct"] == 4
    # every call saw exactly N frames of one shape: the needle took a slot, it did not add one
    for call, item in zip(backend.calls, items):
        assert call["frames"] == item["frames"] == call["positions"]
        assert len(call["shapes"]) == 1
    text_items = [i for i in items if i["kind"] == "text"]
    assert [i["slot"] for i in text_items if i["frames"] == 16] == [0, 4, 8, 12, 15]
    assert all(i["picks"] == (["A"] if i["correct"] else ["D"]) for i in items)


def test_strict_asks_every_rotation_and_open_answers(haystack):
    backend = ScriptedBackend()
    opts = NiahOptions(depths=(0.0, 1.0), frames=(8,), strict=True)
    items = list(run_niah(haystack, nd.default_needles(("text",), 1), JOB, backend, opts))
    assert len(backend.calls) == 2 * 4
    seen, unseen = items
    assert seen["correct"] and seen["picks"] == ["A", "A", "A", "A"]
    assert not unseen["correct"]
    open_items = list(run_niah(haystack, nd.default_needles(("speech",), 2, open_answers=True), JOB, ScriptedBackend(),
                               NiahOptions(depths=(0.0, 1.0), frames=(8,))))
    assert [i["correct"] for i in open_items] == [True, True, False, False]
    assert open_items[0]["replies"] == ["The secret word is pelican."]


def test_skip_resumes_without_decoding_finished_frame_counts(haystack):
    backend = ScriptedBackend()
    opts = NiahOptions(depths=(0.0,), frames=(8, 16))
    skip = {"text-1@d0@n8"}
    items = list(run_niah(haystack, nd.default_needles(("text",), 1), JOB, backend, opts, skip=skip))
    assert [i["id"] for i in items] == ["text-1@d0@n16"]
    assert len(backend.calls) == 1


def test_frame_cache_streams_what_was_decoded(haystack, tmp_path):
    info = probe(haystack)
    plan = plan_samples(info, frames=20)
    direct = np.concatenate([b.images for b in decode(haystack, plan, info=info, size=160)])
    cache = FrameCache(decode(haystack, plan, info=info, size=160, batch_size=7), 20, tmp_path)
    card = np.full_like(direct[0], 7)
    got = list(cache.batches({19: card}, plan.times))
    assert [len(b) for b in got] == [16, 4]
    images = np.concatenate([b.images for b in got])
    assert np.array_equal(images[:19], direct[:19]) and np.array_equal(images[19], card)
    assert got[1].pts[-1] == plan.times[19]
    cache.close()
    assert not cache.path.exists()


def test_needles_json_and_video_xl_layout(tmp_path):
    from PIL import Image

    Image.new("RGB", (40, 30), (200, 10, 10)).save(tmp_path / "red.png")
    (tmp_path / "needles.json").write_text(json.dumps({"needles": [
        {"id": "red", "kind": "image", "file": "red.png", "question": "What colour?",
         "options": ["A. blue", "B. red"], "answer": "B"},
        {"kind": "speech", "text": "The code is 7 4 1.", "question": "What is the code?", "answer": ["741", "7 4 1"]},
    ]}))
    red, code = nd.load_needles(tmp_path)
    assert (red.id, red.kind, red.options, red.answer, red.media) == ("red", "image", ("blue", "red"), 1, tmp_path / "red.png")
    assert (code.id, code.accepted, code.multiple_choice) == ("speech-2", ("741", "7 4 1"), False)
    frame = nd.needle_image(red, 80, 40)
    assert frame.shape == (40, 80, 3) and tuple(frame[20, 40]) == (200, 10, 10) and tuple(frame[20, 2]) == (0, 0, 0)
    vxl = tmp_path / "vxl"
    vxl.mkdir()
    Image.new("RGB", (10, 10)).save(vxl / "readingsky.png")
    (vxl / "qa.json").write_text(json.dumps({
        "retrieval_question": [("Question: What is the young man doing? Response the correct choice only.\n"
                                "Options:(A) cooking\n(B) sleeping\n(C) fighting\n(D) reading\nChoose the best option.")],
        "answer": ["D"], "needle": ["readingsky.png"]}))
    (sky,) = nd.load_needles(vxl / "qa.json")
    assert (sky.id, sky.question, sky.options, sky.answer) == (
        "readingsky", "What is the young man doing?", ("cooking", "sleeping", "fighting", "reading"), 3)


@pytest.mark.parametrize(("row", "message"), [
    ({"kind": "image", "file": "nope.png", "question": "q", "options": ["a", "b"], "answer": "A"}, "does not exist"),
    ({"kind": "text", "text": "t", "question": "q", "options": ["a", "b"], "answer": "C"}, "neither an option letter"),
    ({"kind": "text", "text": "t", "question": "q"}, "needs 'answer'"),
    ({"kind": "smell", "text": "t", "question": "q", "answer": "x"}, "is not one of"),
])
def test_bad_needles_are_input_errors(tmp_path, row, message):
    (tmp_path / "needles.json").write_text(json.dumps([row]))
    with pytest.raises(InputError, match=message):
        nd.load_needles(tmp_path)


def test_cli_prints_the_table_writes_png_json_and_resumes(cli, haystack, scripted, tmp_path):
    png = tmp_path / "grid.png"
    args = ["eval", "niah", "--haystack", haystack, "--model", "scripted:x", "--depths", "5", "--frames", "8,16",
            "--kinds", "text,speech", "--count", "1", "--subtitles", "none"]
    r = cli(*args, "--png", png)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("needle in a haystack: scripted, 2 needles (speech, text), sequence mode")
    table = lines[lines.index("depth \\ frames     8    16"):][:6]
    assert table[1:] == ["            0%  100%  100%", "           25%  100%  100%", "           50%    0%    0%",
                         "           75%    0%    0%", "          100%    0%    0%"]
    assert "overall: 40.0% (8/20, 95% CI 21.9%-61.3%)" in r.stdout
    from PIL import Image

    with Image.open(png) as img:
        assert img.size == (70 + 2 * 72 + 16, 56 + 5 * 40 + 40)
    out = tmp_path / "niah.json"
    r = cli(*args, "-o", out)
    assert r.exit_code == 0 and r.stdout == ""
    doc = json.loads(out.read_text())
    assert doc["schema"] == "vidq.eval.niah/1" and doc["summary"]["grid"][0] == [1.0, 1.0]
    assert doc["run"]["model"] == "scripted" and doc["run"]["versions"]["vidq"]
    assert len(doc["items"]) == 20 and all("timing" in i for i in doc["items"])
    sidecar = out.with_name("niah.json.items.jsonl")
    assert len(sidecar.read_text().splitlines()) == 21  # header + one line per case
    calls = len(scripted.calls)
    r = cli(*args, "-o", out)
    assert r.exit_code == 0 and len(scripted.calls) == calls  # nothing redone
    assert json.loads(out.read_text())["items"] == doc["items"]


@pytest.mark.parametrize(("extra", "message"), [
    (["--frames", "x"], "--frames"), (["--depths", "0"], "--depths"), (["--kinds", "smell"], "generated needles"),
    (["--needles", "/nonexistent/dir"], "--needles"), (["--match", "fuzzy"], "--match"),
])
def test_cli_bad_flags_exit_2(cli, haystack, scripted, extra, message):
    r = cli("eval", "niah", "--haystack", haystack, "--model", "scripted:x", *extra)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith("vidq: error:") and message in r.stderr and len(r.stderr.splitlines()) == 1


def test_cli_missing_haystack_exit_2(cli, scripted, tmp_path):
    r = cli("eval", "niah", "--haystack", tmp_path / "none.mp4", "--model", "scripted:x")
    assert r.exit_code == 2 and r.stdout == "" and "none.mp4" in r.stderr


@pytest.mark.slow
def test_lite_runs_the_grid_with_text_and_speech_needles(cli, haystack, tmp_path):
    """Done means: lite and generated needles, 5 depths x 4 frame counts, the table and the PNG.

    The grid uses a text needle (lite OCRs the card on the needle's frame); a speech needle
    (the subtitle line of its frame) is checked on a smaller grid to keep the suite short.
    """
    png = tmp_path / "lite.png"
    r = cli("eval", "niah", "--haystack", haystack, "--model", "lite", "--kinds", "text", "--count", "1",
            "--open", "--depths", "5", "--frames", "16,32,64,128", "--subtitles", "none", "--png", png,
            "-o", tmp_path / "lite.json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads((tmp_path / "lite.json").read_text())
    assert doc["run"]["model"] == "lite" and doc["frames"] == [16, 32, 64, 128]
    assert len(doc["summary"]["grid"]) == 5 and all(len(row) == 4 for row in doc["summary"]["grid"])
    assert len(doc["items"]) == 5 * 4
    assert doc["run"]["sees_images"] is False and all("sees" in i["used"] for i in doc["items"])
    assert doc["summary"]["overall"]["correct"] >= 15, [i["replies"] for i in doc["items"]]  # lite reads the card
    assert png.stat().st_size > 1000
    out = io.StringIO()
    _niah_text(out, doc)  # what the command prints without -o
    lines = out.getvalue().splitlines()
    assert lines[2] == "depth \\ frames    16    32    64   128"
    assert [ln.split()[0] for ln in lines[3:8]] == ["0%", "25%", "50%", "75%", "100%"]
    r = cli("eval", "niah", "--haystack", haystack, "--model", "lite", "--kinds", "speech", "--count", "1",
            "--open", "--depths", "2", "--frames", "16,32", "--subtitles", "none", "--json")
    assert r.exit_code == 0, r.stderr
    speech = json.loads(r.stdout)
    assert speech["summary"]["overall"]["n"] == 4 and speech["summary"]["overall"]["correct"] >= 3


@pytest.mark.slow
def test_tiny_vlm_runs_the_visual_needle_path(cli, haystack, tmp_path, tmp_path_factory):
    """A tiny random Qwen2.5-VL sees every needle frame; its answers are noise (near chance)."""
    from vidq.testing.tiny_models import tiny_model_dir

    model = tiny_model_dir("qwen2_5_vl", tmp_path_factory.getbasetemp() / "tiny-models")
    r = cli("eval", "niah", "--haystack", haystack, "--model", model, "--count", "2", "--depths", "5",
            "--frames", "4,8,16,32", "--size", "112", "--subtitles", "none", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert len(doc["items"]) == 2 * 5 * 4
    for item in doc["items"]:
        assert item["used"]["frames"] == item["frames"]  # every sampled frame, needle included, reached the model
        assert item["timing"]["ttft_s"] is not None and item["timing"]["ttft_s"] <= item["timing"]["answer_s"]
    assert doc["run"]["sees_images"] is True and doc["speed"]["median_ttft_s"] is not None
    overall = doc["summary"]["overall"]
    # random weights: no skill; the two needles' answers are A and B, so even a constant letter scores 50%
    assert overall["n"] == 40 and overall["accuracy"] <= 0.75


def test_into_file_splices_a_text_card_the_reader_finds(haystack, tmp_path):
    from vidq.eval.splice import splice_length, spliced_file
    from vidq.store import Store

    backend = ScriptedBackend()
    needles = nd.default_needles(("text",), 1)
    opts = NiahOptions(depths=(0.25,), frames=(8, 16), into_file=True, size=160)
    store = Store(tmp_path / "cache")
    items = list(run_niah(haystack, needles, JOB, backend, opts, store=store))
    info = probe(haystack)
    length = splice_length(needles[0], info.duration, 8)
    assert length == pytest.approx(1.1 * 60 / (8 - 1.1), abs=1e-3)
    path, at = spliced_file(haystack, info, needles[0], 0.25, length, store=store, workdir=tmp_path)
    assert at == 15.0 and path.is_relative_to(tmp_path / "cache")  # cached: the second call reuses the file
    assert probe(path).duration == pytest.approx(60 + length, abs=0.5)
    for item in items:
        assert item["mode"] == "file" and item["slot"] is not None and at <= item["time"] < at + length + 1
    # the spliced segment shows the card: light background, dark text
    from vidq.media.types import SamplePlan

    plan = SamplePlan((at + length / 2,), "uniform", "exact", 0.0, 0.0, probe(path).duration)
    (batch,) = decode(path, plan, size=160)
    mean = batch.images[0].reshape(-1, 3).mean(axis=0)
    assert np.all(np.abs(mean - np.array(nd.CARD_BACKGROUND)) < 40), mean
    speech = nd.default_needles(("speech",), 1)[0]
    path, at = spliced_file(haystack, info, speech, 0.5, 0.0, store=None, workdir=tmp_path)
    spliced = probe(path)
    assert spliced.audio is not None and spliced.duration == pytest.approx(60, abs=0.5) and at == 30.0
    from vidq.media import load_audio

    audio = load_audio(path)
    rms = [float(np.sqrt(np.mean(audio[int(t * 16000):int((t + 1) * 16000)] ** 2))) for t in (10, 30.2, 50)]
    assert rms[1] > 0.01 and rms[0] < 1e-3 and rms[2] < 1e-3  # the sentence is where it was put, and only there
