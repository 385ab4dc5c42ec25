"""`provider: focus`: FinOps FOCUS cost exports (a file, a directory or a glob), read on each poll.

Exporters rewrite a billing period's files while it is open (AWS splits one into parts), so a
poll works by bucket ranges, not rows. A file whose size or mtime changed is hashed; one whose
content changed (or that is new, or was read with other options) is parsed, and the range its
rows and their billing periods reached before and reach now is dirty: every other file whose
rows reach into a dirty range is parsed too (unchanged or not, their rows add up with its), and
each dirty range is restated in full: its buckets are the sums over those files, and a stored
bucket none of them lists any more goes to zero (a revision, like every change). Unchanged
files are not opened, so a poll over a year of exports costs a stat per file.

A bad file (a bad row, a damaged or half-written gzip) fails alone: the part of a dirty range
that it reaches (with its old content, or the rows read before the bad one) keeps what was
stored, since adding the other files up without it would be wrong; the rest is stored, and the
poll reports the failure, so a file that stays bad makes the source a blind spot. A file stored
only in part is parsed again next time (`_unsettled`). A file that disappears is forgotten, its
rows kept (moving old exports away does not delete their costs) until another file of its
billing period changes and restates it. The window asked for does not matter: the files are the
truth.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from alertd.config import FocusSource
from alertd.model import FetchResult, FocusFile, Window
from alertd.sources.focus_read import SUFFIXES, FocusError, Options, Sums, added, read_file, records
from alertd.sources.values import iso_utc

log = logging.getLogger("alertd.sources.focus")
_BLOCK = 1 << 20
_SHOWN = 3  # failed files a poll's error names (the others are counted)

Span = tuple[int, int]


class FocusFeed:
    backfill_chunk = timedelta.max  # one read of the files, whatever the window

    def __init__(self, config: FocusSource, currency: str) -> None:
        self.name = config.name
        self.config = config
        self.currency = currency
        self.options = Options.of(config, currency)
        self.parsed: tuple[str, ...] = ()  # the files the last fetch parsed, for logs and tests

    def close(self) -> None:
        """Nothing to release: each file is opened per read."""

    def fetch(self, window: Window, known: Mapping[str, FocusFile] | None = None) -> FetchResult:
        """What changed since the files' stored states `known` (by path): the records of every dirty
        range, the ranges, and the new states."""
        known = dict(known or {})
        files = discover(self.config.path)
        poll = _Poll(known)
        self._classify(files, poll)
        dirty: list[Span] = []
        for key in poll.pending:
            dirty += [s for s in (_span(known.get(key)), poll.read(key, self.options)) if s]
        ranges = merge(dirty)
        for key, state in list(poll.states.items()):  # the unchanged files sharing a dirty range
            span = _span(state)
            if key not in poll.failed and span and any(_overlap(span, r) for r in ranges):
                poll.read(key, self.options, span)
        held = intersect(ranges, merge(poll.blocked))
        restated = subtract(ranges, held)
        for key, state in poll.pending.items():
            old = known.get(key)
            if key not in poll.reads:  # failed: its stored rows stay, within the span its old state says
                if old:
                    poll.states[key] = old
                continue
            reach = poll.reads[key]
            spans = [s for s in (_span(old), reach) if s]
            if all(any(_inside(s, r) for r in restated) for s in spans):
                poll.states[key] = replace(state, span_start=_start(reach), span_end=_end(reach))
            else:  # partly held back: some of its rows are stored, some not
                poll.states[key] = _unsettled(state, (min(a for a, _ in spans), max(b for _, b in spans)))
        self.parsed = tuple(poll.reads)
        log.debug(
            "%s: %d of %d files parsed, %d ranges restated", self.name, len(poll.reads), len(files), len(restated)
        )
        return FetchResult(
            list(records(_within(poll.sums, restated), self.name, self.currency)),
            complete_buckets=False,
            restated=tuple(restated),
            focus_files=None if poll.states == known else tuple(poll.states.values()),
            error=_failure(poll.failed, len(files), held),
        )

    def _classify(self, files: list[Path], poll: _Poll) -> None:
        """Unchanged files (same size and mtime, or same hash) keep their states; the others are pending."""
        signature = self.options.signature
        for path in files:
            key, old = str(path), poll.known.get(str(path))
            same = old is not None and old.reader == signature
            try:
                stat = path.stat()
                if same and old and (old.size, old.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
                    poll.states[key] = old
                    continue
                digest = _sha256(path)
            except OSError as exc:
                poll.fail(key, FocusError(f"{path}: cannot read: {exc.strerror or exc}"), _span(old))
                if old:
                    poll.states[key] = old
                continue
            now = FocusFile(key, stat.st_size, stat.st_mtime_ns, digest, signature, None, None)
            if same and old and old.digest == digest:
                poll.states[key] = replace(now, span_start=old.span_start, span_end=old.span_end)  # touched only
            else:
                poll.pending[key] = now


class _Poll:
    """One fetch's files: their states, the pending ones, what was read, what failed."""

    def __init__(self, known: Mapping[str, FocusFile]) -> None:
        self.known = known
        self.states: dict[str, FocusFile] = {}  # files whose stored rows are as these say
        self.pending: dict[str, FocusFile] = {}  # changed or new: their spans are filled in once read
        self.reads: dict[str, Span | None] = {}  # the files read, with the spans their rows reach
        # Their buckets' sums, added up as each file is read (a year of hourly buckets held once,
        # not once per file and again in all)
        self.sums: Sums = {}
        self.failed: dict[str, FocusError] = {}
        self.blocked: list[Span] = []  # what failed files reach, old content and new: held back

    def read(self, key: str, options: Options, span: Span | None = None) -> Span | None:
        """Parse a file (`span`: what its stored state says it reaches); the span its rows reach."""
        try:
            read = read_file(Path(key), options)
        except FocusError as exc:
            self.fail(key, exc, span or _span(self.known.get(key)))
            return None
        sums, total = read.sums, self.sums
        for bucket, (amount, seconds) in sums.items():
            total[bucket] = added(total.get(bucket), amount, seconds)
        sums.clear()
        self.reads[key] = read.span
        return read.span

    def fail(self, key: str, error: FocusError, span: Span | None) -> None:
        self.failed[key] = error
        self.blocked += [s for s in (span, error.span) if s]


