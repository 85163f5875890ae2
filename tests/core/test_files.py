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
    assert seen == [tmp_path / "model.part.keras"]  # beside the target, its suffix kept
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
