import numpy as np

from vidq.store import Store


def test_json_roundtrip_and_content_key(tmp_path):
    a = tmp_path / "a.bin"
    b = tmp_path / "b.bin"
    a.write_bytes(b"same content")
    b.write_bytes(b"same content")
    store = Store(tmp_path / "cache")
    ka, kb = store.file_key(a), store.file_key(b)
    assert ka == kb and len(ka) == 40
    assert store.get_json(ka, "probe/1", {"x": 1}) is None
    store.put_json(ka, "probe/1", {"x": 1}, {"duration": 12.5})
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
    store.put_json("ab" * 20, "t/1", {}, [1, 2])
    path = store.entry_path("ab" * 20, "t/1", {}, "json")
    path.write_text("{truncated")
    assert store.get_json("ab" * 20, "t/1", {}) is None
    assert not path.exists()


def test_arrays_and_info_and_clear(tmp_path):
    store = Store(tmp_path / "cache")
    store.put_arrays("cd" * 20, "feat/1", {"n": 3}, {"x": np.arange(3)})
    np.testing.assert_array_equal(store.get_arrays("cd" * 20, "feat/1", {"n": 3})["x"], np.arange(3))
    info = store.info()
    assert info.files == 1 and info.stages == {"feat/1": 1}
    store.clear()
    assert store.info().files == 0


def test_disabled_store_stores_nothing(tmp_path):
    store = Store(None)
    store.put_json("ef" * 20, "t/1", {}, 1)
    assert store.get_json("ef" * 20, "t/1", {}) is None
    assert not store.enabled
