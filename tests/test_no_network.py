"""SkinDesk opens no network connection: the CLI runs with Python's sockets made to fail.

Each command runs in a fresh interpreter whose ``sitecustomize`` replaces socket creation
(internet families), ``connect``, ``connect_ex``, ``sendto``, ``create_connection`` and
``getaddrinfo`` with a function that records the attempt in a log file and raises ``OSError``.
A control run proves that the trap catches a real attempt.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SITECUSTOMIZE = r'''
import json, os, socket

_LOG = os.environ["SKINDESK_SOCKET_LOG"]


def _record(what, detail):
    with open(_LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps([what, repr(detail)]) + "\n")
    raise OSError(f"network access blocked by the SkinDesk test: {what} {detail!r}")


_init = socket.socket.__init__


def _socket_init(self, family=-1, type=-1, proto=-1, fileno=None):
    if fileno is None and family in (socket.AF_INET, socket.AF_INET6, -1):
        _record("socket", (family, type))
    _init(self, family, type, proto, fileno)


socket.socket.__init__ = _socket_init
socket.socket.connect = lambda self, address: _record("connect", address)
socket.socket.connect_ex = lambda self, address: _record("connect_ex", address)
socket.socket.sendto = lambda self, *args: _record("sendto", args)
socket.create_connection = lambda *args, **kwargs: _record("create_connection", args)
socket.getaddrinfo = lambda *args, **kwargs: _record("getaddrinfo", args)
open(_LOG + ".armed", "w").close()
'''


@pytest.fixture
def trapped(tmp_path):
    """Run ``python ARGS...`` with the socket trap; returns (completed process, attempts)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = tmp_path / "sockets.log"

    def run(*args: str) -> tuple[subprocess.CompletedProcess, list]:
        log.unlink(missing_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO), env.get("PYTHONPATH", "")])
        env["SKINDESK_SOCKET_LOG"] = str(log)
        env["QT_QPA_PLATFORM"] = "offscreen"
        result = subprocess.run([sys.executable, *args], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert Path(str(log) + ".armed").exists(), "the socket trap was not loaded"
        attempts = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return result, attempts

    return run


def test_the_trap_catches_a_real_attempt(trapped):
    result, attempts = trapped("-c", "import socket; socket.create_connection(('127.0.0.1', 9))")
    assert result.returncode != 0 and "network access blocked" in result.stderr
    assert attempts and attempts[0][0] == "create_connection"
    result, attempts = trapped("-c", "import urllib.request as u; u.urlopen('http://example.org')")
    assert result.returncode != 0 and attempts


def test_info_opens_no_connection(trapped, test_model_path):
    result, attempts = trapped("-m", "skindesk", "info", "--model", str(test_model_path))
    assert result.returncode == 0, result.stderr
    assert "Alert operating points" in result.stdout
    assert attempts == []


@pytest.mark.skipif(importlib.util.find_spec("skindesk.commands.classify") is None,
                    reason="the classify command is not written yet")
def test_classify_opens_no_connection(trapped, test_model_path, image_folder, tmp_path):
    folder = image_folder(count=4, ext=".jpg", subfolder="more")
    (folder / "broken.jpg").write_text("not an image")
    output = tmp_path / "results.csv"
    result, attempts = trapped("-m", "skindesk", "classify", str(folder), "--recursive",
                               "--model", str(test_model_path), "--format", "csv",
                               "--output", str(output))
    assert result.returncode in (0, 1), result.stderr  # 1: the broken file has an error row
    assert "Traceback" not in result.stderr
    text = output.read_text()
    assert "image_000.jpg" in text and "nested.jpg" in text and "broken.jpg" in text
    assert attempts == []
