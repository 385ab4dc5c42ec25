"""What the hand-run benchmarks share: how to run alertd, and a clean slate for each run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path


def alertd_command(explicit: str | None) -> list[str]:
    """The alertd beside the running Python (or -m alertd), unless one is named."""
    if explicit:
        return [explicit]
    script = Path(sys.executable).parent / "alertd"
    return [str(script)] if script.exists() else [sys.executable, "-m", "alertd"]


def clean_env() -> dict[str, str]:
    """Without ALERTD_* (ALERTD_DATABASE would override the rules file) and PYTHON* start-up
    knobs that would change what is measured (with PYTHONDONTWRITEBYTECODE an edited checkout
    compiles its changed modules in every run, which an installed alertd never does)."""
    drop = ("ALERTD_", "PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME", "PYTHONSTARTUP", "PYTHONTRACEMALLOC")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def fresh(db: Path) -> None:
    """Remove a database and its WAL companions."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


GNU_TIME = Path("/usr/bin/time")


@dataclass(frozen=True)
class Measured:
    """One whole process: wall time, its own peak RSS (None: unknown), exit status (None: killed
    at the timeout)."""

    seconds: float
    rss_mib: float | None
    returncode: int | None
    stdout: str
    stderr: str

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


class Started:
    """A command started under GNU time (when there is one); `pid` is the command's own. Its
    stderr goes to `stderr` when given (to be read while it runs), else to a temporary file."""

    def __init__(self, cmd: list[str], env: dict[str, str] | None, stderr: Path | None = None) -> None:
        # closed in finish
        self._files = [tempfile.TemporaryFile(), open(stderr, "w+b") if stderr else tempfile.TemporaryFile()]  # noqa: SIM115
        fd, name = tempfile.mkstemp(prefix="alertd-bench-rss-")
        os.close(fd)
        self._rss_file = Path(name)
        # A forked child's peak RSS counts its parent's resident memory up to exec, so a
        # benchmark holding a dataset would inflate every figure: GNU time, a tiny process,
        # is the parent that counts (its %M is the command's own ru_maxrss).
        wrap = [str(GNU_TIME), "-f", "%M", "-o", str(self._rss_file)] if GNU_TIME.exists() else []
        self.began, self.began_wall = time.perf_counter(), time.time()
        self._proc = subprocess.Popen(
            wrap + cmd, stdout=self._files[0], stderr=self._files[1], env=env, start_new_session=True
        )
        self.pid = self._proc.pid
        if wrap:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
            while not (text := children.read_text().split()) and self._proc.poll() is None:
                time.sleep(0.001)
            self.pid = int(text[0]) if text else self.pid

    def finish(self, timeout: float) -> Measured:
        """Wait up to `timeout` s, then kill the whole process group (its peak RSS read first)."""
        ended: list[float] = []

        def reap() -> None:  # a blocking wait: Popen.wait(timeout) polls, at up to 50 ms a step
            self._proc.wait()
            ended.append(time.perf_counter())

        waiter = threading.Thread(target=reap, daemon=True)
        waiter.start()
        waiter.join(timeout)
        killed = waiter.is_alive()
        if killed:
            peak = peak_rss_mib(self.pid)
            os.killpg(self._proc.pid, signal.SIGKILL)
            waiter.join()
        try:
            if not killed:
                text = self._rss_file.read_text().split()
                peak = int(text[-1]) / 1024 if text and text[-1].isdigit() else None  # KiB
        finally:
            self._rss_file.unlink(missing_ok=True)
        out, err = (self._read(f) for f in self._files)
        # GNU time exits with the command's status (or 128 + signal) and says so on stderr
        err = "\n".join(line for line in err.splitlines() if not line.startswith("Command "))
        return Measured(ended[0] - self.began, peak, None if killed else self._proc.returncode, out, err)

    @staticmethod
    def _read(handle: tempfile._TemporaryFileWrapper) -> str:  # type: ignore[type-arg]
        handle.seek(0)
        text = handle.read().decode(errors="replace")
        handle.close()
        return text


def measure(cmd: list[str], *, timeout: float, env: dict[str, str] | None = None) -> Measured:
    """Run `cmd` as a whole process, killed (with its process group) after `timeout` s."""
    return Started(cmd, env).finish(timeout)


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM of a live process, or None when it is gone."""
    return _proc_status_mib(pid, "VmHWM:")


def rss_mib(pid: int) -> float | None:
    """VmRSS of a live process, or None when it is gone."""
    return _proc_status_mib(pid, "VmRSS:")


def _proc_status_mib(pid: int, key: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def wait_for_import(probe: str, what: str, minutes: float, interval: float) -> None:
    """Until `probe` runs cleanly in a child (a half-written module does not stick in this
    process's module cache), polling every `interval` s for up to `minutes`."""
    deadline = time.monotonic() + minutes * 60
    while True:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        if time.monotonic() + interval > deadline:
            raise SystemExit(f"{what} still does not import after {minutes} min: {last}")
        print(f"waiting for {what} ({last}); next try in {interval:.0f} s", flush=True)
        time.sleep(interval)
