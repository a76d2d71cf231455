"""``skindesk-train``: verbs, help strings with defaults, clear errors instead of tracebacks."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from training.cli import build_parser, main


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_verbs_are_registered() -> None:
    verbs = _subparsers(build_parser())
    assert {"audit", "summary", "train", "seed", "export"} <= set(verbs)
    try:
        import training.evaluate as evaluate
    except ImportError:
        evaluate = None
    if evaluate is not None and hasattr(evaluate, "add_parser"):
        assert "evaluate" in verbs


def test_every_option_help_states_its_default() -> None:
    missing = []
    for verb, parser in _subparsers(build_parser()).items():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction) or not action.option_strings:
                continue
            if "default" not in (action.help or "") and "required" not in (action.help or ""):
                missing.append(f"{verb} {action.option_strings[0]}")
    assert missing == []


def test_train_and_seed_options_parse() -> None:
    args = build_parser().parse_args(
        ["train", "--data", "d", "--arch", "mobilenetv2", "--out", "o", "--seed", "7", "--epochs", "3",
         "--batch-size", "8", "--weights", "w.h5", "--resume", "--limit", "10",
         "--no-exclude-flagged", "--image-width", "160", "--image-height", "120", "--head-epochs", "2",
         "--learning-rate", "1e-4", "--checkpoint-minutes", "5"])
    assert (args.seed, args.epochs, args.batch_size, args.limit, args.image_width) == (7, 3, 8, 10, 160)
    assert args.resume and not args.exclude_flagged and args.learning_rate == 1e-4
    defaults = build_parser().parse_args(["seed", "--data", "d", "--out", "o"])
    assert (defaults.seed, defaults.strategy, defaults.resume, defaults.no_exclude_flagged) == (42, "default", False, False)


def test_summary_prints_the_seed_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--arch", "seed"]) == 0
    out = capsys.readouterr().out
    assert "3,305,801" in out and "3,211,392" in out and "conv1" in out


@pytest.mark.parametrize("argv, message", [
    (["seed", "--data", "{missing}", "--out", "{out}"], "no such file or folder"),
    (["summary", "--arch", "seed", "--image-width", "224"], "128x128"),
    (["seed", "--data", "{tree}", "--out", "{out}", "--epochs", "0"], "--epochs must be at least 1"),
    (["train", "--data", "{tree}", "--out", "{out}", "--epochs", "0"], "--epochs must be at least 1"),
    (["train", "--data", "{missing}", "--out", "{out}"], "no such file or folder"),
    (["train", "--data", "{tree}", "--out", "{out}", "--weights", "{missing}"], "no such file"),
    (["export", "{out}"], "not a training run folder"),
    (["summary", "--arch", "seed", "--classes", "1"], "at least 2 classes"),
])
def test_bad_input_gives_a_message_and_status_2(argv: list[str], message: str, tmp_path: Path, clean_tree: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    values = {"missing": str(tmp_path / "missing"), "out": str(tmp_path / "out"), "tree": str(clean_tree)}
    assert main([a.format(**values) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_unknown_arch_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", "d", "--arch", "resnet", "--out", "o"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'resnet'" in capsys.readouterr().err
