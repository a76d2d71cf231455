"""The ``skindesk`` dispatcher (verbs, app start, one-line errors) and ``skindesk.paths``."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

import skindesk
from skindesk import cli, paths
from skindesk.core.errors import SkinDeskError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def app_calls(monkeypatch):
    calls: list[list[str]] = []
    fake = types.ModuleType("skindesk.gui.app")
    fake.main = lambda given: calls.append(list(given)) or 0
    monkeypatch.setitem(sys.modules, "skindesk.gui.app", fake)
    return calls


def test_no_arguments_starts_the_app(app_calls):
    assert cli.main([]) == 0
    assert app_calls == [[]]


def test_existing_paths_start_the_app_with_them(app_calls, tmp_path):
    image = tmp_path / "a.jpg"
    image.write_bytes(b"x")
    assert cli.main([str(image), str(tmp_path)]) == 0
    assert app_calls == [[str(image), str(tmp_path)]]


def test_a_word_that_is_neither_verb_nor_file(app_calls, capsys):
    assert cli.main(["clasify"]) == 2
    err = capsys.readouterr().err
    assert err == ("skindesk: error: 'clasify' is neither a command (classify, info, report, case) nor "
                   "an existing file or folder\n")
    assert app_calls == []


def test_app_not_installed_is_explained(monkeypatch, capsys):
    def missing(name):
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(cli.importlib, "import_module", missing)
    assert cli.start_app([]) == 2
    err = capsys.readouterr().err
    assert "desktop app is not part of this installation" in err and "skindesk classify" in err


def test_qt_libraries_missing_is_explained(monkeypatch, capsys):
    def broken(name):
        raise ImportError("libEGL.so.1: cannot open shared object file")

    monkeypatch.setattr(cli.importlib, "import_module", broken)
    assert cli.start_app(["x.jpg"]) == 2
    err = capsys.readouterr().err
    assert "libEGL.so.1" in err and "scripts/setup.sh" in err and err.count("\n") == 1


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"skindesk {skindesk.__version__}\n"


def test_top_level_help_lists_the_verbs(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for verb in ("info", "classify", "report"):
        if cli._load_verb(verb)[0] is not None:
            assert verb in out


def fake_verb(monkeypatch, error: BaseException):
    module = types.ModuleType("skindesk.commands.info")

    def add_parser(subparsers):
        parser = subparsers.add_parser("info")
        parser.set_defaults(func=module.run)

    def run(args):
        raise error

    module.add_parser, module.run = add_parser, run
    original = cli._load_verb
    monkeypatch.setattr(cli, "_load_verb", lambda name: (module, None) if name == "info"
                        else original(name))


@pytest.mark.parametrize("error, expected", [
    (SkinDeskError("model x.onnx: file not found"), "model x.onnx: file not found"),
    (FileNotFoundError(2, "No such file or directory", "/data/x.csv"),
     "/data/x.csv: No such file or directory"),
    (ValueError("sensitivity 0.5 is not offered"), "sensitivity 0.5 is not offered"),
])
def test_user_errors_are_one_line_exit_2(monkeypatch, capsys, error, expected):
    fake_verb(monkeypatch, error)
    assert cli.main(["info"]) == 2
    err = capsys.readouterr().err
    assert err == f"skindesk: error: {expected}\n"


def test_debug_shows_the_traceback(monkeypatch):
    fake_verb(monkeypatch, SkinDeskError("boom"))
    monkeypatch.setenv("SKINDESK_DEBUG", "1")
    with pytest.raises(SkinDeskError, match="boom"):
        cli.main(["info"])


def test_interrupt_exits_130(monkeypatch, capsys):
    fake_verb(monkeypatch, KeyboardInterrupt())
    assert cli.main(["info"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_a_broken_verb_does_not_take_the_others_down(monkeypatch, capsys, test_model_path):
    original = cli.importlib.import_module

    def importer(name):
        if name == "skindesk.commands.report":
            raise RuntimeError("report engine exploded")
        return original(name)

    monkeypatch.setattr(cli.importlib, "import_module", importer)
    assert cli.main(["info", "--model", str(test_model_path), "--json"]) == 0
    capsys.readouterr()
    assert cli.main(["report"]) == 2
    assert "'report' command is not available: RuntimeError: report engine exploded" in (
        capsys.readouterr().err)


def test_a_missing_verb_module_is_not_offered(monkeypatch, capsys):
    original = cli.importlib.import_module

    def importer(name):
        if name == "skindesk.commands.report":
            raise ModuleNotFoundError("no", name=name)
        return original(name)

    monkeypatch.setattr(cli.importlib, "import_module", importer)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["report"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'report'" in capsys.readouterr().err


def test_python_dash_m_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "skindesk", "--version"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"skindesk {skindesk.__version__}"


# -- paths --------------------------------------------------------------------------------
def test_source_tree_resources(monkeypatch):
    monkeypatch.delenv("SKINDESK_RESOURCES", raising=False)
    monkeypatch.delenv("SKINDESK_MODEL", raising=False)
    assert paths.resources_dir() == REPO / "resources"
    assert paths.default_model_path() == REPO / "resources" / "models" / "skindesk.onnx"
    assert not paths.is_frozen()


def test_frozen_resources_come_from_meipass(monkeypatch, tmp_path):
    monkeypatch.delenv("SKINDESK_RESOURCES", raising=False)
    monkeypatch.delenv("SKINDESK_MODEL", raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.is_frozen()
    assert paths.default_model_path() == tmp_path / "resources" / "models" / "skindesk.onnx"


def test_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("SKINDESK_RESOURCES", str(tmp_path))
    monkeypatch.delenv("SKINDESK_MODEL", raising=False)
    assert paths.resource_path("icons", "a.png") == tmp_path / "icons" / "a.png"
    monkeypatch.setenv("SKINDESK_MODEL", str(tmp_path / "other.onnx"))
    assert paths.default_model_path() == tmp_path / "other.onnx"


@pytest.mark.parametrize("platform, env, config, log", [
    ("linux", {}, "HOME/.config/skindesk", "HOME/.local/state/skindesk/log"),
    ("linux", {"XDG_CONFIG_HOME": "/xdg/c", "XDG_STATE_HOME": "/xdg/s"}, "/xdg/c/skindesk",
     "/xdg/s/skindesk/log"),
    ("linux", {"XDG_CONFIG_HOME": "relative/c"}, "HOME/.config/skindesk",
     "HOME/.local/state/skindesk/log"),
    ("win32", {"APPDATA": "/w/Roaming", "LOCALAPPDATA": "/w/Local"}, "/w/Roaming/SkinDesk",
     "/w/Local/SkinDesk/Logs"),
    ("darwin", {}, "HOME/Library/Application Support/SkinDesk", "HOME/Library/Logs/SkinDesk"),
])
def test_user_dirs_per_os(monkeypatch, tmp_path, platform, env, config, log):
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "APPDATA", "LOCALAPPDATA"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(paths.sys, "platform", platform)
    monkeypatch.setattr(paths, "_home", lambda: tmp_path)
    home = str(tmp_path)
    assert paths.user_config_dir() == Path(config.replace("HOME", home))
    assert paths.user_log_dir() == Path(log.replace("HOME", home))


def test_user_dirs_are_created_on_request_and_outside_the_install(monkeypatch, tmp_path):
    monkeypatch.setattr(paths.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "c"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "s"))
    assert not paths.user_config_dir().exists()
    assert paths.user_config_dir(create=True).is_dir()
    assert paths.user_log_dir(create=True).is_dir()
    install = Path(skindesk.__file__).resolve().parent.parent
    for folder in (paths.user_config_dir(), paths.user_log_dir()):
        assert install not in folder.resolve().parents
