"""Atomic writes: a reader sees the old file or the whole new one, never a part."""

import pytest

from companion import files


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "model.keras"
    path.write_text("old")
    seen = []

    def write(tmp):
        seen.append(tmp)
        tmp.write_text("new")
        assert path.read_text() == "old"  # the old file stays whole while the new one is written

    assert files.atomic_write(path, write) == path
    assert path.read_text() == "new"
    # beside the target, unique to this writer, its suffix kept
    assert len(seen) == 1 and seen[0].parent == tmp_path and seen[0].name.endswith(".part.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


def test_an_interrupted_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("old")

    def write(tmp):
        tmp.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        files.atomic_write(path, write)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_a_missing_folder_or_a_bad_writer_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"folder .*nowhere does not exist: expected a CSV"):
        files.atomic_write(tmp_path / "nowhere" / "t.csv", print, "CSV")
    with pytest.raises(TypeError, match="write: expected a function of the temporary path"):
        files.atomic_write(tmp_path / "t.csv", "text")


def test_compound_suffixes_are_kept_and_two_writers_get_two_temporaries(tmp_path):
    path, seen = tmp_path / "net.weights.h5", []
    for _ in range(2):
        files.atomic_write(path, lambda tmp: seen.append(tmp) or tmp.write_text("w"))
    assert all(t.name.startswith("net.") and t.name.endswith(".part.weights.h5") for t in seen)
    assert seen[0] != seen[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.weights.h5"]


def test_a_folder_is_refused_as_a_target(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder: expected a checkpoint path"):
        files.atomic_write(tmp_path, lambda tmp: tmp.write_text("x"), "checkpoint")
