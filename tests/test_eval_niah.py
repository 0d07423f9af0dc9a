"""``vidq eval niah``: the grid runner on a scripted backend (exact grids), needles, splicing,
the CLI (table, JSON, PNG, resume), and the lite and tiny-VLM paths end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from eval_support import ScriptedBackend, make_haystack

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
