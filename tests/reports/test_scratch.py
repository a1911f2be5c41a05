"""DuckDB's temporary folders left by reports killed before they closed it are removed by the
next report (bontrack.reports.scratch)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from bontrack.reports import columnar, scratch
from bontrack.reports.columnar import connect
from bontrack.reports.cycle_rows import CycleRows
from bontrack.reports.data import cohort_frames
from bontrack.storage.engine import make_engine, transaction
from demo_exports import bontrack, demo_with_parquet

# a report's read, killed after DuckDB moved blocks to its folder (os._exit: DuckDB never closes)
_KILLED_READ = textwrap.dedent(
    """
    import os, sys, tempfile
    tempfile.tempdir = sys.argv[1]
    from bontrack.reports.columnar import connect, run
    duck = connect()
    run(duck, "set memory_limit = '16MB'")
    run(duck, "create table t as select range as i, md5(range::varchar) as s from range(2000000)")
    print(os.getpid(), flush=True)
    os._exit(9)
    """
)


def _ended_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(child.stdout)


def _aged(folder: Path, seconds: float) -> Path:
    folder.mkdir()
    (folder / "duckdb_temp_block-1.block").write_bytes(b"x" * 10)
    then = time.time() - seconds
    os.utime(folder, (then, then))
    return folder


@pytest.fixture
def tmp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_killed_reports_folder_is_removed_by_the_next_report(tmp_root: Path) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_READ, str(tmp_root)], capture_output=True, text=True, check=False
    )
    assert killed.returncode == 9, killed.stderr
    left = list(tmp_root.glob(f"{scratch.PREFIX}{int(killed.stdout)}-*"))
    assert len(left) == 1 and any(left[0].iterdir()), "DuckDB moved no block to its folder"
    assert scratch.remove_stale(tmp_root) == []  # just left: it may be another host's live report
    then = time.time() - scratch.STALE_SECONDS - 60
    os.utime(left[0], (then, then))
    duck = connect()
    try:
        assert not left[0].exists()
        assert (
            duck.execute("select current_setting('temp_directory')")
            .fetchall()[0][0]
            .startswith(str(tmp_root / f"{scratch.PREFIX}{os.getpid()}-"))
        )
    finally:
        duck.close()


def test_only_old_folders_of_ended_processes_are_removed(tmp_root: Path) -> None:
    old = scratch.STALE_SECONDS + 60
    ended = _ended_pid()
    stale = _aged(tmp_root / f"{scratch.PREFIX}{ended}-7f00", old)
    recent = _aged(tmp_root / f"{scratch.PREFIX}{ended}-7f01", 10)
    live = _aged(tmp_root / f"{scratch.PREFIX}{os.getppid()}-7f02", old)
    mine = _aged(tmp_root / f"{scratch.PREFIX}{os.getpid()}-7f03", old)
    other = _aged(tmp_root / "bontrack-report-notapid-7f04", old)
    unrelated = _aged(tmp_root / f"someone-else-{ended}-7f05", old)
    assert scratch.remove_stale(tmp_root) == [stale]
    assert not stale.exists()
    assert all(f.exists() for f in (recent, live, mine, other, unrelated))


def test_a_file_or_link_with_the_name_is_left_alone(tmp_root: Path) -> None:
    ended = _ended_pid()
    target = _aged(tmp_root / "elsewhere", scratch.STALE_SECONDS + 60)
    link = tmp_root / f"{scratch.PREFIX}{ended}-7f06"
    link.symlink_to(target)
    plain = tmp_root / f"{scratch.PREFIX}{ended}-7f07"
    plain.write_text("not a folder")
    then = time.time() - scratch.STALE_SECONDS - 60
    os.utime(plain, (then, then))
    assert scratch.remove_stale(tmp_root) == []
    assert link.is_symlink() and plain.exists() and (target / "duckdb_temp_block-1.block").exists()


def test_duckdb_memory__more_while_reading_than_beside_the_analysis(tmp_path: Path) -> None:
    """The read's connection keeps within ``MEMORY``; the one the frames keep for the analysis,
    within ``ANALYSIS_MEMORY`` (the analysis's frames are held beside it)."""
    url = demo_with_parquet(tmp_path, patients=12, seed=5)

    def limit(setting: str) -> str:
        duck = duckdb.connect()
        duck.execute(f"set memory_limit = '{setting}'")
        return str(duck.execute("select current_setting('memory_limit')").fetchall()[0][0])

    assert limit(columnar.MEMORY) != limit(columnar.ANALYSIS_MEMORY)
    read = connect()
    try:
        assert read.execute("select current_setting('memory_limit')").fetchall()[0][0] == limit(
            columnar.MEMORY
        )
    finally:
        read.close()
    with transaction(make_engine(url)) as db:
        frames = cohort_frames(db=db, actor="test", committed=True, coded_ids=True, every_score=False)
    assert frames.cycle_rows is not None
    kept = frames.cycle_rows._connection()
    assert kept.execute("select current_setting('memory_limit')").fetchall()[0][0] == limit(
        columnar.ANALYSIS_MEMORY
    )


def test_bontrack_report_lets_go_of_its_duckdb_read_once_the_numbers_are_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command closes the read's DuckDB connection (its tables, its temporary folder) after
    the analysis, before the figures: not left to the interpreter's exit."""
    url = demo_with_parquet(tmp_path, patients=12, seed=6)
    closed: list[bool] = []
    real_close = CycleRows.close

    def close(self: CycleRows) -> None:
        closed.append(self._duck is not None)
        real_close(self)

    monkeypatch.setattr(CycleRows, "close", close)
    out = tmp_path / "report.json"
    result = bontrack("--db", url, "report", "--json", "--date", "2026-11-23", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert closed == [True] and out.stat().st_size > 1000
