"""Progress of a backup or restore on standard error (Rich); loaded only when one runs."""

from __future__ import annotations

from typing import Any

from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from bontrack.backup import Stages
from bontrack.cli.registry import err_console


class RichStages(Stages):
    """The stages drawn as a progress bar, only on a terminal."""

    def __init__(self) -> None:
        err = err_console()
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        )

    def start(self, description: str, total: float | None = None) -> Any:
        return self.progress.add_task(description, total=total)

    def update(self, task: Any, *, completed: float | None = None, advance: float | None = None) -> None:
        self.progress.update(task, completed=completed, advance=advance)

    def finish(self, task: Any) -> None:
        self.progress.update(task, visible=False)

    def warn(self, message: str) -> None:
        self.progress.console.print(f"[bold yellow]warning[/] {message}", soft_wrap=True)
