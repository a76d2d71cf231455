"""Error types of the core. Every message names the file and the problem in plain words."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SkinDeskError", "ImageLoadError", "ModelError"]


class SkinDeskError(Exception):
    """Base class of every error SkinDesk reports to a user."""


class ImageLoadError(SkinDeskError):
    """An image file could not be read; ``path`` and ``problem`` say which and why."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ModelError(SkinDeskError):
    """A model file is missing, damaged, tampered with or incompatible."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"model {self.path}: {problem}")
