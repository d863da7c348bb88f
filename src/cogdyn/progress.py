"""The progress bar of long commands (training, analysis, sweeps): one leaf module, so every
layer can show progress without importing another layer."""

from __future__ import annotations

from typing import Any


def progress_bar(enabled: bool, *, eta: bool = False) -> Any:
    """The rich progress bar of long commands (training, analysis, sweeps); silent when
    disabled. ``eta`` adds the estimated time remaining."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        *([TextColumn("ETA"), TimeRemainingColumn()] if eta else []),
        TextColumn("{task.fields[status]}"),
        disable=not enabled,
        transient=False,
    )
