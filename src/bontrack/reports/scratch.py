"""DuckDB's temporary folders for the report's reads: one per connection, named by its process.

DuckDB removes its folder when the connection closes. A report killed before that (by the kernel
short of memory, by a closed terminal, by a scheduler's time limit) leaves it behind, and at a
million patients one holds gigabytes; so each new connection first removes the folders of
reports whose process has ended, once they have not changed for ``STALE_SECONDS`` (a folder of
a live report, or of a process this one cannot see, is left alone).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

PREFIX = "bontrack-report-"
STALE_SECONDS = 3600.0  # a folder untouched this long, of an ended process, is left over


def scratch_folder(tag: str) -> Path:
    """A new connection's folder (``tag`` tells this process's connections apart), after the
    left-over ones are removed (``remove_stale``)."""
    root = Path(tempfile.gettempdir())
    remove_stale(root)
    return root / f"{PREFIX}{os.getpid()}-{tag}"


def remove_stale(root: Path, *, now: float | None = None) -> list[Path]:
    """Remove the report folders in ``root`` left by ended processes and untouched for
    ``STALE_SECONDS``; returns those removed. What cannot be read or removed is skipped."""
    now = time.time() if now is None else now
    removed = []
    for folder in root.glob(f"{PREFIX}*"):
        pid = _pid_of(folder.name)
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        try:
            if not folder.is_dir() or folder.is_symlink() or now - folder.stat().st_mtime < STALE_SECONDS:
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed


def _pid_of(name: str) -> int | None:
    """The process id in a folder's name (``PREFIX<pid>-<tag>``), or None if it has none."""
    pid, dash, _ = name.removeprefix(PREFIX).partition("-")
    return int(pid) if dash and pid.isdigit() and 0 < int(pid) < 2**31 else None


def _alive(pid: int) -> bool:
    """Whether a process of this id runs (another user's counts: it cannot be signalled)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # (PermissionError: it runs, as another user)
        return True
    return True
