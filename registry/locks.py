"""Advisory file locks for writers that share one machine: schema creation of an embedded SQLite store,
and one catalogue entry being built.

`fcntl.flock` locks belong to an open file: the kernel drops them when the process dies, SIGKILL
included, so a killed writer never leaves a lock behind. The holder writes who it is into the file
(`pid 123 on host: building anime/fp16`), so a waiter can say whom it waits for, in one line.
Writers on *different* machines sharing a tracking server do not see these locks; for them the
registry's check-after-create (registry/publish.py) keeps one version per identity.
"""

import fcntl
import os
import socket
from pathlib import Path


def writer_id():
    """Who is writing: `host:pid` (tagged on runs so a later build can tell a dead writer's leftovers)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def pid_alive(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError):
        return True  # exists, owned by someone else (or unreadable): treat as alive
    return True


def writer_alive(writer):
    """Whether a `host:pid` writer may still be running (False only when it surely is not)."""
    host, _, pid = str(writer).rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine: we cannot tell
    return pid_alive(pid)


class FileLock:
    """An exclusive lock on `path` (created with its folder). Use `try_acquire`, `acquire`, `release`."""

    def __init__(self, path, what=""):
        self.path = Path(path)
        self.what = what  # written for waiters: "building anime/fp16"
        self._fd = None

    def holder(self):
        try:
            return self.path.read_text().strip() or "another process"
        except OSError:
            return "another process"

    def _open(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)

    def _own(self, fd):
        self._fd = fd
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}{': ' + self.what if self.what else ''}\n".encode())

    def try_acquire(self):
        """Take the lock if it is free; False (without waiting) when another process holds it."""
        if self._fd is not None:
            return True
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._own(fd)
        return True

    def acquire(self, say=None, waiting=""):
        """Take the lock, waiting as long as it takes; `say` gets one line first when it must wait."""
        if self.try_acquire():
            return self
        if say is not None:
            say(f"waiting for {self.holder()}" + (f" {waiting}" if waiting else ""))
        fd = self._open()
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._own(fd)
        return self

    def release(self):
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
