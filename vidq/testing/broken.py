"""Broken, damaged and awkward media files for tests: each kind made on demand in a caller-given folder.

Public API::

    make_case(kind, directory) -> Path      # one file of that kind (cached: made once per folder)
    EXPECT[kind] -> Expect                  # what vidq must do with it (exit codes, damage reported)
    spoil(data, kind, at, length) -> bytes  # a whole file's bytes damaged as DAMAGED kind is (for a
                                            # test that compares with the undamaged original)
    BROKEN       # kinds no command can use: probe fails with exit 2
    NO_VIDEO     # kinds that probe fine but have no video (an idle video PID counts as none)
    UNDECODABLE  # kinds that probe fine but whose pictures cannot be decoded at all
    AWKWARD      # valid kinds that must work: VFR (also jittered), rotated, one frame, 4K, odd
                 # sizes, a phone clip, 10-bit/HDR, interlaced MPEG-2 in TS, audio and video of
                 # different lengths, a header claiming an absurd duration
    TIMING       # valid files whose timestamps are awkward: non-zero starts, edit lists, open GOPs,
                 # odd time bases, concat-joined parts, MPEG-TS starting late, wrapping its 33-bit
                 # PTS, spliced with a backward jump, jumping far forward, or repeating its timestamps
    DAMAGED      # files with garbage bytes, dropped packets or a cut-off end, whose readable part
                 # must be analysed with the damage reported
    DISCONTINUOUS  # the TIMING kinds whose clock jumps (two parts, one frame interval apart once mapped)

Clips are small (160x120, a few seconds) so the whole corpus builds in about a minute.  Files
with a burned-in clock come from :func:`vidq.testing.video.make_video`; the damaged ones
are made by overwriting, cutting or dropping bytes of such a file, the spliced ones by
joining MPEG-TS files byte for byte as ``cat a.ts b.ts`` does.  Knows nothing about vidq's
decoders.
"""

from __future__ import annotations

import os
import random
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vidq.testing.video import PALETTE, Scene, make_audio, make_video

BROKEN = ("zero-byte", "truncated", "text", "random-bytes", "subtitle-only", "empty")
NO_VIDEO = ("audio-only", "idle-video-ts")
UNDECODABLE = ("huge-frame",)
AWKWARD = ("video-only", "vfr", "rotated", "one-frame", "4k", "odd-size", "vfr-jitter", "phone", "hdr10", "high10",
           "interlaced-ts", "audio-longer", "video-longer", "huge-duration")
DISCONTINUOUS = ("spliced-ts", "jump-ts", "repeat-ts")
TIMING = ("start-offset", "edit-cut", "tb90000", "tb25", "ntsc-mkv", "ntsc-avi", "open-gop", "joined",
          "late-ts", "wrap-ts", *DISCONTINUOUS)
DAMAGED = ("truncated-faststart", "garbage-ts", "dropped-ts", "truncated-ts", "garbage-mp4", "garbage-mkv")
KINDS = BROKEN + NO_VIDEO + UNDECODABLE + AWKWARD + TIMING + DAMAGED


@dataclass(frozen=True)
class Expect:
    """What vidq must do with a kind of file."""

    probe: int  # exit code of `vidq probe`
    decode: int  # exit code of `vidq frames` (and of every job, unless ``job`` says otherwise)
    damaged: bool | None = False  # a successful decode reports damaged spans (None: it may or may not)
    job: int | None = None  # exit code of `vidq ads` where it differs from ``decode``

    @property
    def ads(self) -> int:
        return self.decode if self.job is None else self.job


EXPECT: dict[str, Expect] = {
    **{k: Expect(2, 2) for k in BROKEN},
    **{k: Expect(0, 2) for k in NO_VIDEO + UNDECODABLE},
    **{k: Expect(0, 0) for k in AWKWARD + TIMING},
    **{k: Expect(0, 0, True) for k in DAMAGED},
    "truncated-ts": Expect(0, 0, None),  # cut between packets or inside one: the demuxer may flag the last one
    "one-frame": Expect(0, 0, job=2),  # `vidq ads` needs a few seconds of video
}

