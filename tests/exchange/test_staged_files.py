"""An export folder is written all or nothing (``staged_files``): whatever stops it midway, no
file of it is left, partial or whole, nor a folder made for it, and an older export in the
folder is left as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from bontrack.exchange.files import staged_files


def test_staged_files__a_failure_removes_its_files_and_the_folders_it_made(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "export"
    with pytest.raises(OSError, match="disk full"), staged_files(folder) as stage:
        stage("a.csv").write_text("a")
        raise OSError(28, "disk full")
    assert list(tmp_path.iterdir()) == []


def test_staged_files__an_older_export_is_kept_until_the_new_one_is_complete(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("old a")
    with pytest.raises(OSError), staged_files(tmp_path) as stage:
        stage("a.csv").write_text("new a")
        stage("b.csv").write_text("new b")
        raise OSError(28, "disk full")
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"a.csv": "old a"}
    with staged_files(tmp_path) as stage:
        stage("a.csv").write_text("new a")
        stage("b.csv").write_text("new b")
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"a.csv": "new a", "b.csv": "new b"}
