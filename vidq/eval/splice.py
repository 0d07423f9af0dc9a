"""Needles spliced into the video file itself (``vidq eval niah --into-file``), cached.

- image / text / clip needles: the haystack is cut at ``depth x duration`` and the needle
  is inserted there as a segment of ``length`` seconds (a still picture, or the clip looped
  to that length), scaled and padded to the haystack's picture size and frame rate, with
  silence under it when the haystack has sound.  The file grows by ``length``.
- speech needles: the sentence is synthesised with espeak-ng and mixed into the audio at
  that time (an audio track is added when the haystack has none); the picture is copied.

``splice_length`` makes a spliced segment long enough that the sparsest uniform plan of the
grid samples it at least once.  Files are written by the ``ffmpeg`` binary (argument lists,
never a shell) and cached in the Store by the haystack's content key and the needle's
parameters, so reruns and other frame counts reuse them.  Knows nothing about scoring.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from vidq.errors import InputError, MediaError
from vidq.eval.needles import Needle, render_text_frame
from vidq.media import VideoInfo, probe, require_video
from vidq.models.base import Backend, GenerateOptions, VideoInput
from vidq.store import Store, atomic_path, params_digest
from vidq.tasks.pipeline import JobOptions, frame_batches, open_video

log = logging.getLogger("vidq.eval")

STAGE = "niah-splice/1"  # Store stage of spliced files
MARGIN = 1.1  # a spliced segment lasts this much more than one sampling interval of the sparsest plan
AUDIO_RATE = 48000  # Hz of the spliced file's audio
ESPEAK_VOICE = "en-us"
ESPEAK_WPM = 150


def _binary(name: str, why: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise InputError(f"{name} is not installed ({why}); install it, e.g. apt-get install {name}")
    return found


def splice_length(needle: Needle, duration: float, min_frames: int) -> float:
    """Seconds a spliced visual needle lasts: its own length, or longer so that a uniform plan
    of ``min_frames`` over the grown file still samples it (interval x ``MARGIN``)."""
    if needle.kind == "speech":
        return 0.0
    own = needle.seconds
    if needle.kind == "clip":
        assert needle.media is not None
        own = probe(needle.media).duration
    if min_frames < 2:
        raise InputError("--into-file needs frame counts of at least 2")
    need = MARGIN * duration / (min_frames - MARGIN)  # L >= MARGIN * (duration + L) / min_frames
    return round(max(own, need), 3)


def splice_time(depth: float, duration: float, length: float) -> float:
    """Where the needle starts: ``depth x duration``, kept inside the file for speech."""
    at = depth * duration
    if length > 0 and at > duration - length:  # speech is mixed in, so it must end before the file does
        at = max(0.0, duration - length)
    return round(at, 3)


def _fps(info: VideoInfo) -> float:
    video = require_video(info)
    rate = video.fps_average or video.fps_nominal or 25.0
    return round(min(max(rate, 1.0), 120.0), 3)


def _even_size(info: VideoInfo) -> tuple[int, int]:
    w, h = require_video(info).display_size
    return max(2, w - w % 2), max(2, h - h % 2)


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        tail = (proc.stderr or "").strip().splitlines()[-1:] or ["(no message)"]
        raise MediaError(f"ffmpeg could not {what}: {tail[0]}")


def speak(text: str, wav: Path) -> float:
    """Synthesise ``text`` with espeak-ng into ``wav``; returns its length in seconds."""
    espeak = _binary("espeak-ng", "needed to speak needles into the file")
    proc = subprocess.run([espeak, "-v", ESPEAK_VOICE, "-s", str(ESPEAK_WPM), "-w", os.fspath(wav), text],
                          check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0 or not wav.exists():
        raise MediaError(f"espeak-ng failed: {(proc.stderr or '').strip()[:200]}")
    import wave

    with wave.open(os.fspath(wav), "rb") as w:
        return w.getnframes() / float(w.getframerate())


def _insert_cmd(ffmpeg: str, haystack: Path, info: VideoInfo, visual: list[str], at: float, length: float,
                out: Path) -> list[str]:
    """ffmpeg arguments that insert the visual input ``visual`` at ``at`` seconds for ``length``."""
    w, h = _even_size(info)
    fps = _fps(info)
    audio = bool(info.audio_streams)
    fmt = f"setsar=1,fps={fps},format=yuv420p"
    cmd = [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", os.fspath(haystack), *visual]
    if audio:
        cmd += ["-f", "lavfi", "-t", f"{length}", "-i", f"anullsrc=r={AUDIO_RATE}:cl=stereo"]
    parts: list[str] = []
    graph = ["[0:v]split=2[hb][ha]",
             f"[hb]trim=end={at},setpts=PTS-STARTPTS,scale={w}:{h},{fmt}[v0]",
             f"[ha]trim=start={at},setpts=PTS-STARTPTS,scale={w}:{h},{fmt}[v2]",
             (f"[1:v]scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,{fmt},"
              f"trim=duration={length},setpts=PTS-STARTPTS[v1]")]
    afmt = f"aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"
    if audio:
        graph += ["[0:a]asplit=2[ab][aa]",
                  f"[ab]atrim=end={at},asetpts=PTS-STARTPTS,{afmt}[a0]",
                  f"[aa]atrim=start={at},asetpts=PTS-STARTPTS,{afmt}[a2]",
                  f"[2:a]atrim=duration={length},asetpts=PTS-STARTPTS,{afmt}[a1]"]
    order = (["0"] if at > 0 else []) + ["1"] + (["2"] if at < info.duration - 1e-3 else [])
    for k in order:
        parts.append(f"[v{k}][a{k}]" if audio else f"[v{k}]")
    if at <= 0:
        graph += ["[v0]nullsink"] + (["[a0]anullsink"] if audio else [])
    if at >= info.duration - 1e-3:
        graph += ["[v2]nullsink"] + (["[a2]anullsink"] if audio else [])
    graph.append("".join(parts) + f"concat=n={len(order)}:v=1:a={1 if audio else 0}" + ("[v][a]" if audio else "[v]"))
    cmd += ["-filter_complex", ";".join(graph), "-map", "[v]"]
    if audio:
        cmd += ["-map", "[a]", "-c:a", "aac", "-b:a", "96k"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-g", str(max(1, round(fps * 2))),
            "-f", "mp4", os.fspath(out)]
    return cmd


def _speech_cmd(ffmpeg: str, haystack: Path, info: VideoInfo, wav: Path, at: float, out: Path) -> list[str]:
    """ffmpeg arguments that mix ``wav`` into the haystack's sound at ``at`` seconds."""
    delay = round(at * 1000)
    afmt = f"aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"
    cmd = [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", os.fspath(haystack), "-i", os.fspath(wav)]
    if info.audio_streams:
        graph = (f"[1:a]{afmt},adelay={delay}:all=1[sp];[0:a]{afmt}[h];"
                 "[h][sp]amix=inputs=2:duration=first:normalize=0[a]")
    else:
        graph = f"[1:a]{afmt},adelay={delay}:all=1,apad=whole_dur={info.duration}[a]"
    return cmd + ["-filter_complex", graph, "-map", "0:v:0", "-map", "[a]", "-c:v", "copy", "-c:a", "aac",
                  "-b:a", "96k", "-t", f"{info.duration}", "-f", "mp4", os.fspath(out)]


def spliced_file(haystack: str | os.PathLike, info: VideoInfo, needle: Needle, depth: float, length: float, *,
                 store: Store | None, workdir: str | os.PathLike) -> tuple[Path, float]:
    """The haystack with ``needle`` spliced in at ``depth`` (cached); returns (path, needle start)."""
    ffmpeg = _binary("ffmpeg", "needed to splice needles into the file")
    hay = Path(haystack)
    with tempfile.TemporaryDirectory(prefix="vidq-splice-", dir=workdir) as tmp:
        tmpdir = Path(tmp)
        wav = tmpdir / "speech.wav"
        if needle.kind == "speech":
            assert needle.text is not None
            spoken = speak(needle.text, wav)
            at = splice_time(depth, info.duration, spoken + 0.2)
            content = {"text": needle.text, "voice": ESPEAK_VOICE, "wpm": ESPEAK_WPM}
        else:
            at = splice_time(depth, info.duration, 0.0)
            content = {"text": needle.text} if needle.kind == "text" else {"media": Store(None).file_key(needle.media)}  # type: ignore[arg-type]
        params = {"kind": needle.kind, "content": content, "at": at, "length": length,
                  "size": _even_size(info), "fps": _fps(info)}
        target = None
        if store is not None and store.enabled:
            target = store.entry_path(store.file_key(hay), STAGE, params, "mp4")
        if target is None:
            target = Path(workdir) / f"splice-{params_digest(params)}.mp4"
        if target.exists():
            return target, at
        t0 = time.perf_counter()
        if needle.kind == "speech":
            cmd_for = lambda out: _speech_cmd(ffmpeg, hay, info, wav, at, out)
        elif needle.kind == "clip":
            assert needle.media is not None
            visual = ["-stream_loop", "-1", "-t", f"{length}", "-i", os.fspath(needle.media)]
            cmd_for = lambda out: _insert_cmd(ffmpeg, hay, info, visual, at, length, out)
        else:
            png = tmpdir / "needle.png"
            _write_needle_png(needle, info, png)
            fps = _fps(info)
            visual = ["-loop", "1", "-framerate", f"{fps}", "-t", f"{length}", "-i", os.fspath(png)]
            cmd_for = lambda out: _insert_cmd(ffmpeg, hay, info, visual, at, length, out)
        with atomic_path(target) as out:
            _run(cmd_for(out), f"splice {needle.id} into {hay.name}")
        log.info("spliced %s into %s at %.1f s (%.1f s) in %.1f s", needle.id, hay.name, at, length,
                 time.perf_counter() - t0)
        return target, at


def _write_needle_png(needle: Needle, info: VideoInfo, png: Path) -> None:
    from PIL import Image

    if needle.kind == "text":
        assert needle.text is not None
        w, h = _even_size(info)
        Image.fromarray(render_text_frame(needle.text, w, h)).save(png)
    else:
        assert needle.media is not None
        shutil.copyfile(needle.media, png)


def run_file_cases(haystack: str | os.PathLike, todo: Sequence[tuple[int, float, Needle]], job: JobOptions,
                   backend: Backend, opts: Any, gen_options: GenerateOptions, *, device: str,
                   store: Store | None, workdir: str | os.PathLike | None) -> Iterator[dict[str, Any]]:
    """``--into-file`` cases: splice each (needle, depth) once, then run every frame count on it."""
    from vidq.eval.niah import _record, ask_needle
    from vidq.eval.record import measure

    info = probe(haystack, store=store)
    require_video(info)
    min_frames = min(opts.frames)
    groups: dict[tuple[str, float], list[int]] = {}
    by_key: dict[tuple[str, float], Needle] = {}
    for n, d, nd in todo:
        groups.setdefault((nd.id, d), []).append(n)
        by_key[(nd.id, d)] = nd
    with tempfile.TemporaryDirectory(prefix="vidq-niah-", dir=workdir) as tmp:
        for key, counts in groups.items():
            needle, depth = by_key[key], key[1]
            length = splice_length(needle, info.duration, min_frames)
            path, at = spliced_file(haystack, info, needle, depth, length, store=store, workdir=tmp)
            for n in counts:
                ctx = open_video(path, replace(job, frames=n), default_frames=n, store=store)
                times = ctx.plan.times
                inside = [i for i, t in enumerate(times) if at <= t < at + max(length, 1e-9)]
                slot = inside[0] if inside else None
                if needle.kind != "speech" and slot is None:
                    log.warning("%s at %.1f s: no sampled frame falls on the needle at %d frames", needle.id, at, n)
                has_text = any(ctx.subtitles)

                def make_input(ctx=ctx, has_text=has_text) -> VideoInput:
                    return VideoInput(batches=frame_batches(ctx, size=opts.size), times=ctx.plan.times,
                                      subtitles=ctx.subtitles if has_text else None, duration=ctx.end - ctx.start)

                with measure(device) as m:
                    verdict = ask_needle(backend, make_input, needle, strict=opts.strict, match=opts.match,
                                         options=gen_options)
                    m.note_backend(verdict.answer_s, verdict.meta)
                yield _record(needle, depth, n, len(times), slot, at, verdict, m.as_dict(), "file")