FILE_NAMES = {
    "zero-byte": "zero-byte.mp4",
    "truncated": "truncated.mp4",
    "truncated-faststart": "truncated-faststart.mp4",
    "text": "notes.mp4",
    "random-bytes": "noise.mp4",
    "subtitle-only": "subtitles-only.mkv",
    "empty": "empty.mkv",
    "audio-only": "audio-only.mp4",
    "idle-video-ts": "radio.ts",
    "huge-frame": "huge-frame.avi",
    "video-only": "video-only.mp4",
    "vfr": "vfr.mp4",
    "rotated": "rotated.mp4",
    "one-frame": "one-frame.mp4",
    "4k": "uhd.mp4",
    "odd-size": "odd-size.mp4",
    "vfr-jitter": "jitter.mkv",
    "phone": "phone.mov",
    "hdr10": "hdr10.mkv",
    "high10": "high10.mp4",
    "interlaced-ts": "interlaced.ts",
    "audio-longer": "audio-longer.mp4",
    "video-longer": "video-longer.mkv",
    "huge-duration": "huge-duration.mkv",
    "start-offset": "start-offset.mp4",
    "edit-cut": "edit-cut.mp4",
    "tb90000": "tb90000.mp4",
    "tb25": "tb25.mp4",
    "ntsc-mkv": "ntsc.mkv",
    "ntsc-avi": "ntsc.avi",
    "open-gop": "open-gop.mp4",
    "joined": "joined.mp4",
    "late-ts": "late.ts",
    "wrap-ts": "wrap.ts",
    "spliced-ts": "spliced.ts",
    "jump-ts": "jump.ts",
    "repeat-ts": "repeat.ts",
    "garbage-ts": "garbage.ts",
    "dropped-ts": "dropped.ts",
    "truncated-ts": "truncated.ts",
    "garbage-mp4": "garbage.mp4",
    "garbage-mkv": "garbage.mkv",
}
KEEP_FRACTION = 0.6  # share of the bytes a truncated file keeps
TIMING_CLIP = {"duration": 8.0, "size": (160, 120), "n_scenes": 2, "gop_seconds": 2.0, "bframes": 3, "audio": "tone"}
DAMAGE_CLIP = {"duration": 8.0, "size": (160, 120), "n_scenes": 4, "gop_seconds": 1.0, "bframes": 3, "audio": "tone"}
PTS_WRAP = 2**33 / 90000  # seconds: where MPEG-TS's 33-bit 90 kHz PTS wraps to 0
SPLICE_PART = 4.0  # seconds of each part of a spliced capture
SPLICE_OFFSETS = {"spliced-ts": (600.0, 100.0), "jump-ts": (600.0, 4200.0), "repeat-ts": (600.0, 600.0)}  # clock starts
GARBAGE_BYTES = 24 * 1024  # bytes overwritten in the middle of a damaged file
DROPPED_PACKETS = 150  # 188-byte MPEG-TS packets cut out of the middle
HUGE_SIDE = 16000  # pixels a side the huge-frame kind's pictures claim
HUGE_DURATION_MS = 1e13  # what the huge-duration kind's header claims (about 317 years)


def make_case(kind: str, directory: str | os.PathLike) -> Path:
    """Make (once) and return a file of ``kind`` inside ``directory``."""
    if kind not in FILE_NAMES:
        raise ValueError(f"unknown kind {kind!r}; choose from {KINDS}")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAMES[kind]
    if path.exists():
        return path
    tmp = folder / f".partial-{FILE_NAMES[kind]}"
    if kind in TIMING:
        _make_timing(kind, tmp, folder)
    elif kind in DAMAGED:
        _make_damaged(kind, tmp, folder)
    elif kind in AWKWARD:
        _make_awkward(kind, tmp, folder)
    else:
        _make_unusable(kind, tmp, folder)
    os.replace(tmp, path)
    return path


