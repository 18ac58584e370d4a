"""Time windows for resources read range by range (admin activity logs, content exports)."""

from __future__ import annotations

DAY = 86_400


def time_windows(start: int, end: int, days: int, history_start: int | None = None) -> list[tuple[int, int]]:
    """`[start, end)` cut into windows of `days` days (unix seconds), oldest first.

    With `history_start`, everything before it forms a single first window: a run with no cursor and no
    start date asks once for the distant past instead of once per window since 1970.
    """
    if days < 1:
        raise ValueError(f"window_days must be at least 1, not {days}")
    if end <= start:
        return []
    windows: list[tuple[int, int]] = []
    if history_start is not None and start < history_start < end:
        windows.append((start, history_start))
        start = history_start
    step = days * DAY
    while start < end:
        windows.append((start, min(start + step, end)))
        start += step
    return windows
