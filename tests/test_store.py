import errno
import json
import logging
import os
import random
import time

import numpy as np
import pytest

from vidq.store import LAYOUT_VERSION, STALE_SECONDS, Store, encode_json, lock
from vidq.store.atomic import atomic_write_bytes, file_mode

KEY = "ab" * 20


def test_json_roundtrip_and_content_key(tmp_path):
    a = tmp_path / "a.bin"
    b = tmp_path / "b.bin"
    a.write_bytes(b"same content")
    b.write_bytes(b"same content")
    store = Store(tmp_path / "cache")
    ka, kb = store.file_key(a), store.file_key(b)
    assert ka == kb and len(ka) == 40
    assert store.get_json(ka, "probe/1", {"x": 1}) is None
    assert store.put_json(ka, "probe/1", {"x": 1}, {"duration": 12.5})
    assert store.get_json(kb, "probe/1", {"x": 1}) == {"duration": 12.5}
    assert store.get_json(kb, "probe/1", {"x": 2}) is None


def test_changed_file_changes_key(tmp_path):
    a = tmp_path / "a.bin"
    a.write_bytes(b"one")
    store = Store(tmp_path / "cache")
    k1 = store.file_key(a)
    a.write_bytes(b"two!")
    assert store.file_key(a) != k1


def test_corrupt_entry_is_a_miss_and_removed(tmp_path):
    store = Store(tmp_path / "cache")
    store.put_json(KEY, "t/1", {}, [1, 2])
    path = store.entry_path(KEY, "t/1", {}, "json")
    path.write_text("{truncated")
    assert store.get_json(KEY, "t/1", {}) is None
    assert not path.exists()


def test_arrays_and_info_and_clear(tmp_path):
    store = Store(tmp_path / "cache")
    store.put_arrays("cd" * 20, "feat/1", {"n": 3}, {"x": np.arange(3)})
    got = store.get_arrays("cd" * 20, "feat/1", {"n": 3})
    assert list(got) == ["x"]
    np.testing.assert_array_equal(got["x"], np.arange(3))
    info = store.info()
    assert info.files == 1 and info.stages == {"feat/1": 1}
    store.clear()
    assert store.info().files == 0


def test_disabled_store_stores_nothing(tmp_path):
    store = Store(None)
    assert not store.put_json("ef" * 20, "t/1", {}, 1)
    assert store.get_json("ef" * 20, "t/1", {}) is None
    assert not store.enabled
    assert store.memo(None, "t/1", {}, lambda: 7) == 7


def _damage(data: bytes, rng: random.Random) -> bytes:
    how = rng.randrange(4)
    if how == 0:
        return data[: rng.randrange(len(data))]  # truncated (zero bytes included)
    if how == 1:
        buf = bytearray(data)
        buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)  # one flipped bit
        return bytes(buf)
    if how == 2:
        return rng.randbytes(len(data))
    return data + rng.randbytes(rng.randint(1, 64))  # trailing garbage


@pytest.mark.parametrize("kind", ["json", "arrays"])
def test_a_damaged_entry_is_never_returned_and_never_raises(tmp_path, kind):
    store = Store(tmp_path / "cache")
    value = {"words": [{"text": "bee", "start": 1.25, "end": 1.5}] * 20, "language": "en"}
    arrays = {"times": np.linspace(0, 9, 50), "hashes": np.arange(50, dtype=np.uint64)}
    if kind == "json":
        store.put_json(KEY, "t/1", {"n": 1}, value)
        path = store.entry_path(KEY, "t/1", {"n": 1}, "json")
    else:
        store.put_arrays(KEY, "t/1", {"n": 1}, arrays)
        path = store.entry_path(KEY, "t/1", {"n": 1}, "npz")
    good = path.read_bytes()
    rng = random.Random(1)
    for _ in range(300):
        path.write_bytes(_damage(good, rng))
        got = store.get_json(KEY, "t/1", {"n": 1}) if kind == "json" else store.get_arrays(KEY, "t/1", {"n": 1})
        if got is None:
            assert not path.exists()  # healed: the next run recomputes it
        elif kind == "json":  # only a change that leaves the bytes meaning the same may pass
            assert got == value
        else:
            assert got.keys() == arrays.keys()
            assert all(np.array_equal(got[k], arrays[k]) for k in arrays)


def test_entries_of_another_layout_stage_or_parameters_are_misses(tmp_path):
    store = Store(tmp_path / "cache")
    path = store.entry_path(KEY, "t/1", {"n": 1}, "json")
    path.parent.mkdir(parents=True)
    old = json.loads(encode_json("t/1", {"n": 1}, 5).split(b"\n")[0])
    old["layout"] = LAYOUT_VERSION - 1
    path.write_bytes(json.dumps(old).encode() + b"\n" + b"5")
    assert store.get_json(KEY, "t/1", {"n": 1}) is None and not path.exists()
    path.write_bytes(encode_json("t/2", {"n": 1}, 5))  # another stage's entry under this name
    assert store.get_json(KEY, "t/1", {"n": 1}) is None and not path.exists()
    path.write_bytes(encode_json("t/1", {"n": 2}, 5))  # other parameters under this name
    assert store.get_json(KEY, "t/1", {"n": 1}) is None and not path.exists()
    store.put_json(KEY, "t/1", {"n": 1}, 5)
    assert store.get_json(KEY, "t/1", {"n": 1}) == 5