def _make_unusable(kind: str, out: Path, folder: Path) -> None:
    """BROKEN, NO_VIDEO and UNDECODABLE kinds."""
    if kind == "zero-byte":
        out.write_bytes(b"")
    elif kind == "text":
        out.write_text("These are meeting notes, not a video.\nSee you on Monday.\n", encoding="utf-8")
    elif kind == "random-bytes":
        out.write_bytes(bytes((i * 7919 + 13) % 251 for i in range(64 * 1024)))
    elif kind == "truncated":
        _cut(make_video(folder / f".whole-{out.name}", duration=3.0, n_scenes=2, audio="tone"), out, KEEP_FRACTION)
    elif kind == "subtitle-only":
        srt = folder / f".{out.name}.srt"
        srt.write_text("1\n00:00:00,500 --> 00:00:02,000\nHello there\n\n2\n00:00:02,500 --> 00:00:04,000\n"
                       "Nothing else in this file\n", encoding="utf-8")
        _ffmpeg(["-i", str(srt), "-c:s", "srt", "-f", "matroska", str(out)])
        srt.unlink()
    elif kind == "empty":  # headers of a video and an audio stream, not one packet
        _ffmpeg(["-f", "lavfi", "-i", "color=c=red:s=160x120:r=25", "-f", "lavfi", "-i", "sine", "-t", "0",
                 "-c:v", "libx264", "-c:a", "aac", "-f", "matroska", str(out)])
    elif kind == "audio-only":
        make_audio(out, duration=2.0)
    elif kind == "idle-video-ts":  # a radio channel: the video PID is declared, never sent
        source = make_video(folder / f".source-{out.name}.mp4", duration=2.0, size=(160, 120), audio="tone")
        _remux(source, out, "mpegts", video_packets=False)
    elif kind == "huge-frame":  # every MJPEG frame claims 16000x16000 pixels
        source = make_video(folder / f".source-{out.name}", duration=2.0, size=(160, 120), fps=10.0, codec="mjpeg")
        data = bytearray(source.read_bytes())
        source.unlink()
        at = data.find(b"\xff\xc0")
        while at >= 0:  # SOF0: length (2), precision (1), height (2), width (2)
            if struct.unpack_from(">HH", data, at + 5) == (120, 160):
                struct.pack_into(">HH", data, at + 5, HUGE_SIDE, HUGE_SIDE)
            at = data.find(b"\xff\xc0", at + 2)
        out.write_bytes(bytes(data))


def _make_awkward(kind: str, out: Path, folder: Path) -> None:
    small = {"size": (160, 120), "n_scenes": 2, "audio": "tone"}
    if kind == "video-only":
        make_video(out, duration=2.0, n_scenes=2)
    elif kind == "vfr":
        make_video(out, duration=4.0, n_scenes=2, vfr=True, audio="tone")
    elif kind == "rotated":
        make_video(out, duration=2.0, size=(320, 180), n_scenes=2, rotation=90, audio="tone")
    elif kind == "one-frame":
        make_video(out, duration=0.04, fps=25.0)
    elif kind == "4k":
        make_video(out, duration=0.4, size=(3840, 2160), fps=10.0, gop_seconds=0.2)
    elif kind == "odd-size":
        make_video(out, duration=1.0, size=(321, 241), pix_fmt="yuv444p")
    elif kind == "vfr-jitter":  # a capture card's clock: every frame off by up to 8 ms, in a 1/1000 time base
        make_video(out, duration=4.0, **small, jitter=0.008)
    elif kind == "phone":  # portrait phone clip: odd size, stored landscape with a 270-degree display matrix
        make_video(out, duration=2.0, size=(241, 135), pix_fmt="yuv444p", rotation=270, n_scenes=2, audio="tone",
                   fps="30000/1001")
    elif kind == "hdr10":  # HEVC Main 10, BT.2020 primaries, PQ transfer
        make_video(out, duration=2.0, **small, codec="hevc", pix_fmt="yuv420p10le",
                   extra_args=["-x265-params", "log-level=error:colorprim=bt2020:transfer=smpte2084:"
                               "colormatrix=bt2020nc:hdr10=1:max-cll=1000,400",
                               "-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc"])
    elif kind == "high10":  # H.264 High 10
        make_video(out, duration=2.0, **small, pix_fmt="yuv420p10le")
    elif kind == "interlaced-ts":  # broadcast SD: interlaced MPEG-2 video, MP2 audio, in MPEG-TS
        source = make_video(folder / f".source-{out.name}", duration=2.0, size=(352, 288), n_scenes=2, codec="mpeg2",
                            gop_seconds=0.48, bframes=2, audio="tone",
                            extra_args=["-flags", "+ilme+ildct", "-top", "1", "-f", "mpegts"])
        _ffmpeg(["-i", str(source), "-map", "0", "-c:v", "copy", "-c:a", "mp2", "-f", "mpegts", str(out)])
        source.unlink()
    elif kind in ("audio-longer", "video-longer"):  # audio and video tracks that end 2 s apart
        long_audio = kind == "audio-longer"
        video = make_video(folder / f".v-{out.name}", duration=2.0 if long_audio else 4.0, size=(160, 120))
        audio = make_audio(folder / f".a-{out.name}.m4a", duration=4.0 if long_audio else 2.0)
        _ffmpeg(["-i", str(video), "-i", str(audio), "-map", "0:v", "-map", "1:a", "-c", "copy",
                 "-f", "mp4" if out.name.endswith(".mp4") else "matroska", str(out)])
        video.unlink()
        audio.unlink()
    elif kind == "huge-duration":  # the Matroska header claims centuries; the clusters hold 4 s
        source = make_video(folder / f".source-{out.name}", duration=4.0, **small)
        data = bytearray(source.read_bytes())
        source.unlink()
        at = data.find(b"\x44\x89")  # Segment Info / Duration (float, in TimecodeScale units: ms)
        width = data[at + 2] & 0x7F
        struct.pack_into(">d" if width == 8 else ">f", data, at + 3, HUGE_DURATION_MS)
        out.write_bytes(bytes(data))


