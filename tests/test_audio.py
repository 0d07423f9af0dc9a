"""Audio extraction: contiguous float32 mono chunks on the file timeline, bad files rejected."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from vidq.errors import InputError, MediaError
from vidq.media.audio import iter_audio, load_audio
from vidq.testing.speech import make_speech_video, write_wav

RATE = 16000


@pytest.fixture(scope="module")
def ramp_wav(tmp_path_factory):
    """2.3 s of 16 kHz audio whose sample values are known exactly (a slow ramp)."""
    path = tmp_path_factory.mktemp("audio") / "ramp.wav"
    samples = np.linspace(-0.5, 0.5, int(2.3 * RATE), dtype=np.float32)
    write_wav(path, samples, RATE)
    return path, samples


def test_load_audio_returns_the_samples(ramp_wav):
    path, samples = ramp_wav
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.shape == samples.shape
    assert np.max(np.abs(audio - samples)) < 1e-4  # 16-bit quantization only


def test_chunks_are_contiguous_and_sized(ramp_wav):
    path, samples = ramp_wav
    chunks = list(iter_audio(path, chunk_seconds=0.5))
    assert [c.start for c in chunks] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert [c.samples.size for c in chunks] == [8000, 8000, 8000, 8000, 4800]
    assert np.max(np.abs(np.concatenate([c.samples for c in chunks]) - samples)) < 1e-4


def test_start_and_end_select_exact_samples(ramp_wav):
    path, samples = ramp_wav
    clip = load_audio(path, start=0.5, end=1.25)
    assert clip.shape == (12000,)
    assert np.max(np.abs(clip - samples[8000:20000])) < 1e-4
    chunks = list(iter_audio(path, start=1.0, chunk_seconds=1.0))
    assert [c.start for c in chunks] == [1.0, 2.0]
    assert load_audio(path, start=5.0).size == 0  # past the end
    assert list(iter_audio(path, start=1.0, end=1.0)) == []


def test_resampled_and_downmixed(tmp_path):
    """A 48 kHz stereo AAC track comes back as 16 kHz mono of the same duration."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    path = tmp_path / "stereo.m4a"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=48000:duration=2", "-ac", "2", "-c:a", "aac", str(path)],
                   check=True)
    audio = load_audio(path)
    assert abs(audio.size - 2 * RATE) <= 1024  # AAC pads to whole frames
    rms = float(np.sqrt(np.mean(audio[4000:28000] ** 2)))
    assert abs(rms - 0.125 / np.sqrt(2)) < 0.005  # lavfi sine: amplitude 1/8, both channels alike


def test_a_sample_rate_change_mid_stream_keeps_the_audio_in_step(tmp_path):
    """Two recordings joined byte for byte (48 kHz, then 44.1 kHz from 3 s on): the decoder's
    format changes mid-stream, the resampler is set up again, and nothing stops, drifts or doubles."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    parts = []
    for k, (freq, rate, offset) in enumerate([(440, 48000, 0), (880, 44100, 3)]):
        parts.append(tmp_path / f"part{k}.ts")
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        f"sine=frequency={freq}:sample_rate={rate}:duration=3", "-c:a", "aac",
                        "-output_ts_offset", str(offset), "-f", "mpegts", str(parts[-1])], check=True)
    joined = tmp_path / "joined.ts"
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    chunks = list(iter_audio(joined, chunk_seconds=2.0))
    for a, b in zip(chunks, chunks[1:]):
        assert b.start == pytest.approx(a.start + a.samples.size / RATE, abs=1e-9)
    audio = np.concatenate([c.samples for c in chunks])
    assert 6.0 <= audio.size / RATE <= 6.1  # both parts, AAC padding included, nothing doubled
    window = RATE // 50  # 20 ms: the pitch from zero crossings
    pitch = [np.count_nonzero(np.diff(np.signbit(audio[i:i + window]))) * 25 for i in range(0, audio.size - window, window)]
    assert all(400 <= f <= 480 for f in pitch[5:145]) and all(820 <= f <= 940 for f in pitch[155:295])
    change = next(i for i, f in enumerate(pitch) if f > 660) * window / RATE
    assert 2.98 <= change <= 3.06  # the second part starts where its timestamps put it


def test_late_audio_start_is_padded_with_silence(tmp_path):
    """Audio that starts 1 s into the file begins at sample 16000 of the extracted track."""
    src = tmp_path / "click.wav"
    samples = np.zeros(RATE, dtype=np.float32)
    samples[3200:3400] = 0.8  # a click at 0.2 s of the audio stream
    write_wav(src, samples, RATE)
    path = tmp_path / "late.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "color=c=gray:size=64x48:rate=10:duration=2.5", "-itsoffset", "1.0", "-i", str(src),
                    "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le",
                    str(path)], check=True)
    audio = load_audio(path)
    onset = int(np.flatnonzero(np.abs(audio) > 0.4)[0]) / RATE
    assert abs(onset - 1.2) < 0.01


def test_no_audio_stream(tmp_path):
    path = tmp_path / "mute.mp4"
    make_speech_video(path, [], 1.0, audio=False)
    with pytest.raises(MediaError, match="no audio stream"):
        load_audio(path)


def test_wrong_stream_index(ramp_wav):
    with pytest.raises(InputError, match="not an audio stream"):
        list(iter_audio(ramp_wav[0], stream_index=7))


@pytest.mark.parametrize("kind", ["missing", "directory", "random", "truncated"])
def test_unreadable_inputs_are_media_errors(tmp_path, kind):
    path = tmp_path / "bad.mp4"
    if kind == "directory":
        path = tmp_path
    elif kind == "random":
        path = tmp_path / "noise.mp3"
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 100_000, dtype=np.uint8).tobytes())
    elif kind == "truncated":
        good = tmp_path / "good.mp4"
        make_speech_video(good, [(0.2, "hello")], 2.0)
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError) as err:
        load_audio(path)
    assert "\n" not in str(err.value)
