"""The onnxruntime classifier: one verified model, one session, CUDA first, CPU fallback.

``session.get_providers()`` is the only truth about the provider in use. When CUDA was asked for
and not obtained, the reason (no CUDA build installed, CUDA/cuDNN libraries missing, no GPU) is
kept in ``provider_note`` and onnxruntime's own noisy stderr lines are kept out of the terminal.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from .errors import ModelError
from .modelcard import ModelCard, read_model
from .prediction import Prediction, make_prediction
from .preprocess import preprocess, to_canonical_scale
from .quality import QualityIssue, check, measure

__all__ = ["Classifier", "PROVIDER_CHOICES", "default_threads"]

PROVIDER_CHOICES = ("auto", "cuda", "cpu")
_CUDA = "CUDAExecutionProvider"
_CPU = "CPUExecutionProvider"


def default_threads() -> int:
    """Threads for one inference: every core this process may use (2 on a small clinic PC)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - Windows, macOS
        return max(1, os.cpu_count() or 1)


class Classifier:
    """Runs a SkinDesk ONNX model on images.

    Args:
        model_path: the ``.onnx`` file (verified against its recorded sha256 before use).
        provider: ``auto`` (CUDA if it really loads, else CPU), ``cuda`` (same, but the
            fallback is explained as a failure) or ``cpu``.
        threads: intra-op threads (default: all cores this process may use).
        sensitivity: the clinic's chosen operating point (a target sensitivity the card
            validated), or None for the card's defaults.
        gate_strictness: the clinic's chosen image-gate level (one of the card's validated
            ``ood.levels``), or None for the card's default threshold.

    Raises:
        ModelError: the file is missing, damaged, tampered with or incompatible.
        ValueError: unknown provider, or a sensitivity or gate strictness the card does not offer.
    """

    def __init__(
        self,
        model_path: str | Path,
        provider: str = "auto",
        threads: int | None = None,
        sensitivity: float | None = None,
        gate_strictness: str | None = None,
    ) -> None:
        if provider not in PROVIDER_CHOICES:
            raise ValueError(f"unknown provider {provider!r}; use one of {PROVIDER_CHOICES}")
        self.model_path = Path(model_path)
        self.card, data, self.sha256 = read_model(self.model_path)
        self.requested_provider = provider
        self.provider_note = ""
        self.threads = threads or default_threads()
        self.session = self._open_session(data, provider, self.threads)
        self.sensitivity: float | None = None
        self.set_sensitivity(sensitivity)
        self.gate_strictness: str | None = None
        self.set_gate_strictness(gate_strictness)
        self._outputs = [self.card.probabilities_output]
        for name in (self.card.cam_output, self.card.ood_output):
            if name:
                self._outputs.append(name)

    # -- session ----------------------------------------------------------------------
    def _open_session(self, data: bytes, provider: str, threads: int):  # noqa: ANN202
        import onnxruntime as ort

        ort.set_default_logger_severity(3)
        if hasattr(ort, "disable_telemetry_events"):
            ort.disable_telemetry_events()  # Windows builds emit ETW telemetry unless told not to
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        want_cuda = provider in ("auto", "cuda")
        available = ort.get_available_providers()
        providers = [_CPU]
        if want_cuda and _CUDA in available:
            providers = [_CUDA, _CPU]
        try:
            with _captured_stderr() as captured:
                session = ort.InferenceSession(data, sess_options=options, providers=providers)
        except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelError(self.model_path, f"onnxruntime cannot run it: {error}") from error
        if want_cuda and _CUDA not in session.get_providers():
            self.provider_note = _cuda_failure_reason(available, captured.text)
        return session

    def for_parallel_batches(self, lanes: int) -> Classifier:
        """A classifier for ``lanes`` threads each running its own batches at the same time.

        On CPU each lane then gets its share of the cores as a single-threaded session (same
        verified model, same operating point): two lanes computing independently waste less than
        one two-thread session whose threads wait for each other while a decoder holds a core.
        On CUDA, when there is nothing to share, or when the model file is no longer the one
        this classifier verified, this classifier itself is returned (slower, never wrong).
        """
        share = max(1, self.threads // max(1, lanes))
        if self.provider != "CPU" or share == self.threads:
            return self
        try:
            clone = Classifier(self.model_path, provider="cpu", threads=share,
                               sensitivity=self.sensitivity, gate_strictness=self.gate_strictness)
        except (ModelError, OSError, ValueError):
            return self  # the file moved or changed since it was verified: keep this session
        return clone if clone.sha256 == self.sha256 else self

    @property
    def provider(self) -> str:
        """'CUDA' or 'CPU': what the session really runs on."""
        return "CUDA" if self.session.get_providers()[0] == _CUDA else "CPU"

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers())

    @property
    def card_title(self) -> str:
        return self.card.title

    def set_sensitivity(self, sensitivity: float | None) -> None:
        """Choose the operating point; it must be one the card validated."""
        if sensitivity is not None:
            offered = self.card.available_sensitivities()
            if not any(abs(sensitivity - s) < 1e-9 for s in offered):
                choices = ", ".join(f"{s:g}" for s in offered) or "none"
                raise ValueError(
                    f"sensitivity {sensitivity:g} is not a validated operating point of this "
                    f"model (offered: {choices})"
                )
        self.sensitivity = sensitivity

    def set_gate_strictness(self, level: str | None) -> None:
        """Use one of the card's validated image-gate levels (None: the card's default)."""
        if level is not None and not self.card.ood_levels:
            raise ValueError(f"image-gate strictness {level!r}: this model has no validated "
                             "image-gate levels; leave the strictness at the model's default")
        if level is not None and level not in self.card.ood_levels:
            offered = ", ".join(self.card.ood_levels)
            raise ValueError(f"image-gate strictness {level!r} is not validated for this model "
                             f"(offered: {offered})")
        self.gate_strictness = level

    @property
    def gate_threshold(self) -> float | None:
        """The image-gate score at or above which an image is not assessed."""
        if self.gate_strictness is not None:
            return self.card.ood_levels[self.gate_strictness]
        return self.card.ood_threshold

    # -- inference --------------------------------------------------------------------
    def preprocess(self, image: Image.Image, out: np.ndarray | None = None) -> np.ndarray:
        """The model's input tensor for ``image`` (written into ``out`` when given)."""
        return preprocess(image, self.card.preprocessing, out)

    def prepare(self, image: Image.Image, out: np.ndarray | None = None
                ) -> tuple[np.ndarray, tuple[QualityIssue, ...]]:
        """The input tensor and the quality issues of ``image``, from one canonical-scale copy.

        ``image.info["original_size"]`` (set by ``load_image`` when it decoded a JPEG at a
        reduced draft size) is the size the quality check judges; else ``image.size``.
        """
        spec = self.card.preprocessing
        limits = self.card.quality_limits
        if limits is None:
            return preprocess(image, spec, out), ()
        size = image.info.get("original_size") or image.size
        if image.mode != "RGB":
            image = image.convert("RGB")
        canonical = to_canonical_scale(image, spec.canonical_area)
        issues = tuple(check(measure(canonical, None, original_size=size), limits))
        return preprocess(canonical, spec, out), issues

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(height, width, 3) of one preprocessed image."""
        spec = self.card.preprocessing
        return (spec.height, spec.width, 3)

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Raw outputs for a preprocessed batch (n, h, w, 3)."""
        values = self.session.run(self._outputs,
                                  {self.card.input_name: np.asarray(batch, dtype=np.float32)})
        return dict(zip(self._outputs, values))

    def predict_arrays(
        self, batch: np.ndarray, paths: Sequence[str | None] | None = None,
        quality: Sequence[Sequence[QualityIssue]] | None = None,
    ) -> list[Prediction]:
        """Predictions for a preprocessed batch (``quality``: each image's issues, from ``prepare``)."""
        if len(batch) == 0:
            return []
        outputs = self.run(batch)
        probabilities = outputs[self.card.probabilities_output]
        expected = (len(batch), len(self.card.classes))
        if probabilities.shape != expected:
            # A symbolic class dimension escapes read_model's check; catch it on first use.
            raise ModelError(
                self.model_path,
                f"probabilities output has shape {probabilities.shape}; expected {expected} "
                f"({len(self.card.classes)} classes in the card)",
            )
        cams = outputs.get(self.card.cam_output) if self.card.cam_output else None
        scores = outputs.get(self.card.ood_output) if self.card.ood_output else None
        paths = list(paths) if paths is not None else [None] * len(batch)
        quality = list(quality) if quality is not None else [()] * len(batch)
        return [
            make_prediction(
                self.card,
                probabilities[i],
                ood_score=None if scores is None else float(np.ravel(scores[i])[0]),
                cam=None if cams is None else cams[i],
                sensitivity=self.sensitivity,
                path=None if paths[i] is None else str(paths[i]),
                quality=quality[i],
                gate_threshold=self.gate_threshold,
            )
            for i in range(len(batch))
        ]

    def predict_images(
        self, images: Sequence[Image.Image], paths: Sequence[str | None] | None = None
    ) -> list[Prediction]:
        if len(images) == 0:
            return []
        prepared = [self.prepare(image) for image in images]
        return self.predict_arrays(np.stack([tensor for tensor, _ in prepared]), paths,
                                   [issues for _, issues in prepared])

    def predict_image(self, image: Image.Image, path: str | None = None) -> Prediction:
        return self.predict_images([image], [path])[0]

    def predict_file(self, path: str | Path) -> Prediction:
        """Load, preprocess and classify one file (raises ``ImageLoadError`` for bad files)."""
        from .imaging import load_image

        image = load_image(path, draft_size=self.draft_size)
        return self.predict_image(image, str(path))

    @property
    def draft_size(self) -> tuple[int, int]:
        """Smallest JPEG decode size that loses nothing the preprocessing keeps (2x margin)."""
        spec = self.card.preprocessing
        side = max(spec.height, spec.width)
        if spec.canonical_area:
            side = max(side, int(spec.canonical_area**0.5 * 4 / 3) + 1)
        return (2 * side, 2 * side)