def _make_timing(kind: str, out: Path, folder: Path) -> None:
    """One TIMING kind: an 8 s clip with burned-in clock (B-frames, AAC), remuxed, re-timed or spliced."""
    if kind == "tb90000":
        make_video(out, **TIMING_CLIP, extra_args=["-video_track_timescale", "90000"])
    elif kind == "tb25":
        make_video(out, **TIMING_CLIP, extra_args=["-video_track_timescale", "25"])
    elif kind == "ntsc-mkv":  # 1/1000 time base: frame times rounded to the millisecond
        make_video(out, **{**TIMING_CLIP, "fps": "30000/1001"})
    elif kind == "ntsc-avi":  # 1001/30000 time base; MPEG-4 Part 2 without B-frames, as AVI files hold
        make_video(out, **{**TIMING_CLIP, "fps": "30000/1001", "codec": "mpeg4", "bframes": 0})
    elif kind == "open-gop":
        make_video(out, **TIMING_CLIP, extra_args=["-x264-params", "open-gop=1"])
    elif kind == "joined":  # what `ffmpeg -f concat -c copy` makes of recordings joined end to end
        parts = []
        for i in range(3):
            part = folder / f".part{i}-{out.name}"
            looks = [Scene(2.0, color=PALETTE[(2 * i + j) % len(PALETTE)]) for j in range(2)]  # parts differ
            make_video(part, **{**TIMING_CLIP, "scenes": looks, "n_scenes": None, "gop_seconds": 1.0})
            parts.append(part)
        listing = folder / f".list-{out.name}.txt"
        listing.write_text("".join(f"file '{p.name}'\n" for p in parts), encoding="utf-8")
        _ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out)])
        for p in [*parts, listing]:
            p.unlink()
    elif kind in DISCONTINUOUS:  # two captures joined byte for byte (`cat a.ts b.ts`): the clock jumps between
        blob = b""
        for i, offset in enumerate(SPLICE_OFFSETS[kind]):
            part = folder / f".part{i}-{out.name}"
            looks = [Scene(SPLICE_PART / 2, color=PALETTE[(2 * i + j + 3) % len(PALETTE)]) for j in range(2)]
            sound = "silence" if i == 0 else "tone"  # the tone starts where the second part does
            make_video(part, **{**TIMING_CLIP, "scenes": looks, "n_scenes": None, "audio": sound},
                       extra_args=["-output_ts_offset", f"{offset:.6f}", "-f", "mpegts"])
            blob += part.read_bytes()
            part.unlink()
        out.write_bytes(blob)
    else:
        source = folder / f".source-{out.name}.mp4"
        make_video(source, **TIMING_CLIP)
        if kind == "start-offset":  # the video starts 7.3 s into the container's clock
            args = ["-i", str(source), "-c", "copy", "-output_ts_offset", "7.3", str(out)]
        elif kind == "edit-cut":  # stream copy from mid-GOP: an edit list hides the GOP's first frames
            args = ["-ss", "1.3", "-i", str(source), "-c", "copy", str(out)]
        elif kind == "late-ts":  # a capture that starts at a large PTS
            args = ["-i", str(source), "-c", "copy", "-output_ts_offset", "80000", "-f", "mpegts", str(out)]
        else:  # wrap-ts: the PTS passes 2^33 ticks 3.7 s in and starts again near 0
            args = ["-i", str(source), "-c", "copy", "-output_ts_offset", f"{PTS_WRAP - 3.7:.6f}",
                    "-f", "mpegts", str(out)]
        _ffmpeg(args)
        source.unlink()


