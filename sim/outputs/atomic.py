"""Atomic writes: a file or a whole folder appears complete, or not at all.

Results are written into a temporary sibling and renamed into place; an error or Ctrl-C
leaves the previous result (if any) untouched and no half-written folder behind. A folder is
written under a lock (``.<name>.lock`` beside it), and whoever holds the lock first repairs
what a killed writer left: a result parked in ``.<name>.old-PID`` between the two renames is
restored, and stale ``.<name>.tmp-*`` folders are removed. Files and folders get the modes
the umask gives any new file (not 0600/0700 as ``tempfile`` makes them).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import shutil
import sys
import time
from pathlib import Path
from typing import Iterator

LOCK_WAIT = 10.0       # seconds a second writer waits for the lock before giving up (exit 2)


class OutputError(OSError):
    """The environment refused a write (read-only, full disk, not a folder): exit 1, not a bug."""

    def __init__(self, path: str | Path, exc: OSError):
        super().__init__(exc.errno, exc.strerror or str(exc), str(path))
        self.path, self.cause = str(path), exc

    def __str__(self) -> str:
        if self.cause.errno in (errno.EEXIST, errno.ENOTDIR):
            for p in [Path(self.path), *Path(self.path).parents]:
                if p.exists() and not p.is_dir():
                    return f"cannot write '{self.path}': '{p}' is a file, not a folder ({self.cause.strerror})"
        where = f" ({self.cause.filename})" if self.cause.filename and str(self.cause.filename) != self.path else ""
        return f"cannot write '{self.path}': {self.cause.strerror or self.cause}{where}"


def umask() -> int:
    """The process umask, read without changing it where /proc allows."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    old = os.umask(0o022)
    os.umask(old)
    return old


def file_mode() -> int:
    """The mode a new regular file gets under the umask (0666 & ~umask)."""
    return 0o666 & ~umask()


def _note(msg: str) -> None:
    print(f"batsim: note: {msg}", file=sys.stderr)


@contextlib.contextmanager
def folder_lock(final: str | Path, wait: float = LOCK_WAIT, what: str = "run") -> Iterator[None]:
    """Hold the lock of output folder ``final``; BadInput (exit 2) if another writer keeps it ``wait`` s."""
    from ..core.errors import bad

    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(final.parent / f".{final.name}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise OutputError(final.parent, exc) from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise bad(str(final), f"another batsim {what} is writing this folder (waited {wait:g} s "
                                          "for it to finish)", "wait for the other run to finish, or choose "
                                                               "another --out; nothing was written") from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)      # releases the lock; the (empty) lock file stays for the next writer


def recover(final: str | Path) -> list[str]:
    """Repair what a killed writer of ``final`` left (call with the lock held); return what was done."""
    final = Path(final)
    done: list[str] = []
    try:
        names = os.listdir(final.parent)
    except OSError:
        return done
    olds = sorted((n for n in names if n.startswith(f".{final.name}.old-")),
                  key=lambda n: os.stat(final.parent / n).st_mtime, reverse=True)
    if olds and not final.exists():
        os.replace(final.parent / olds[0], final)
        done.append(f"restored the result of an interrupted run from {final.parent / olds[0]} into {final}")
        olds = olds[1:]
    for n in olds + [n for n in names if n.startswith(f".{final.name}.tmp-")]:
        shutil.rmtree(final.parent / n, ignore_errors=True)
        done.append(f"removed {final.parent / n} left by an interrupted run")
    for msg in done:
        _note(msg)
    return done


@contextlib.contextmanager
def replace_dir(final: str | Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``final`` (two renames). Hold the lock."""
    final = Path(final)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        os.mkdir(tmp)                       # mode 0777 & ~umask, like any new folder
    except OSError as exc:
        raise OutputError(final.parent, exc) from None
    try:
        yield tmp
        old = None
        if final.exists() or final.is_symlink():
            old = final.parent / f".{final.name}.old-{os.getpid()}"
            if old.exists():
                shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
        try:
            os.replace(tmp, final)
        except BaseException:
            if old is not None and old.exists() and not final.exists():
                os.replace(old, final)          # put the earlier result back
            raise
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputError(final, exc) from None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(final: str | Path, wait: float = LOCK_WAIT) -> Iterator[Path]:
    """Lock ``final``, repair a killed writer's leftovers, yield a temporary folder that replaces it."""
    with folder_lock(final, wait):
        recover(final)
        with replace_dir(final) as tmp:
            yield tmp


def write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)   # umask applies
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def is_env_error(exc: BaseException) -> bool:
    """True for OS errors the environment causes (permissions, space, read-only, not a folder)."""
    return isinstance(exc, OSError) and exc.errno in {
        errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENOTDIR, errno.EISDIR,
        errno.EEXIST, errno.ENOENT, errno.EMFILE, errno.ENAMETOOLONG, errno.EIO, errno.EFBIG, errno.ENOTEMPTY}