def discover(pattern: str) -> list[Path]:
    """The export files a `path:` names: a file, the files under a directory, or a glob's; absolute
    (their states are kept by path, whatever the working directory), sorted. Hidden files and
    directories (a sync tool's partial downloads) are skipped."""
    if any(c in pattern for c in "*?["):
        matches = [Path(p) for p in glob.glob(pattern, recursive=True)]
    elif not os.path.exists(pattern):
        raise FocusError(f"{pattern}: no such file or directory")
    else:
        matches = [Path(pattern)]
    found: set[Path] = set()
    for match in matches:
        if match.is_dir():
            for top, dirs, names in os.walk(match):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                found.update(Path(top, n) for n in names if _export(n))
        elif match.is_file() and _export(match.name):
            found.add(match)
    if not found:
        raise FocusError(f"{pattern}: no FOCUS export files ({', '.join('*' + s for s in SUFFIXES)})")
    return sorted({Path(os.path.abspath(f)) for f in found})


def intersect(ranges: list[Span], cuts: list[Span]) -> list[Span]:
    """The parts of `ranges` inside `cuts` (both merged, in order)."""
    return merge((max(a, c), min(b, d)) for a, b in ranges for c, d in cuts if max(a, c) < min(b, d))


def subtract(ranges: list[Span], cuts: list[Span]) -> list[Span]:
    """The parts of `ranges` outside `cuts` (both merged, in order)."""
    left: list[Span] = []
    for a, b in ranges:
        for c, d in cuts:
            if c < b and a < d:
                if a < c:
                    left.append((a, c))
                a = max(a, d)
        if a < b:
            left.append((a, b))
    return left


def merge(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching [start, end) spans as one; in order."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _within(sums: Sums, ranges: list[Span]) -> Iterator[tuple[tuple[int, str], tuple[Decimal, int]]]:
    """The sums of the buckets starting in `ranges` (exact: rounded only as records), taken out of
    `sums` as they go: a year's sums and its records are not both held in full."""
    while sums:
        key, value = sums.popitem()
        if any(a <= key[0] < b for a, b in ranges):
            yield key, value


def _failure(failed: Mapping[str, FocusError], files: int, held: list[Span]) -> str | None:
    if not failed:
        return None
    errors = [str(e) for e in failed.values()]
    more = f"; and {len(errors) - _SHOWN} more" if len(errors) > _SHOWN else ""
    text = f"{len(failed)} of {files} files failed: {'; '.join(errors[:_SHOWN])}{more}"
    if held:
        kept = ", ".join(f"{iso_utc(a)}..{iso_utc(b)}" for a, b in held)
        text += f" (buckets {kept} keep what was last read: their files add up with a failed one)"
    return text


def _export(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(SUFFIXES)


def _sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            hasher.update(block)
    return hasher.hexdigest()


def _unsettled(state: FocusFile, span: Span) -> FocusFile:
    """A state no file matches, so that the file is parsed next time, whose span covers wherever its
    rows may be stored (old and new), so that all of that is restated then."""
    return replace(state, size=-1, mtime_ns=-1, digest="", span_start=span[0], span_end=span[1])


def _span(state: FocusFile | None) -> Span | None:
    if state is None or state.span_start is None or state.span_end is None:
        return None
    return (state.span_start, state.span_end)


def _start(span: Span | None) -> int | None:
    return None if span is None else span[0]


def _end(span: Span | None) -> int | None:
    return None if span is None else span[1]


def _overlap(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _inside(a: Span, b: Span) -> bool:
    return b[0] <= a[0] and a[1] <= b[1]
