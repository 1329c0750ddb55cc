"""The local settlement journal: append-only segment files, one record per line.

An append writes its line with one ``write`` (the kernel has it: a ``kill -9`` cannot lose it)
and then waits for an ``fdatasync`` shared by every append that arrived meanwhile (group
commit), so a power loss cannot lose an answered request either. Each acknowledgement seals
the active segment and starts a new one; a sealed segment whose records are all acknowledged
is deleted. Each process holds one slot directory locked (``flock``); a slot whose lock nobody
holds belongs to a dead process, and its records are adopted by the next one to look.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from newapi.billing.journal import JournalError

log = logging.getLogger(__name__)
SUFFIX = ".journal"
MAX_SLOTS = 64


class GroupSync:
    """``fdatasync`` of one file descriptor, shared by every waiter that asked before it ran."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._next: asyncio.Future[None] | None = None
        self._runner: asyncio.Task[None] | None = None

    async def wait(self) -> None:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        waiter = self._next
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="journal-fsync")
        await asyncio.shield(waiter)

    async def _run(self) -> None:
        while self._next is not None:
            waiter, self._next = self._next, None
            try:
                await asyncio.to_thread(os.fdatasync, self._fd)
            except OSError as error:
                waiter.set_exception(JournalError(f"journal fsync failed: {error.strerror}"))
            else:
                waiter.set_result(None)

    async def drain(self) -> None:
        if self._runner is not None:
            await self._runner


@dataclass
class _Segment:
    path: Path
    fd: int
    sync: GroupSync
    open_ids: set[str] = field(default_factory=set)
    size: int = 0


class FileJournal:
    """Segments in a slot of ``directory`` (``0/``, ``1/``...) that this process holds locked:
    several processes may share one SQLite database, each with its own slot."""

    def __init__(self, directory: Path) -> None:
        self._root = directory
        self._dir = directory
        self._lock_fd = -1
        self._active: _Segment | None = None
        self._sealed: list[_Segment] = []
        self._number = 0

    async def open(self) -> None:
        for number in range(MAX_SLOTS):
            slot = self._root / str(number)
            self._lock_fd = _lock(slot)
            if self._lock_fd >= 0:
                break
        else:
            raise JournalError(f"all {MAX_SLOTS} journal slots of {self._root} are in use")
        self._dir = slot
        existing = self._segment_paths()
        self._number = int(existing[-1].stem) if existing else 0
        self._active = await self._new_segment()

    def _segment_paths(self, slot: Path | None = None) -> list[Path]:
        paths = (slot or self._dir).glob(f"*{SUFFIX}")
        return sorted(paths, key=lambda path: int(path.stem))

    async def _new_segment(self) -> _Segment:
        self._number += 1
        path = self._dir / f"{self._number:012d}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        await asyncio.to_thread(_sync_directory, self._dir)  # the new name survives a power loss
        return _Segment(path, fd, GroupSync(fd))

    async def append(self, item_id: str, record: bytes) -> None:
        segment = self._active
        if segment is None:
            raise JournalError("the journal is not open")
        line = record + b"\n"
        os.write(segment.fd, line)  # one O_APPEND write: whole or (torn by power loss) skipped
        segment.open_ids.add(item_id)
        segment.size += len(line)
        await segment.sync.wait()

    async def ack(self, item_ids: list[str]) -> None:
        active = self._active
        if active is None:
            return
        done = set(item_ids)
        for segment in [*self._sealed, active]:
            segment.open_ids -= done
        if active.size:
            self._sealed.append(active)
            self._active = await self._new_segment()
        for segment in [s for s in self._sealed if not s.open_ids]:
            self._sealed.remove(segment)
            await self._retire(segment)

    async def _retire(self, segment: _Segment) -> None:
        await segment.sync.drain()
        os.close(segment.fd)
        segment.path.unlink(missing_ok=True)

    async def recover(self) -> list[bytes]:
        """The records a dead process left: in this slot's older segments, and in every other
        slot no live process holds (those are copied into this slot's active segment)."""
        records: list[bytes] = []
        active = self._active.path if self._active else None
        for path in self._segment_paths():
            if path != active and path not in {segment.path for segment in self._sealed}:
                lines = _lines(path)
                fd = os.open(path, os.O_RDONLY)
                self._sealed.append(_Segment(path, fd, GroupSync(fd), _ids(lines), 1))
                records += lines
        for slot in sorted(self._root.iterdir()):
            if slot.is_dir() and slot != self._dir:
                records += await self._adopt(slot)
        return records

    async def _adopt(self, slot: Path) -> list[bytes]:
        lock = _lock(slot, create=False)
        if lock < 0:
            return []  # a live process holds it
        try:
            records: list[bytes] = []
            for path in self._segment_paths(slot):
                records += _lines(path)
            if records:
                await self._take_over(records)
            for path in self._segment_paths(slot):
                path.unlink()
        finally:
            os.close(lock)
        return records

    async def _take_over(self, lines: list[bytes]) -> None:
        segment = self._active
        if segment is None:
            raise JournalError("the journal is not open")
        data = b"\n".join(lines) + b"\n"
        os.write(segment.fd, data)
        segment.open_ids |= _ids(lines)
        segment.size += len(data)
        await segment.sync.wait()

    async def close(self) -> None:
        segments = [*self._sealed, *([self._active] if self._active else [])]
        self._sealed, self._active = [], None
        for segment in segments:
            await segment.sync.drain()
            os.close(segment.fd)
            if not segment.open_ids:
                segment.path.unlink(missing_ok=True)
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = -1


def _lock(slot: Path, *, create: bool = True) -> int:
    """A descriptor holding ``slot``'s lock, or -1 when another process holds it."""
    try:
        if create:
            slot.mkdir(parents=True, exist_ok=True)
        fd = os.open(slot / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise JournalError(f"journal directory {slot} is unusable ({error.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return -1
    return fd


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().split(b"\n") if line]


def _ids(lines: list[bytes]) -> set[str]:
    ids = set()
    for line in lines:
        try:
            ids.add(str(orjson.loads(line)["id"]))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("skipping a torn journal record (%d bytes)", len(line))
    return ids


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
