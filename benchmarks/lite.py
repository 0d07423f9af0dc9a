"""The offline ``lite`` stack: speed of each part, and how faithful SmolLM2-135M is.

Speed (2 CPU cores are what the project targets; check ``uptime`` first):

* OCR frames/s on the short synthetic scenario (320x180, 1 frame/s): vidq's settings
  (detector at the frame's own size, no angle classifier) against RapidOCR's defaults
  (upscaling to 736 px on the short side, classifier on), same frames, same run; and the
  same frames as a stream, each read only where it changed (the default) against each
  changed frame read whole, with the share of frames whose lines read the same;
* MiniLM sentences/s (the default runtime; ``benchmarks/embed.py`` compares them);
* SmolLM2 load time (from the converted copy; ``--convert`` also times the one-off GGUF
  conversion into a temporary folder), prefill and decode tokens/s;
* scenario generation time (short, and hour with ``--hour``), wall and CPU seconds (the
  CPU time, ffmpeg and espeak-ng included, does not depend on how busy the machine is).

Faithfulness, on transcript-grounded tasks built from the scenario topics (12 topics of
7 sentences, 24 multiple-choice questions):

* multiple choice: each option's own words scored as the reply (mean log-probability),
  vs the option letter by next-token probability, vs the letter the model writes;
* yes/no "does this text mention X": next-token probability of Yes vs No;
* titles and one-sentence summaries: share of content words (and of numbers and names)
  that occur in the transcript; the extractive alternatives (keyphrases, the most central
  sentence) are 100% by construction, and we report how often each names the topic;
* retrieval vs context length: "What is the secret code?" with the needle at the start,
  middle and end of 256..4096 tokens of transcript.

Usage::

    python benchmarks/lite.py                 # everything but the hour scenario
    python benchmarks/lite.py --quick         # fewer items, no 4096-token contexts
    python benchmarks/lite.py --hour --json out.json
    python benchmarks/lite.py --skip speed,context   # faithfulness only
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from vidq.analysis import extractive as X
from vidq.testing import scenarios as SC

NEEDLE = "The secret code is 7 4 1."
CODES = ("741", "852", "369", "125")


def content_words(text: str) -> list[str]:
    return [w for w in X.words(text) if w not in X.STOPWORDS and len(w) > 2]


def stem(word: str) -> str:
    for suffix in ("ing", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def support(generated: str, source: str) -> tuple[float, list[str]]:
    """Share of the generated text's content words found (stemmed) in the source; and the
    unsupported numbers and capitalised names (invented facts)."""
    src = {stem(w) for w in X.words(source)}
    words = content_words(generated)
    ok = [stem(w) in src for w in words]
    facts = re.findall(r"\b(?:\d[\d.,]*|[A-Z][a-z]+(?:\s[A-Z][a-z]+)*)\b", generated)
    invented = [f for f in facts if not all(stem(w) in src or w in X.STOPWORDS for w in X.words(f))]
    return (sum(ok) / len(ok) if ok else 1.0), invented


# -- speed -------------------------------------------------------------------------------------
def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg, espeak-ng): load-independent."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def bench_scenarios(cache: Path, hour: bool) -> dict:
    out = {}
    for name, fn in (("short", SC.short_scenario), ("hour", SC.hour_scenario))[: 2 if hour else 1]:
        target = cache / f"fresh-{name}"
        shutil.rmtree(target, ignore_errors=True)
        t0 = time.perf_counter()
        c0 = _cpu_seconds()
        sc = fn(target)
        out[name] = {"seconds": round(time.perf_counter() - t0, 1), "cpu_seconds": round(_cpu_seconds() - c0, 1),
                     "duration": sc.duration, "events": len(sc.events), "qa": len(sc.qa)}
    return out


def bench_ocr(video: Path, quick: bool) -> dict:
    from rapidocr import RapidOCR

    from vidq.media import decode, plan_samples, probe
    from vidq.models.lite.ocr import OcrEngine, OcrOptions, normalize, ocr_frames

    info = probe(video)
    frames = np.concatenate([b.images for b in decode(video, plan_samples(info, fps=1.0))])
    if quick:
        frames = frames[:60]
    engine = OcrEngine()
    engine.read(frames[0])  # load outside the timing
    t0 = time.perf_counter()
    for img in frames:
        engine.read(img)
    ours = len(frames) / (time.perf_counter() - t0)
    default = RapidOCR(params={"Global.log_level": "error"})
    default(np.ascontiguousarray(frames[0][:, :, ::-1]))
    t0 = time.perf_counter()
    for img in frames:
        default(np.ascontiguousarray(img[:, :, ::-1]))
    theirs = len(frames) / (time.perf_counter() - t0)
    # near-duplicate skipping on a static stretch: the same frame 20 times
    from vidq.media.types import FrameBatch

    static = np.repeat(frames[:1], 20, axis=0)
    batch = FrameBatch(static, np.arange(20, dtype=np.float64), np.arange(20))
    t0 = time.perf_counter()
    texts = ocr_frames([batch], engine=engine)
    static_fps = 20 / (time.perf_counter() - t0)
    # the frames as a stream: read only where each changed (the default) vs every changed frame whole
    stream = FrameBatch(frames, np.arange(len(frames), dtype=np.float64), np.arange(len(frames)))
    runs = {}
    for name, share in (("whole", 0.0), ("partial", OcrOptions().partial_max)):
        eng = OcrEngine(OcrOptions(partial_max=share))
        eng.read(frames[0])
        t0 = time.perf_counter()
        runs[name] = ocr_frames([stream], engine=eng)
        runs[name + "_fps"] = len(frames) / (time.perf_counter() - t0)
    same = sum(sorted(normalize(ln.text) for ln in a.lines) == sorted(normalize(ln.text) for ln in b.lines)
               for a, b in zip(runs["whole"], runs["partial"]))
    return {"frames": len(frames), "size": list(frames.shape[2:0:-1]), "vidq_fps": round(ours, 2),
            "rapidocr_default_fps": round(theirs, 2), "speedup": round(ours / theirs, 2),
            "static_fps_with_dedup": round(static_fps, 1), "static_read": sum(not t.reused for t in texts),
            "stream_fps_whole": round(runs["whole_fps"], 2), "stream_fps_partial": round(runs["partial_fps"], 2),
            "stream_speedup": round(runs["partial_fps"] / runs["whole_fps"], 2),
            "stream_same_text_frames": f"{same}/{len(frames)}"}


def bench_embed() -> dict:
    from vidq.models.lite.embed import load_embedder

    t0 = time.perf_counter()
    emb = load_embedder()
    load = time.perf_counter() - t0
    texts = [s for t in SC.TOPICS for s in t.sentences] * 6  # 504 sentences
    emb.encode(texts[:8])
    t0 = time.perf_counter()
    vecs = emb.encode(texts)
    dt = time.perf_counter() - t0
    return {"load_seconds": round(load, 2), "runtime": emb.runtime, "sentences": len(texts),
            "sentences_per_second": round(len(texts) / dt, 1), "dim": int(vecs.shape[1])}


def bench_lm(convert: bool) -> tuple[dict, object]:
    import torch

    from vidq.models.lite import lm as LM

    out: dict = {}
    if convert:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            LM._convert(LM.gguf_path(), Path(tmp) / "x", torch, __import__("transformers"))
            out["convert_seconds"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    lm = LM.load_lm()
    out["load_seconds"] = round(time.perf_counter() - t0, 2)
    out["converted_this_run"] = lm.converted
    filler = " ".join(s for t in SC.TOPICS for s in t.sentences)
    prompt = lm.clip_tokens(filler, 1000)
    ids = lm.prompt_ids(prompt)
    with torch.inference_mode():
        lm.model(input_ids=ids[:, :32])
        t0 = time.perf_counter()
        lm.model(input_ids=ids)
        out["prefill_tokens_per_second"] = round(ids.shape[1] / (time.perf_counter() - t0), 1)
    reply = lm.chat("Write a short story about a lighthouse keeper.", max_new_tokens=64)
    out["decode_tokens_per_second"] = round(reply.tokens_per_second, 2)
    out["decode_tokens"] = reply.new_tokens
    return out, lm


# -- faithfulness ----------------------------------------------------------------------------
def topic_text(topic: SC.Topic) -> str:
    return " ".join(topic.sentences)


def bench_multiple_choice(lm, quick: bool, full: bool) -> dict:
    items = [(t, q) for t in SC.TOPICS for q in t.questions]
    if quick:
        items = items[:8]
    by_prob = by_text = by_option = 0
    for n, (topic, (_, question, options)) in enumerate(items):
        order = [(n + k) % 4 for k in range(4)]  # rotate so the answer is not always A
        shown = [options[o] for o in order]
        answer = "ABCD"[order.index(0)]
        body = (f"Transcript: {topic_text(topic)}\n\nQuestion: {question}\n"
                + "\n".join(f"{L}) {o}" for L, o in zip("ABCD", shown)) + "\nAnswer with the letter of the correct option.")
        letter, _ = lm.choose_letter(body)
        by_prob += letter == answer
        scores = lm.option_logprobs(f"Transcript: {topic_text(topic)}\n\nQuestion: {question}", shown)
        by_option += "ABCD"[int(np.argmax(scores))] == answer
        if full:
            reply = lm.chat(body, max_new_tokens=8)
            m = re.search(r"\b([ABCD])\b", reply.text)
            by_text += bool(m) and m.group(1) == answer
    return {"items": len(items), "accuracy_option_likelihood": round(by_option / len(items), 3),
            "accuracy_letter_next_token": round(by_prob / len(items), 3),
            "accuracy_letter_generated": round(by_text / len(items), 3) if full else None, "chance": 0.25}


def bench_yes_no(lm, quick: bool) -> dict:
    items = []
    for i, topic in enumerate(SC.TOPICS):
        other = SC.TOPICS[(i + 5) % len(SC.TOPICS)]
        present = content_words(topic.sentences[2])[0]
        absent = content_words(other.sentences[2])[0]
        if absent in X.words(topic_text(topic)):
            continue
        items.append((topic, present, True))
        items.append((topic, absent, False))
    if quick:
        items = items[:8]
    correct = yes_bias = 0
    for topic, word, truth in items:
        body = f"Text: {topic_text(topic)}\n\nDoes this text mention \"{word}\"? Answer Yes or No."
        p_yes, _ = lm.next_token_probs(body, ["Yes", "No"])
        correct += (p_yes > 0.5) == truth
        yes_bias += p_yes > 0.5
    return {"items": len(items), "accuracy": round(correct / len(items), 3),
            "said_yes": round(yes_bias / len(items), 3), "chance": 0.5}


def bench_titles_and_summaries(lm, quick: bool) -> dict:
    from vidq.models.lite.embed import load_embedder

    emb = load_embedder()
    topics = SC.TOPICS[:4] if quick else SC.TOPICS
    res = {"titles": [], "summaries": []}
    for topic in topics:
        text = topic_text(topic)
        others = [topic_text(t) for t in SC.TOPICS if t is not topic]
        key = X.words(topic.title)[0][:5]
        title = lm.chat(f"Transcript: {text}\n\nWrite a title of at most five words for this transcript.",
                        max_new_tokens=16).text.strip().strip('"')
        share, invented = support(title, text)
        extractive = X.title_from_phrases(X.keyphrases(text, others, k=2))
        res["titles"].append({"topic": topic.title, "lm": title, "lm_support": round(share, 3), "lm_invented": invented,
                              "lm_names_topic": key in title.lower(), "extractive": extractive,
                              "extractive_names_topic": key in extractive.lower()})
        summary = lm.chat(f"Transcript: {text}\n\nSummarize this transcript in one sentence.",
                          max_new_tokens=60).text.strip()
        share, invented = support(summary, text)
        vecs = emb.encode(list(topic.sentences))
        best = topic.sentences[X.select_sentences(vecs, 1)[0]]
        res["summaries"].append({"topic": topic.title, "lm": summary, "lm_support": round(share, 3),
                                 "lm_invented": invented, "extractive": best})
    titles, sums = res["titles"], res["summaries"]
    res["summary_stats"] = {
        "title_lm_mean_support": round(float(np.mean([t["lm_support"] for t in titles])), 3),
        "title_lm_fully_supported": round(float(np.mean([t["lm_support"] == 1.0 and not t["lm_invented"]
                                                         for t in titles])), 3),
        "title_lm_names_topic": round(float(np.mean([t["lm_names_topic"] for t in titles])), 3),
        "title_extractive_names_topic": round(float(np.mean([t["extractive_names_topic"] for t in titles])), 3),
        "summary_lm_mean_support": round(float(np.mean([s["lm_support"] for s in sums])), 3),
        "summary_lm_with_invented_facts": round(float(np.mean([bool(s["lm_invented"]) for s in sums])), 3),
    }
    return res


def bench_context_length(lm, quick: bool) -> dict:
    filler_sentences = [s for t in SC.TOPICS for s in t.sentences]
    lengths = (256, 1024) if quick else (256, 512, 1024, 2048, 4096)
    out = {}
    for length in lengths:
        gen_ok = mc_ok = 0
        positions = (0.1, 0.5, 0.9)
        for pos in positions:
            sentences, k = [], 0
            while lm.count_tokens(" ".join(sentences)) < length:
                sentences.append(filler_sentences[k % len(filler_sentences)])
                k += 1
            sentences.insert(round(pos * len(sentences)), NEEDLE)
            context = " ".join(sentences)
            body = f"Transcript: {context}\n\nWhat is the secret code?"
            reply = lm.chat(body, max_new_tokens=16)
            gen_ok += bool(re.search(r"7\W*4\W*1", reply.text))
            scores = lm.option_logprobs(body, ["7 4 1", "8 5 2", "3 6 9", "1 2 5"])
            mc_ok += int(np.argmax(scores)) == 0
        out[str(length)] = {"generated": round(gen_ok / len(positions), 3),
                            "option_likelihood": round(mc_ok / len(positions), 3)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer items, shorter contexts")
    ap.add_argument("--hour", action="store_true", help="also time building the hour scenario")
    ap.add_argument("--convert", action="store_true", help="also time the one-off GGUF conversion")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "vidq-bench-lite"), help="scenario folder")
    ap.add_argument("--full", action="store_true", help="also let the model write the option letter")
    ap.add_argument("--skip", default="", help="comma-separated sections to skip: speed,mc,yesno,writing,context")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()
    cache = Path(args.cache)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    results: dict = {"load_average": os.getloadavg(), "cpus": os.cpu_count(), "threads": args.threads}
    skip = set(filter(None, args.skip.split(",")))
    if "speed" not in skip:
        results["scenarios"] = bench_scenarios(cache, args.hour)
        print(json.dumps({"scenarios": results["scenarios"]}), flush=True)
        short = SC.short_scenario(cache / "fresh-short")
        results["ocr"] = bench_ocr(short.video, args.quick)
        print(json.dumps({"ocr": results["ocr"]}), flush=True)
        results["embed"] = bench_embed()
        print(json.dumps({"embed": results["embed"]}), flush=True)
    results["lm"], lm = bench_lm(args.convert)
    print(json.dumps({"lm": results["lm"]}), flush=True)
    sections = (("mc", "multiple_choice", lambda: bench_multiple_choice(lm, args.quick, args.full)),
                ("yesno", "yes_no", lambda: bench_yes_no(lm, args.quick)),
                ("writing", "writing", lambda: bench_titles_and_summaries(lm, args.quick)),
                ("context", "context_length", lambda: bench_context_length(lm, args.quick)))
    for key, name, run in sections:
        if key in skip:
            continue
        results[name] = run()
        print(json.dumps({name: results[name]}, indent=1 if key == "writing" else None), flush=True)
    results["load_average_end"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
