"""The anomaly pass's series scans, on every usable core when there are many buckets to scan.

A scan is pure Python and CPU-bound: a cold look at a big history or a replay over a year is
seconds of it on one core. From `MIN_BUCKETS` buckets in all, the scans run in processes forked for
the call, a few chunks per worker balanced by buckets, each chunk handed over as it comes back,
with the results of scanning here. Below it (every ordinary daemon cycle), or with one usable CPU,
nothing forks. A worker only scans: it neither logs nor touches the store, and the daemon's signal
handlers do not run in it. While waiting, the parent beats (the watchdog) and a stop request cuts
the wait short: the workers are ended and the stop goes on. A pool that cannot start or loses a
worker is not an error: what it did not return is scanned here.

The pool is a pipe per worker, not `concurrent.futures.ProcessPoolExecutor`: that one's reader
thread waits forever on a result a worker was killed in the middle of sending (the OOM killer, a
stop), and no future then ever completes. Here the parent reads, and a dead worker is an end of file.

`Alongside` is one more such process for other work to run meanwhile (a replay's budget pass, while
the scans run): on two cores the budgets and the scans then take the time of the longer.
"""

from __future__ import annotations

import heapq
import logging
import multiprocessing
import os
import signal
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Generic, NamedTuple, TypeVar, cast
from zoneinfo import ZoneInfo

from alertd import lifecycle
from alertd.rules.anomaly import ScanState, resume
from alertd.rules.verdicts import AnomalyParams, Point, Verdicts

log = logging.getLogger(__name__)

MIN_BUCKETS = 200_000  # forking pays from ~150k buckets (2 CPUs); a cold look at 240 hourly series is 500k
MAX_WORKERS = 4
CHUNKS_PER_WORKER = 3  # so that a worker done early takes another
_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
T = TypeVar("T")


class Scan(NamedTuple):
    """A series to scan from `state` over `values`, with a checkpoint after the first `cut`."""

    state: ScanState
    values: list[int | None]
    cut: int
    tz: ZoneInfo
    params: AnomalyParams


Scanned = tuple[Verdicts, ScanState]  # the verdicts on all the values, the checkpoint
# A Scanned as a worker sends it: the calm scores (0.0 where a Point is), where the Points are and
# they (one gap, say, many times), the noise levels, values and expectations, the sensitivity, the
# checkpoint. Arrays pickle as bytes: a million calm buckets as objects would cost the parent more
# to unpickle than the pool saves.
_Packed = tuple[array, array, list[Point], array, array, array, float, ScanState]


def scan(item: Scan) -> Scanned:
    """The verdicts on `item.values` and the state after the first `item.cut` of them."""
    points, checkpoint = resume(item.state, item.values[: item.cut], item.tz, item.params)
    later, _ = resume(checkpoint, item.values[item.cut :], item.tz, item.params)
    return points + later, checkpoint


def scan_all(
    scans: Sequence[Scan],
    take: Callable[[int, Scanned], None],
    min_buckets: int | None = None,
    workers: int | None = None,
) -> None:
    """`take(i, scan(scans[i]))` for each of `scans`, as each is done: in a pool of `workers`
    processes (default: the usable CPUs, at most `MAX_WORKERS`) when they hold `min_buckets`
    buckets (default `MIN_BUCKETS`), else here in order. Taken as they come, the verdicts of a
    big pass are never all held at once."""
    threshold = MIN_BUCKETS if min_buckets is None else min_buckets
    workers = min(workers or min(MAX_WORKERS, _usable_cpus()), len(scans))
    taken = [False] * len(scans)

    def took(i: int, result: Scanned) -> None:
        taken[i] = True
        take(i, result)

    if workers > 1 and sum(len(s.values) for s in scans) >= threshold:
        try:
            _pooled(scans, workers, took)
            return
        except (EOFError, OSError) as exc:  # a worker died (EOFError) or could not start
            if lifecycle.stop_requested():  # the stop's SIGTERM to the whole unit ended the workers too
                raise lifecycle.Stopped from exc
            log.warning("anomaly scans: the worker pool failed (%r); scanning the rest in this process", exc)
    _inline(scans, taken, take)


def _usable_cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)  # Linux: the CPUs this process may run on
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def _inline(scans: Sequence[Scan], taken: list[bool], take: Callable[[int, Scanned], None]) -> None:
    for i, item in enumerate(scans):
        if not taken[i]:
            lifecycle.beat()
            take(i, scan(item))


def _pooled(scans: Sequence[Scan], workers: int, take: Callable[[int, Scanned], None]) -> None:
    """The scans in `workers` processes forked here (they have `scans` from the fork), a chunk at a
    time each; they are ended here, whatever happens."""
    context = multiprocessing.get_context("fork")
    chunks = deque(_chunks(scans, workers))
    processes: list[BaseProcess] = []
    ours: list[Connection] = []
    busy: dict[Connection, list[int]] = {}

    def give(conn: Connection) -> None:
        conn.send(chunks[0] if chunks else None)  # None: no more
        if chunks:
            busy[conn] = chunks.popleft()

    try:
        with _signals_held():  # until a worker has its own handlers
            for _ in range(min(workers, len(chunks))):
                mine, theirs = context.Pipe()
                # The worker closes the parent's ends (its own and the earlier workers'): when the
                # parent goes, each reads an end of file and exits.
                processes.append(context.Process(target=_work, args=(theirs, scans, [*ours, mine]), daemon=True))
                processes[-1].start()
                theirs.close()  # a worker's end is the worker's alone: its death is an end of file here
                ours.append(mine)
        for conn in ours:
            give(conn)
        while busy:
            lifecycle.beat()
            if lifecycle.stop_requested():  # the scans write nothing: a stop cuts them short
                raise lifecycle.Stopped
            for conn in cast(list[Connection], wait(list(busy), timeout=lifecycle.TICK)):
                reply = conn.recv()  # EOFError: the worker died
                chunk = busy.pop(conn)
                give(conn)  # the next chunk first: the worker scans it meanwhile
                for i, packed in zip(chunk, reply, strict=True):
                    take(i, _unpack(packed))
    except BaseException:
        _end(processes, 0.0)
        raise
    finally:
        for conn in ours:
            conn.close()
    _end(processes, 1.0)


