"""Command-line progress (进度): a tqdm bar with total, rate and ETA on a terminal; plain lines
(one per report, never a carriage return) when the output is a file or a pipe."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm


class Progress:
    """Callable as `progress(done, label, total=None)`; one bar or line sequence per label."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.bars: dict[str, tqdm] = {}

    def __call__(self, done: int, label: str = "", total: int | None = None) -> None:
        if not self.tty:
            of_total = f" / {total:,}" if total else ""
            print(f"{label}：{done:,}{of_total} 行", file=self.stream, flush=True)
            return
        bar = self.bars.get(label)
        if bar is None:
            bar = self.bars[label] = tqdm(total=total, desc=label, unit="行", unit_scale=True, file=self.stream)
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()
