"""Atomic writes rename only over regular files: devices and FIFOs are written directly."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from skindesk.core.atomic import is_special_file, write_atomically, write_text_atomically


def test_a_regular_file_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")

    def broken(temporary: str) -> None:
        Path(temporary).write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomically(target, broken)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
    write_text_atomically(target, "new")
    assert target.read_text() == "new" and stat.S_ISREG(target.stat().st_mode)


def test_a_device_stays_a_device(tmp_path: Path, device_node: Path) -> None:
    device = device_node
    write_text_atomically(device, "into the void")
    assert stat.S_ISCHR(device.stat().st_mode) and is_special_file(device)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]  # no temporary file left


def test_a_fifo_is_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_text_atomically(fifo, "through the pipe")
    reader.join(10)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
