"""Synthetic test videos built with the ``ffmpeg`` binary: distinct scenes, burned-in timestamps.

Public API::

    make_video(path, *, duration=4.0, size=(320, 240), fps=25.0, codec="h264", gop_seconds=2.0,
               bframes=2, scenes=None, n_scenes=None, burn_timestamp=True, texts=(), audio=None,
               vfr=False, jitter=0.0, rotation=0, pix_fmt="yuv420p", faststart=False, scenecut=True,
               preset="ultrafast", crf=28, extra_args=()) -> Path
    make_audio(path, *, duration=2.0, kind="tone") -> Path           # audio-only file
    Scene(duration, color=None, pattern=None)                       # one shot of a video
    TextOverlay(start, end, text)                                   # on-screen text at given times
    split_scenes(duration, n) -> list[Scene]                        # n equal scenes, distinct looks
    scene_starts(scenes) -> list[float]                             # start time of each scene
    parse_burned_time(text) -> float | None                         # "12.345" OCR text -> 12.345
    find_font() -> str                                              # a monospace TTF (DejaVu)

Every frame carries its own presentation time, drawn from the frame's PTS by ``drawtext``
as white digits ``SSSS.mmm`` on a black box in the top-left corner (about a sixth of the
frame height), so a test can OCR it or compare it with what a decoder reports.  Scenes
differ in background colour *and* pattern (a game of life, bars, a grid, a gradient),
so shot-change detection has something to find; each one also has motion, so encoders
produce real P/B-frames.

``vfr=True`` drops every other frame in the second half of each second, so frame
intervals alternate between ``1/fps`` and ``2/fps`` (the file is written with
``-fps_mode vfr``).  ``rotation`` (clockwise degrees, 90/180/270) is stored as a display
matrix, as a phone does: the pixels stay landscape, players rotate on display.  FFmpeg 5.1's
CLI cannot write one, so the finished MP4/MOV is remuxed through PyAV, which can.

Odd frame sizes need a pixel format without chroma subsampling for H.264
(``pix_fmt="yuv444p"``); :mod:`vidq.testing.broken` has ready-made awkward and broken files.
This module knows nothing about vidq's decoders: it only writes files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

# Background colours of successive scenes: far apart in hue and brightness (RGB hex).
PALETTE = (
    "0x1f4fd0",  # blue
    "0xd03a1f",  # red
    "0x2fa84a",  # green
    "0xe0c020",  # yellow
    "0x8a2fc0",  # purple
    "0x20b8c8",  # cyan
    "0xf08a30",  # orange
    "0x606060",  # grey
    "0xe060a0",  # pink
    "0x204020",  # dark green
)
PATTERNS = ("life", "bars", "grid", "gradient")  # what moves over each scene's background
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/TTF/DejaVuSansMono-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSansMono-Bold.ttf",
    "/Library/Fonts/Courier New Bold.ttf",
)
ENCODERS = {  # codec name -> (ffmpeg encoder, extra encoder args)
    "h264": ("libx264", ()),
    "hevc": ("libx265", ("-x265-params", "log-level=error")),
    "vp9": ("libvpx-vp9", ("-deadline", "realtime", "-cpu-used", "8")),
    "av1": ("libsvtav1", ("-preset", "12")),
    "mpeg4": ("mpeg4", ()),
    "mpeg2": ("mpeg2video", ()),
    "mjpeg": ("mjpeg", ()),
}
_TIME_RE = re.compile(r"(\d+)\s*[.,:]\s*(\d{3})")


@dataclass(frozen=True)
class Scene:
    """One shot of a generated video."""

    duration: float  # seconds
    color: str | None = None  # background colour (ffmpeg colour, e.g. "0x1f4fd0" or "red"); None: from PALETTE
    pattern: str | None = None  # one of PATTERNS; None: cycles through them


@dataclass(frozen=True)
class TextOverlay:
    """Text drawn on screen from ``start`` to ``end`` seconds (bottom centre, large)."""

    start: float  # seconds, inclusive
    end: float  # seconds, exclusive
    text: str  # any text; written to a file for drawtext, so no escaping rules apply


def split_scenes(duration: float, n: int) -> list[Scene]:
    """``n`` scenes of equal length covering ``duration`` seconds, each with its own look."""
    if n < 1:
        raise ValueError(f"need at least one scene, got {n}")
    return [Scene(duration / n) for _ in range(n)]


def scene_starts(scenes: Sequence[Scene]) -> list[float]:
    """Start time in seconds of each scene (the first is 0.0)."""
    starts, t = [], 0.0
    for scene in scenes:
        starts.append(t)
        t += scene.duration
    return starts


def parse_burned_time(text: str) -> float | None:
    """The time in a burned-in timestamp as read back (e.g. by OCR): ``"12.345"`` -> 12.345."""
    m = _TIME_RE.search(text.replace(" ", ""))
    return None if m is None else int(m.group(1)) + int(m.group(2)) / 1000.0


def find_font() -> str:
    """Path of a monospace TrueType font for drawtext (DejaVu Sans Mono; apt: fonts-dejavu-core)."""
    for cand in FONT_CANDIDATES:
        if os.path.exists(cand):
            return cand
    if shutil.which("fc-match"):
        out = subprocess.run(["fc-match", "-f", "%{file}", "monospace:bold"], check=False, capture_output=True, text=True)
        if out.returncode == 0 and out.stdout and os.path.exists(out.stdout):
            return out.stdout
    raise RuntimeError("no monospace TTF font found; install fonts-dejavu-core (apt) or fontconfig")


def _filter_path(path: str | os.PathLike) -> str:
    """Quote a path for use as a filter option value (inside single quotes)."""
    return "'" + str(path).replace("\\", "/").replace("'", r"'\''").replace(":", r"\:") + "'"


def _scene_graph(i: int, scene: Scene, size: tuple[int, int], fps: float | str, work_fmt: str) -> str:
    """Filter chain producing scene ``i`` as label ``[s{i}]``: coloured background + moving pattern."""
    w, h = size
    color = scene.color or PALETTE[i % len(PALETTE)]
    pattern = scene.pattern or PATTERNS[i % len(PATTERNS)]
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern!r}; choose from {PATTERNS}")
    d = f"{scene.duration:.6f}"
    pw, ph = max(2, (w // 3) // 2 * 2), max(2, (h // 3) // 2 * 2)
    bg = f"color=c={color}:s={w}x{h}:r={fps}:d={d},format={work_fmt}[b{i}]"
    if pattern == "life":  # Conway's game of life: moves everywhere, carries no text
        fg = (f"life=s={pw}x{ph}:r={fps}:ratio=0.3:seed={i + 1}:mold=8:life_color=white:death_color=black,"
              f"trim=duration={d},format={work_fmt}[f{i}]")
    elif pattern == "bars":
        fg = f"smptebars=s={pw}x{ph}:r={fps}:d={d},format={work_fmt}[f{i}]"
    elif pattern == "grid":
        fg = (f"color=c=white:s={pw}x{ph}:r={fps}:d={d},"
              f"drawgrid=w={max(2, pw // 6)}:h={max(2, ph // 6)}:t=2:c=black,format={work_fmt}[f{i}]")
    else:  # explicit colours: gradients draws its default ones at random on every run, whatever the seed
        c0, c1 = PALETTE[(i + 1) % len(PALETTE)], PALETTE[(i + 2) % len(PALETTE)]
        fg = f"gradients=s={pw}x{ph}:r={fps}:d={d}:speed=0.05:seed={i + 1}:c0={c0}:c1={c1},format={work_fmt}[f{i}]"
    # The pattern bounces horizontally; its row depends on the scene so layouts differ too.
    y = (h - ph) * ((i % 3) + 1) // 4
    x = f"abs(mod(t*{max(1, w // 4)}\\,2*(W-w))-(W-w))"
    return f"{bg};{fg};[b{i}][f{i}]overlay=x='{x}':y={y}:shortest=1:eval=frame[s{i}]"


def make_video(
    path: str | os.PathLike,
    *,
    duration: float = 4.0,
    size: tuple[int, int] = (320, 240),
    fps: float | str = 25.0,
    codec: str = "h264",
    gop_seconds: float = 2.0,
    bframes: int = 2,
    scenes: Sequence[Scene | float] | None = None,
    n_scenes: int | None = None,
    burn_timestamp: bool = True,
    texts: Sequence[TextOverlay] = (),
    audio: str | os.PathLike | None = None,
    vfr: bool = False,
    jitter: float = 0.0,
    rotation: int = 0,
    pix_fmt: str = "yuv420p",
    faststart: bool = False,
    scenecut: bool = True,
    preset: str = "ultrafast",
    crf: int = 28,
    extra_args: Sequence[str] = (),
) -> Path:
    """Write a synthetic video to ``path`` (container from the suffix) and return the path.

    ``scenes`` gives each shot (a ``Scene`` or a duration in seconds); otherwise
    ``n_scenes`` equal shots (default 1) fill ``duration``.  With explicit scenes the
    duration is their sum.  ``audio``: None (no audio stream), ``"tone"`` (440 Hz sine),
    ``"silence"``, or a path to an audio/video file whose first audio stream is used (cut to
    the video's length).  ``gop_seconds`` is the keyframe interval (``scenecut=False``
    forbids extra keyframes at scene changes); ``bframes`` the maximum consecutive B-frames.
    ``jitter`` (seconds, under half a frame interval) moves each frame's timestamp by a
    fixed pseudo-random amount, as a capture card's clock does (written as VFR).
    ``extra_args`` go to ffmpeg just before the output path.  ``fps`` may be a rational
    string (``"30000/1001"``).
    """
    out = Path(path)
    if codec not in ENCODERS:
        raise ValueError(f"unknown codec {codec!r}; choose from {sorted(ENCODERS)}")
    if rotation % 90 or rotation % 360 not in (0, 90, 180, 270):
        raise ValueError(f"rotation must be a multiple of 90, got {rotation}")
    if scenes is not None:
        shots = [s if isinstance(s, Scene) else Scene(float(s)) for s in scenes]
    else:
        shots = split_scenes(duration, n_scenes or 1)
    total = sum(s.duration for s in shots)
    if total <= 0:
        raise ValueError("duration must be positive")
    h = size[1]
    # compose in 4:2:0 when the output is 4:2:0 and even-sized (cheaper); else in 4:4:4
    work_fmt = "yuv420p" if pix_fmt == "yuv420p" and size[0] % 2 == 0 and size[1] % 2 == 0 else "yuv444p"
    parts = [_scene_graph(i, s, size, fps, work_fmt) for i, s in enumerate(shots)]
    joined = "".join(f"[s{i}]" for i in range(len(shots)))
    chain = f"{joined}concat=n={len(shots)}:v=1:a=0" if len(shots) > 1 else "[s0]null"
    if vfr:
        # keep every frame in the first half of each second, every other one in the second half
        chain += ",select='lt(mod(t\\,1)\\,0.5)+not(mod(n\\,2))'"
    if jitter:
        # a fixed pseudo-random offset per frame (sin of a large multiple of N), never reordering frames
        chain += f",setpts='PTS+{jitter:.6f}*sin(N*12.9898)/TB'"
    font = _filter_path(find_font())
    workdir = Path(tempfile.mkdtemp(prefix=".vidq-gen-", dir=out.parent if out.parent.exists() else None))
    try:
        if burn_timestamp:
            size_px = max(10, h // 6)
            stamp = "%{eif\\:trunc(round(t*1000)/1000)\\:d\\:4}.%{eif\\:mod(round(t*1000)\\,1000)\\:d\\:3}"
            chain += (f",drawtext=fontfile={font}:text='{stamp}':fontsize={size_px}:fontcolor=white"
                      f":box=1:boxcolor=black:boxborderw={max(2, size_px // 5)}:x={max(2, size_px // 5)}"
                      f":y={max(2, size_px // 5)}")
        for k, overlay in enumerate(texts):
            text_file = workdir / f"text{k}.txt"
            text_file.write_text(overlay.text, encoding="utf-8")
            size_px = max(10, h // 10)
            chain += (f",drawtext=fontfile={font}:textfile={_filter_path(text_file)}:fontsize={size_px}"
                      f":fontcolor=white:box=1:boxcolor=black@0.8:boxborderw={max(2, size_px // 4)}"
                      f":x=(w-text_w)/2:y=h-text_h-{size_px}"
                      f":enable='between(t\\,{overlay.start:.6f}\\,{overlay.end - 1e-6:.6f})'")
        chain += f",format={pix_fmt}[v]"
        graph = ";".join(parts + [chain])
        args = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        audio_map: list[str] = []
        if audio is not None:
            if str(audio) == "tone":
                graph += f";sine=frequency=440:sample_rate=48000:duration={total:.6f}[a]"
                audio_map = ["-map", "[a]"]
            elif str(audio) == "silence":
                graph += f";anullsrc=r=48000:cl=mono,atrim=duration={total:.6f}[a]"
                audio_map = ["-map", "[a]"]
            else:
                args += ["-i", str(audio)]
                audio_map = ["-map", "0:a:0"]
        encoder, enc_args = ENCODERS[codec]
        gop = max(1, round(gop_seconds * float(Fraction(str(fps)))))
        args += ["-filter_complex", graph, "-map", "[v]", *audio_map, "-c:v", encoder, *enc_args]
        if codec in ("h264", "hevc"):
            args += ["-preset", preset, "-crf", str(crf)]
        if codec in ("h264", "hevc", "mpeg4", "mpeg2"):
            args += ["-bf", str(bframes)]
        if codec != "mjpeg":
            args += ["-g", str(gop)]
        if codec == "h264" and not scenecut:
            args += ["-sc_threshold", "0"]
        if codec == "h264":
            args += ["-threads", "2"]
        if audio_map:
            args += ["-c:a", "libopus" if out.suffix.lower() == ".webm" else "aac", "-t", f"{total:.6f}"]
        args += ["-fps_mode", "vfr" if vfr or jitter else "passthrough"]
        if faststart and out.suffix.lower() in (".mp4", ".mov", ".m4v"):
            args += ["-movflags", "+faststart"]
        args += [*extra_args]
        target = workdir / f"video{out.suffix}" if rotation % 360 else out
        _run(args + [str(target)])
        if rotation % 360:
            _set_rotation(target, out, rotation % 360)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def make_audio(path: str | os.PathLike, *, duration: float = 2.0, kind: str = "tone") -> Path:
    """Write an audio-only file (``kind``: "tone" or "silence"; codec from the suffix's default)."""
    out = Path(path)
    src = (f"sine=frequency=440:sample_rate=48000:duration={duration:.6f}" if kind == "tone"
           else f"anullsrc=r=48000:cl=mono,atrim=duration={duration:.6f}")
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", src]
    if out.suffix.lower() in (".mp4", ".m4a"):
        args += ["-c:a", "aac"]
    _run(args + [str(out)])
    return out


def _run(args: list[str]) -> None:
    if shutil.which(args[0]) is None:
        raise RuntimeError(f"{args[0]} is not installed (apt install ffmpeg)")
    proc = subprocess.run(args, check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")


def _set_rotation(src: Path, dst: Path, clockwise: int) -> None:
    """Copy ``src`` to ``dst`` (packets untouched) with a display matrix rotating ``clockwise`` degrees."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w", format=_muxer_for(dst)) as outp:
        mapping = {}
        for stream in inp.streams:
            if stream.type not in ("video", "audio"):
                continue
            ostream = outp.add_stream_from_template(stream)
            if stream.type == "video" and not mapping:
                # PyAV takes the counter-clockwise angle, like the display matrix itself.
                ostream.set_display_rotation(-clockwise if clockwise <= 180 else 360 - clockwise)
            mapping[stream.index] = ostream
        for packet in inp.demux(*[inp.streams[i] for i in mapping]):
            if packet.dts is None:
                continue
            packet.stream = mapping[packet.stream.index]
            outp.mux(packet)


def _muxer_for(path: Path) -> str | None:
    return {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}.get(path.suffix.lower())

