"""Resident memory sampled while a benchmark runs: a flat series is flat memory.

RSS counts two kinds of page. Anonymous pages (RssAnon) are what the process allocated: heaps,
buffers. File pages (RssFile) are files it maps, such as the index segments tantivy reads while
merging: the OS's page cache, shared and dropped under memory pressure. Both are reported, so a
climb in one is not mistaken for the other."""

from __future__ import annotations

import threading


class RssSampler:
    """This process's resident memory (MB) every `interval` seconds between enter and exit."""

    def __init__(self, interval: float = 0.25) -> None:
        self.samples: list[int] = []  # VmRSS, MB
        self.anonymous: list[int] = []  # RssAnon, MB
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            with open("/proc/self/status") as status:
                fields = {line.split(":")[0]: int(line.split()[1]) // 1024 for line in status if line.startswith(("VmRSS", "RssAnon"))}
            self.samples.append(fields["VmRSS"])
            self.anonymous.append(fields["RssAnon"])

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def quartiles(self) -> list[int]:
        """RSS in MB at 25, 50 and 75% of the run's samples."""
        if not self.samples:
            return []
        return [self.samples[min(len(self.samples) - 1, len(self.samples) * q // 4)] for q in (1, 2, 3)]

    def summary(self) -> str:
        marks = self.quartiles()
        if not marks:
            return "no samples"
        return (f"RSS at 25/50/75% of the run {marks[0]}/{marks[1]}/{marks[2]} MB, peak {max(self.samples)} MB "
                f"(anonymous peak {self.peak_anonymous()} MB)")

    def peak_anonymous(self) -> int:
        return max(self.anonymous, default=0)
