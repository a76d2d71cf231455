"""The model card: everything the app must know about a model, stored inside the ONNX file.

The card is JSON in the ONNX metadata under ``skindesk.model_card``; a digest of the whole
model (graph, weights and card, with the digest entry itself left out) is stored under
``skindesk.sha256``. ``read_model`` refuses a file whose digest does not match (truncated,
tampered) or whose card is malformed, with a message that names the problem.

Card fields (format 1): ``format_version``, ``name``, ``version``, ``architecture``,
``classes`` (``name``, ``display_name``, ``malignant``, ``premalignant``), ``input``
(``name``, ``layout`` NHWC, ``height``, ``width``, ``channels``), ``outputs`` (output names for
``probabilities``, optional ``class_activation_maps`` and ``ood_score``), ``preprocessing``
(see ``preprocess.Preprocessing``), ``training_data`` (with ``fingerprint``), ``metrics``,
``calibration``, ``uncertainty`` (``top_probability_threshold``), ``ood`` (``threshold``; a
score at or above it is not a dermoscopic image of a skin lesion; optional ``levels``: the
validated thresholds a clinic may choose from, by strictness name), optional ``quality`` (see
``quality.QualityLimits``), ``operating_points`` (see ``OperatingPoint``),
``intended_use``, ``disclaimer``, ``licence``, ``created``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ModelError
from .preprocess import Preprocessing
from .quality import QualityLimits

__all__ = [
    "CARD_KEY",
    "DIGEST_KEY",
    "FORMAT_VERSION",
    "DEFAULT_DISCLAIMER",
    "ClassInfo",
    "OperatingPoint",
    "ModelCard",
    "CardError",
    "model_digest",
    "embed_card",
    "store_card_text",
    "read_model",
    "file_sha256",
]

CARD_KEY = "skindesk.model_card"
DIGEST_KEY = "skindesk.sha256"
FORMAT_VERSION = 1
DEFAULT_DISCLAIMER = (
    "Decision support, not a diagnosis. SkinDesk gives a second opinion on dermoscopic images; "
    "a clinician makes every diagnostic and treatment decision."
)


class CardError(ValueError):
    """The model card is missing a field or holds an impossible value."""


@dataclass(frozen=True)
class ClassInfo:
    """One diagnosis the model predicts."""

    name: str
    display_name: str
    malignant: bool = False
    premalignant: bool = False

    @property
    def flagged(self) -> bool:
        """True for malignant and pre-malignant classes (those that raise alerts)."""
        return self.malignant or self.premalignant

    @property
    def group(self) -> str:
        return "malignant" if self.malignant else "pre-malignant" if self.premalignant else "benign"


@dataclass(frozen=True)
class OperatingPoint:
    """A validated alert threshold for one flagged class at one target sensitivity.

    ``validation`` and ``test`` hold ``sensitivity``, ``specificity``, their 95 % intervals
    (``sensitivity_ci``, ``specificity_ci``) and counts (``positives``, ``negatives``);
    ``per_source`` maps a source name to the same kind of figures.
    """

    class_name: str
    target_sensitivity: float
    threshold: float
    validation: Mapping[str, Any]
    test: Mapping[str, Any] = field(default_factory=dict)
    per_source: Mapping[str, Any] = field(default_factory=dict)

    @property
    def validated_sensitivity(self) -> float:
        return float(self.validation["sensitivity"])

    @property
    def validated_specificity(self) -> float:
        return float(self.validation["specificity"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "target_sensitivity": self.target_sensitivity,
            "threshold": self.threshold,
            "validation": dict(self.validation),
            "test": dict(self.test),
            "per_source": dict(self.per_source),
        }


@dataclass(frozen=True)
class ModelCard:
    """Parsed, validated model card (see the module docstring for the JSON layout)."""

    name: str
    version: str
    classes: tuple[ClassInfo, ...]
    preprocessing: Preprocessing
    input_name: str = "input"
    probabilities_output: str = "probabilities"
    cam_output: str | None = None
    ood_output: str | None = None
    ood_threshold: float | None = None
    ood_levels: Mapping[str, float] = field(default_factory=dict)
    quality_limits: QualityLimits | None = None
    uncertainty_threshold: float = 0.5
    operating_points: Mapping[str, tuple[OperatingPoint, ...]] = field(default_factory=dict)
    default_sensitivity: Mapping[str, float] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    # -- convenient views -------------------------------------------------------------
    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)

    @property
    def title(self) -> str:
        """Short name for status bars and reports, e.g. 'SkinDesk MobileNetV2 1.0'."""
        return f"{self.name} {self.version}"

    @property
    def intended_use(self) -> str:
        return str(self.raw.get("intended_use", ""))

    @property
    def disclaimer(self) -> str:
        return str(self.raw.get("disclaimer") or DEFAULT_DISCLAIMER)

    @property
    def licence(self) -> str:
        return str(self.raw.get("licence", ""))

    @property
    def metrics(self) -> Mapping[str, Any]:
        return self.raw.get("metrics", {}) or {}

    def class_info(self, name: str) -> ClassInfo:
        for info in self.classes:
            if info.name == name:
                return info
        raise KeyError(name)

    def available_sensitivities(self) -> tuple[float, ...]:
        """Target sensitivities offered for every flagged class that has operating points."""
        sets = [{op.target_sensitivity for op in ops} for ops in self.operating_points.values()]
        if not sets:
            return ()
        return tuple(sorted(set.intersection(*sets)))

    def operating_point(self, class_name: str, sensitivity: float | None = None) -> OperatingPoint | None:
        """The operating point for ``class_name`` at ``sensitivity`` (None: the card's default).

        Raises:
            CardError: ``sensitivity`` is not one of those the card validated.
        """
        points = self.operating_points.get(class_name)
        if not points:
            return None
        target = self.default_sensitivity.get(class_name) if sensitivity is None else sensitivity
        if target is None:
            target = points[len(points) // 2].target_sensitivity
        for point in points:
            if abs(point.target_sensitivity - target) < 1e-9:
                return point
        offered = ", ".join(f"{p.target_sensitivity:g}" for p in points)
        raise CardError(
            f"no validated operating point at sensitivity {target:g} for {class_name}; "
            f"the model card offers {offered}"
        )

    # -- parsing ----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelCard:
        """Validate and parse a card mapping. Raises ``CardError`` naming the problem."""
        try:
            return cls._from_dict(data)
        except CardError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise CardError(f"malformed model card: {type(error).__name__}: {error}") from error

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> ModelCard:
        if not isinstance(data, Mapping):
            raise CardError(f"model card is a JSON {type(data).__name__}, not an object")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise CardError(
                f"model card format {version!r} is not supported (this SkinDesk reads format "
                f"{FORMAT_VERSION})"
            )
        for key in ("name", "version", "classes", "input", "preprocessing"):
            if key not in data:
                raise CardError(f"model card has no {key!r} field")
        classes = tuple(
            ClassInfo(
                name=str(c["name"]),
                display_name=str(c.get("display_name") or c["name"]),
                malignant=bool(c.get("malignant", False)),
                premalignant=bool(c.get("premalignant", False)),
            )
            for c in data["classes"]
        )
        if len(classes) < 2:
            raise CardError("model card lists fewer than two classes")
        names = [c.name for c in classes]
        if len(set(names)) != len(names):
            raise CardError(f"model card lists a class twice: {names}")
        spec = dict(data["preprocessing"])
        geometry = data["input"]
        if geometry.get("layout", "NHWC") != "NHWC":
            raise CardError(f"input layout {geometry.get('layout')!r} is not supported (NHWC only)")
        if int(geometry.get("channels", 3)) != 3:
            raise CardError("input must have 3 channels")
        spec.setdefault("height", int(geometry["height"]))
        spec.setdefault("width", int(geometry["width"]))
        if (spec["height"], spec["width"]) != (int(geometry["height"]), int(geometry["width"])):
            raise CardError("preprocessing size differs from the input size")
        preprocessing = Preprocessing.from_dict(spec)
        outputs = data.get("outputs") or {}
        uncertainty = float((data.get("uncertainty") or {}).get("top_probability_threshold", 0.5))
        if not 0.0 <= uncertainty <= 1.0:
            raise CardError(f"uncertainty threshold {uncertainty} is outside 0-1")
        ood = data.get("ood") or {}
        ood_threshold = ood.get("threshold")
        levels = {str(k): float(v) for k, v in (ood.get("levels") or {}).items()}
        quality = data.get("quality")
        try:
            limits = None if quality is None else QualityLimits.from_dict(
                {k: v for k, v in quality.items() if k != "chosen_on"})
        except (TypeError, ValueError) as error:
            raise CardError(f"quality limits: {error}") from error
        points, defaults = _parse_operating_points(data.get("operating_points"), classes)
        return cls(
            name=str(data["name"]),
            version=str(data["version"]),
            classes=classes,
            preprocessing=preprocessing,
            input_name=str(geometry.get("name", "input")),
            probabilities_output=str(outputs.get("probabilities", "probabilities")),
            cam_output=outputs.get("class_activation_maps"),
            ood_output=outputs.get("ood_score"),
            ood_threshold=None if ood_threshold is None else float(ood_threshold),
            ood_levels=levels,
            quality_limits=limits,
            uncertainty_threshold=uncertainty,
            operating_points=points,
            default_sensitivity=defaults,
            raw=dict(data),
        )

    def to_json(self) -> str:
        return json.dumps(self.raw, indent=2, sort_keys=True, ensure_ascii=False)


def _parse_operating_points(
    table: Mapping[str, Any] | None, classes: tuple[ClassInfo, ...]
) -> tuple[dict[str, tuple[OperatingPoint, ...]], dict[str, float]]:
    """Parse ``{"default_sensitivity": {cls: s}, "classes": {cls: [point, ...]}}``."""
    if not table:
        return {}, {}
    by_name = {c.name: c for c in classes}
    points: dict[str, tuple[OperatingPoint, ...]] = {}
    for class_name, rows in dict(table.get("classes", {})).items():
        if class_name not in by_name:
            raise CardError(f"operating point for unknown class {class_name!r}")
        if not by_name[class_name].flagged:
            # alerts_for only looks at flagged classes: such a table would be shown but never used.
            raise CardError(
                f"operating points for {class_name!r}, which the card does not flag as malignant "
                "or pre-malignant"
            )
        if not rows:
            raise CardError(f"operating point table for {class_name} is empty")
        parsed = []
        for row in rows:
            threshold = float(row["threshold"])
            target = float(row["target_sensitivity"])
            if not 0.0 <= threshold <= 1.0:
                raise CardError(
                    f"operating point threshold {threshold} for {class_name} is outside 0-1"
                )
            if not 0.0 < target <= 1.0:
                raise CardError(f"target sensitivity {target} for {class_name} is outside 0-1")
            validation = dict(row.get("validation", {}))
            for key in ("sensitivity", "specificity"):
                value = validation.get(key)
                if value is None or not 0.0 <= float(value) <= 1.0:
                    raise CardError(
                        f"operating point {target:g} for {class_name} has no valid "
                        f"validation {key}"
                    )
            parsed.append(
                OperatingPoint(
                    class_name=class_name,
                    target_sensitivity=target,
                    threshold=threshold,
                    validation=validation,
                    test=dict(row.get("test", {})),
                    per_source=dict(row.get("per_source", {})),
                )
            )
        parsed.sort(key=lambda p: p.target_sensitivity)
        for lower, higher in zip(parsed, parsed[1:]):
            if abs(higher.target_sensitivity - lower.target_sensitivity) < 1e-9:
                raise CardError(
                    f"operating points for {class_name}: target sensitivity "
                    f"{lower.target_sensitivity:g} is listed twice"
                )
            if higher.threshold > lower.threshold + 1e-12:
                raise CardError(
                    f"operating points for {class_name}: threshold rises from {lower.threshold:g} "
                    f"to {higher.threshold:g} as target sensitivity rises from "
                    f"{lower.target_sensitivity:g} to {higher.target_sensitivity:g}"
                )
            if higher.validated_sensitivity + 1e-12 < lower.validated_sensitivity:
                raise CardError(
                    f"operating points for {class_name}: validated sensitivity falls from "
                    f"{lower.validated_sensitivity:g} to {higher.validated_sensitivity:g} as the "
                    "threshold falls"
                )
        points[class_name] = tuple(parsed)
    defaults = {str(k): float(v) for k, v in dict(table.get("default_sensitivity", {})).items()}
    for class_name, target in defaults.items():
        if class_name not in points:
            raise CardError(f"default sensitivity for {class_name!r}, which has no operating points")
        if not any(abs(p.target_sensitivity - target) < 1e-9 for p in points[class_name]):
            raise CardError(f"default sensitivity {target:g} for {class_name} is not in its table")
    return points, defaults


# -- ONNX storage ---------------------------------------------------------------------
def model_digest(model: Any) -> str:
    """sha256 of an ``onnx.ModelProto`` with the digest entry left out."""
    import onnx

    # A round trip through bytes gives the canonical form that a file read back will have.
    copy = onnx.ModelProto.FromString(model.SerializeToString())
    kept = [p for p in copy.metadata_props if p.key != DIGEST_KEY]
    del copy.metadata_props[:]
    copy.metadata_props.extend(kept)
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


def embed_card(model: Any, card: Mapping[str, Any]) -> Any:
    """Validate ``card``, write it and the model's digest into ``model``'s metadata (in place)."""
    ModelCard.from_dict(card)
    return store_card_text(model, json.dumps(card, sort_keys=True, ensure_ascii=False))


def store_card_text(model: Any, card_text: str) -> Any:
    """Write ``card_text`` as the card, unvalidated, and re-seal the digest (in place).

    ``embed_card`` is the way to write a card; this lower step exists so tests can store a
    malformed card with a correct digest, as a careless exporter would.
    """
    props = {p.key: p.value for p in model.metadata_props}
    props[CARD_KEY] = card_text
    props.pop(DIGEST_KEY, None)
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    digest = model_digest(model)
    entry = model.metadata_props.add()
    entry.key, entry.value = DIGEST_KEY, digest
    return model


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_model(path: str | Path) -> tuple[ModelCard, bytes, str]:
    """Load, verify and parse a SkinDesk ONNX model.

    Returns:
        (card, model bytes for onnxruntime, recorded sha256 digest).

    Raises:
        ModelError: missing, unreadable, not ONNX, no card, digest mismatch, malformed card, or
            inputs/outputs that do not match the card.
    """
    import onnx
    from google.protobuf.message import DecodeError

    path = Path(path)
    if path.is_dir():
        raise ModelError(path, "is a folder, not an .onnx model file")
    if not path.is_file():
        raise ModelError(path, "file not found")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelError(path, f"cannot be read ({error.strerror})") from error
    if not data:
        raise ModelError(path, "empty file (0 bytes)")
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError, TypeError) as error:
        raise ModelError(path, f"not a valid ONNX file (truncated or damaged): {error}") from error
    props = {p.key: p.value for p in model.metadata_props}
    if CARD_KEY not in props:
        raise ModelError(path, "has no SkinDesk model card in its metadata")
    recorded = props.get(DIGEST_KEY)
    if not recorded:
        raise ModelError(path, "has no recorded sha256; it cannot be verified")
    actual = model_digest(model)
    if actual != recorded:
        raise ModelError(
            path,
            f"integrity check failed: content sha256 {actual[:12]}… does not match the recorded "
            f"{recorded[:12]}… (file damaged or modified)",
        )
    try:
        card = ModelCard.from_dict(json.loads(props[CARD_KEY]))
    except json.JSONDecodeError as error:
        raise ModelError(path, f"model card is not valid JSON: {error}") from error
    except CardError as error:
        raise ModelError(path, str(error)) from error
    _check_signature(path, model, card)
    return card, data, recorded


def _check_signature(path: Path, model: Any, card: ModelCard) -> None:
    inputs = {i.name: i for i in model.graph.input}
    initializers = {i.name for i in model.graph.initializer}
    real_inputs = [name for name in inputs if name not in initializers]
    if card.input_name not in inputs:
        raise ModelError(path, f"has no input named {card.input_name!r} (it has {real_inputs})")
    dims = [
        d.dim_value if d.HasField("dim_value") else None
        for d in inputs[card.input_name].type.tensor_type.shape.dim
    ]
    expected = [card.preprocessing.height, card.preprocessing.width, 3]
    if len(dims) != 4 or [d for d in dims[1:]] != expected:
        raise ModelError(
            path, f"input shape {dims} does not match the card's (batch, {expected[0]}, "
            f"{expected[1]}, 3)"
        )
    outputs = {o.name: o for o in model.graph.output}
    wanted = [card.probabilities_output, card.cam_output, card.ood_output]
    for name in [w for w in wanted if w]:
        if name not in outputs:
            raise ModelError(path, f"has no output named {name!r} (it has {sorted(outputs)})")
    prob_dims = outputs[card.probabilities_output].type.tensor_type.shape.dim
    if len(prob_dims) != 2 or (
        prob_dims[1].HasField("dim_value") and prob_dims[1].dim_value != len(card.classes)
    ):
        shape = [d.dim_value if d.HasField("dim_value") else "?" for d in prob_dims]
        raise ModelError(
            path, f"probabilities output has shape {shape}; the card lists {len(card.classes)} classes"
        )