def test_memo_computes_once_then_reads(tmp_path):
    store = Store(tmp_path / "cache")
    calls = []

    def compute():
        calls.append(1)
        return {"a": [1, 2]}

    assert store.memo(KEY, "t/1", {}, compute) == {"a": [1, 2]}
    assert store.memo(KEY, "t/1", {}, compute) == {"a": [1, 2]}
    assert len(calls) == 1
    arrays = store.memo(KEY, "f/1", {}, lambda: {"x": np.arange(4)}, kind="arrays")
    again = store.memo(KEY, "f/1", {}, lambda: pytest.fail("recomputed"), kind="arrays")
    assert np.array_equal(arrays["x"], again["x"])
    assert list(store.base.rglob(".*.lock")) == []  # the holder removes its lock file


def test_memo_treats_a_value_its_loader_rejects_as_damaged(tmp_path):
    store = Store(tmp_path / "cache")
    store.put_json(KEY, "t/1", {}, {"wrong": "shape"})
    got = store.memo(KEY, "t/1", {}, lambda: (3, 4), dump=list, load=lambda v: (v["a"], v["b"]))
    assert got == (3, 4)
    assert store.get_json(KEY, "t/1", {}) == [3, 4]  # replaced by the recomputed value


def test_memo_with_a_failing_compute_leaves_nothing(tmp_path):
    store = Store(tmp_path / "cache")
    with pytest.raises(ZeroDivisionError):
        store.memo(KEY, "t/1", {}, lambda: 1 / 0)
    assert [p for p in store.base.rglob("*") if p.is_file() and p.name != ".last-sweep"] == []


def test_a_cache_that_cannot_be_written_warns_once_and_still_delivers(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    store = Store(blocker / "cache")  # ENOTDIR for every write, even as root
    video = tmp_path / "v.bin"
    video.write_bytes(b"x")
    with caplog.at_level(logging.WARNING, logger="vidq.store"):
        key = store.file_key(video)
        assert store.memo(key, "t/1", {}, lambda: 41) == 41
        assert store.memo(key, "t/2", {}, lambda: 42, kind="json") == 42
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(f"cannot write to the cache {blocker / 'cache'}")


def test_a_full_disk_leaves_no_partial_entry(tmp_path, monkeypatch, caplog):
    store = Store(tmp_path / "cache")
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with caplog.at_level(logging.WARNING, logger="vidq.store"):
        assert not store.put_arrays(KEY, "f/1", {}, {"x": np.arange(1000)})
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert [p for p in store.root.rglob("*") if p.is_file()] == []
    assert "No space left on device" in caplog.text


def test_sweep_removes_old_temporaries_and_unheld_locks_only(tmp_path):
    store = Store(tmp_path / "cache")
    store.put_json(KEY, "t/1", {}, 1)
    folder = store.entry_path(KEY, "t/1", {}, "json").parent
    old_temp, new_temp = folder / ".x.json.aaaa.tmp", folder / ".x.json.bbbb.tmp"
    orphan, held = folder / ".1111.lock", folder / ".2222.lock"
    for p in (old_temp, new_temp, orphan, held):
        p.write_bytes(b"")
    long_ago = time.time() - STALE_SECONDS - 60
    for p in (old_temp, orphan, held):
        os.utime(p, (long_ago, long_ago))
    fd = lock.acquire(held, timeout=1)
    assert fd is not None
    try:
        assert store.sweep() == 2
    finally:
        lock.release(held, fd)
    assert not old_temp.exists() and not orphan.exists()
    assert new_temp.exists() and store.get_json(KEY, "t/1", {}) == 1


def test_the_first_write_of_a_day_sweeps(tmp_path):
    root = tmp_path / "cache"
    store = Store(root)
    stale = store.base / "objects" / ".y.json.cccc.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"partial")
    long_ago = time.time() - STALE_SECONDS - 60
    os.utime(stale, (long_ago, long_ago))
    store.put_json(KEY, "t/1", {}, 1)
    assert not stale.exists() and (store.base / ".last-sweep").exists()


def test_lock_timeout_computes_anyway(tmp_path, caplog):
    store = Store(tmp_path / "cache", lock_timeout=0.3)
    lock_file = store.lock_path(KEY, "t/1", {})
    fd = lock.acquire(lock_file, timeout=1)
    try:
        with caplog.at_level(logging.INFO, logger="vidq.store"):
            assert store.memo(KEY, "t/1", {}, lambda: "mine") == "mine"
    finally:
        lock.release(lock_file, fd)
    assert "waiting for another vidq process to finish t/1" in caplog.text
    assert "computing it here too" in caplog.text
    assert store.get_json(KEY, "t/1", {}) == "mine"


def test_umask_decides_the_mode_of_new_files(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_bytes(target, b"1")
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    target.chmod(0o640)  # an existing file keeps its mode when it is replaced
    atomic_write_bytes(target, b"2")
    assert target.stat().st_mode & 0o777 == 0o640 == file_mode(target)