def _make_damaged(kind: str, out: Path, folder: Path) -> None:
    """One DAMAGED kind: an 8 s clip (1 s GOPs, B-frames, AAC) with bytes overwritten, cut out or cut off."""
    if kind == "truncated-faststart":  # the index comes first and promises more data than the file holds
        whole = make_video(folder / f".whole-{out.name}", duration=3.0, n_scenes=2, audio="tone", faststart=True)
        _cut(whole, out, KEEP_FRACTION)
        return
    whole = make_video(folder / f".whole-{out.name}", **DAMAGE_CLIP, extra_args=damage_source_args(kind))
    out.write_bytes(spoil(whole.read_bytes(), kind))
    whole.unlink()


def damage_source_args(kind: str) -> list[str]:
    """Extra ``make_video`` arguments of the clip a DAMAGED kind spoils (its container)."""
    return {"garbage-mp4": ["-f", "mp4"], "garbage-mkv": ["-f", "matroska"]}.get(kind, ["-f", "mpegts"])


def spoil(data: bytes, kind: str, at: int | None = None, length: int = GARBAGE_BYTES) -> bytes:
    """The bytes of a whole file damaged the way DAMAGED ``kind`` is (deterministic); the damage
    begins at byte ``at`` (default: the middle of the file), and noise runs ``length`` bytes."""
    middle = len(data) // 2 if at is None else at
    if kind == "truncated-ts":  # a capture cut off mid-GOP, mid-packet
        return data[: int(len(data) * KEEP_FRACTION) + 77]
    if kind == "dropped-ts":  # packets lost in transmission
        cut = middle // 188 * 188
        return data[:cut] + data[cut + DROPPED_PACKETS * 188:]
    # garbage-*: a run of bytes overwritten with noise (a bad sector, a corrupt download)
    noise = random.Random(kind).randbytes(length)
    return data[:middle] + noise + data[middle + length:]


def _cut(whole: Path, out: Path, keep: float) -> None:
    data = whole.read_bytes()
    whole.unlink()
    out.write_bytes(data[: int(len(data) * keep)])


def _remux(source: Path, out: Path, fmt: str, *, video_packets: bool) -> None:
    """Copy ``source``'s streams into ``out`` (format ``fmt``), dropping every video packet unless ``video_packets``."""
    import av

    with av.open(str(source)) as inp, av.open(str(out), "w", format=fmt) as outp:
        mapping = {s.index: outp.add_stream_from_template(s) for s in inp.streams if s.type in ("video", "audio")}
        for packet in inp.demux(*[inp.streams[i] for i in mapping]):
            if packet.dts is None or (packet.stream.type == "video" and not video_packets):
                continue
            packet.stream = mapping[packet.stream.index]
            outp.mux(packet)
    source.unlink()


def _ffmpeg(args: list[str]) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args], check=True,
                   capture_output=True)