class _Captured:
    text = ""


@contextmanager
def _captured_stderr() -> Iterator[_Captured]:
    """Redirect file descriptor 2 (C++ logging too) into a buffer for the block's duration."""
    captured = _Captured()
    try:
        saved = os.dup(2)
    except OSError:  # pragma: no cover - no stderr at all (frozen GUI app on Windows)
        yield captured
        return
    with tempfile.TemporaryFile() as buffer:
        os.dup2(buffer.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            buffer.seek(0)
            captured.text = buffer.read().decode("utf-8", "replace")


def _cuda_failure_reason(available: Sequence[str], log: str) -> str:
    """Plain-words reason why CUDA was not obtained."""
    if _CUDA not in available:
        return (
            "this SkinDesk build has no CUDA support (onnxruntime without the CUDA provider); "
            "running on CPU"
        )
    missing = sorted(set(re.findall(r"(lib[\w\-]+\.so(?:\.\d+)*)", log)) - {"libonnxruntime_providers_cuda.so", "libonnxruntime_providers_shared.so"})
    missing += sorted(set(re.findall(r"([\w\-]+\.dll)", log)))
    if any("cudnn" in name for name in missing):
        return f"cuDNN 9 libraries not found ({', '.join(missing)}); running on CPU"
    if missing:
        return f"CUDA 13 runtime libraries not found ({', '.join(missing)}); running on CPU"
    if re.search(r"no CUDA-capable device|CUDA driver|cudaGetDeviceCount", log, re.I):
        return "no usable NVIDIA GPU or driver found; running on CPU"
    detail = log.strip().splitlines()[-1][:200] if log.strip() else "no reason given by onnxruntime"
    return f"CUDA provider could not be loaded ({detail}); running on CPU"