def _chunks(scans: Sequence[Scan], workers: int) -> list[list[int]]:
    """Indices of `scans` in a few chunks per worker of about equal buckets, largest first."""
    count = min(len(scans), workers * CHUNKS_PER_WORKER)
    heap: list[tuple[int, int, list[int]]] = [(0, n, []) for n in range(count)]
    for i in sorted(range(len(scans)), key=lambda i: -len(scans[i].values)):
        size, n, chunk = heapq.heappop(heap)
        chunk.append(i)
        heapq.heappush(heap, (size + len(scans[i].values), n, chunk))
    return [chunk for _, _, chunk in sorted(heap, reverse=True) if chunk]


def _end(processes: list[BaseProcess], grace: float) -> None:
    """The workers ended and reaped: after `grace` seconds to exit, terminated, then killed."""
    for process in processes:
        if process.pid is not None:
            process.join(grace)
            process.terminate()
    for process in processes:
        if process.pid is not None:
            process.join(timeout=1.0)
            if process.is_alive():
                process.kill()
                process.join(timeout=1.0)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Stop signals held back from this thread (and so from what it forks) meanwhile."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _work(conn: Connection, scans: Sequence[Scan], others: list[Connection]) -> None:
    """A worker: the stop signals to their defaults (an interrupt is the parent's to handle), none
    of the parent's handlers or its wakeup pipe, none of the parent's pipe ends; then the chunks it
    is given, until None or the parent goes. It says nothing but its results."""
    _as_worker(others)
    try:
        while (chunk := conn.recv()) is not None:
            conn.send([_pack(scan(scans[i])) for i in chunk])
    except Exception:  # the parent gone, or a scan failed: the parent sees an end of file, scans
        pass  # the rest itself, and so raises what failed, with its traceback


def _as_worker(others: list[Connection]) -> None:
    """In a forked worker: the stop signals to their defaults (an interrupt is the parent's to
    handle), none of the parent's handlers or its wakeup pipe, none of the parent's pipe ends."""
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    for other in others:
        other.close()


class Alongside(Generic[T]):
    """`work()` in a process forked now, with more than one usable CPU and `worth` true, while this
    one goes on; `result()` waits for it, beating. Like a scan, `work` must not write: it gets the
    memory of the fork, not its open files (a store it reads it opens itself). Without the process
    (one CPU, not worth it, a failed start, a death: a failure in `work` too), `result()` runs
    `work()` here, which raises what failed with its traceback."""

    def __init__(self, work: Callable[[], T], worth: bool) -> None:
        self._work = work
        self._conn: Connection | None = None
        self._process: BaseProcess | None = None
        if not worth or _usable_cpus() < 2:
            return
        context = multiprocessing.get_context("fork")
        mine, theirs = context.Pipe(duplex=False)
        try:
            with _signals_held():
                self._process = context.Process(target=_alone, args=(theirs, work, [mine]), daemon=True)
                self._process.start()
        except OSError as exc:
            log.warning("could not start a process alongside (%r); its work is done here afterwards", exc)
            mine.close()
            return
        finally:
            theirs.close()
        self._conn = mine

    def result(self) -> T:
        conn, process = self._conn, self._process
        if conn is None or process is None:
            return self._work()
        got = False
        try:
            while not conn.poll(lifecycle.TICK):
                lifecycle.beat()
                if lifecycle.stop_requested():
                    raise lifecycle.Stopped
            value = cast(T, conn.recv())
            got = True
            return value
        except EOFError:
            log.warning("the process alongside ended without its result; its work is done here")
        finally:
            conn.close()
            _end([process], 1.0 if got else 0.0)  # sent: it is exiting
        return self._work()


def _alone(conn: Connection, work: Callable[[], object], others: list[Connection]) -> None:
    _as_worker(others)
    with suppress(Exception):  # on a failure the parent sees an end of file and does the work itself
        conn.send(work())


def _pack(scanned: Scanned) -> _Packed:
    verdicts, checkpoint = scanned
    items = verdicts.items
    scores = array("d", [x if isinstance(x, float) else 0.0 for x in items])
    where = array("q", [i for i, x in enumerate(items) if not isinstance(x, float)])
    points = [x for x in items if not isinstance(x, float)]
    values, expected = array("q", verdicts.values), array("q", verdicts.expected)
    return scores, where, points, array("d", verdicts.sigmas), values, expected, verdicts.sensitivity, checkpoint


def _unpack(packed: _Packed) -> Scanned:
    scores, where, points, sigmas, values, expected, sensitivity, checkpoint = packed
    items: list[Point | float] = scores.tolist()
    for i, point in zip(where, points, strict=True):
        items[i] = point
    return Verdicts(items, sigmas.tolist(), values.tolist(), expected.tolist(), sensitivity), checkpoint
