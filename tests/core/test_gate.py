"""Knowing when not to answer: the gate and the quality checks through the real classifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from skindesk.core import testmodels
from skindesk.core.classifier import Classifier
from skindesk.core.imaging import load_image
from skindesk.core.modelcard import CardError, ModelCard
from skindesk.core.prediction import NOT_DERMOSCOPY

DATA = Path(__file__).parents[1] / "data"
REAL = sorted((DATA / "dermoscopy").glob("*.jpg"))
MELANOMA_ALERT = [0.02, 0.02, 0.02, 0.6, 0.3, 0.01, 0.01, 0.01, 0.01]  # melanoma 60 %: alert


def _card(levels: dict[str, float] | None = None, quality: bool = True) -> dict:
    card = testmodels.test_card()
    card["ood"] = {"threshold": 0.0, **({"levels": levels} if levels else {})}
    if quality:
        card["quality"] = json.loads((DATA / "pool_quality_limits.json").read_text())
    return card


def test_a_gated_image_is_not_assessed_and_raises_no_alert(fixed_probabilities_model) -> None:
    path = fixed_probabilities_model(MELANOMA_ALERT, _card(), out_of_distribution=True)
    prediction = Classifier(path, provider="cpu").predict_file(REAL[0])
    assert not prediction.assessed and prediction.status == "not assessed"
    assert prediction.alerts == () and not prediction.review_advised
    assert [a.class_name for a in prediction.withheld_alerts] == ["melanoma"]  # shown on request
    assert prediction.not_assessed_reason == NOT_DERMOSCOPY
    assert "No alert is raised" in prediction.summary()


def test_real_dermoscopy_is_assessed_and_alerts_as_before(fixed_probabilities_model) -> None:
    path = fixed_probabilities_model(MELANOMA_ALERT, _card())
    classifier = Classifier(path, provider="cpu")
    for file in REAL:
        prediction = classifier.predict_file(file)
        assert prediction.assessed, (file.name, prediction.quality)
        assert prediction.status == "review advised"
        assert [a.class_name for a in prediction.alerts] == ["melanoma"]


def test_a_dark_photo_gets_its_reason_through_file_and_batch_paths(fixed_probabilities_model,
                                                                    tmp_path: Path) -> None:
    from skindesk.core.batch import classify_files, find_images

    dark = ImageEnhance.Brightness(Image.open(REAL[2]).convert("RGB").resize((800, 600))).enhance(0.15)
    (tmp_path / "photos").mkdir()
    dark.save(tmp_path / "photos" / "dark.jpg", quality=92)
    path = fixed_probabilities_model(MELANOMA_ALERT, _card())
    classifier = Classifier(path, provider="cpu")
    single = classifier.predict_file(tmp_path / "photos" / "dark.jpg")
    assert [q.code for q in single.quality] == ["too_dark"]
    assert single.not_assessed_reason == "The image is too dark to assess" and not single.alerts
    rows = list(classify_files(classifier, find_images([tmp_path / "photos"]).items, batch_size=2,
                               workers=1))
    assert len(rows) == 1 and not rows[0].error and not rows[0].alerts


def test_too_small_judges_the_file_not_the_draft_decode(fixed_probabilities_model, tmp_path: Path) -> None:
    """JPEG draft decoding shrinks big files; the size check must see the file's own size."""
    big = Image.open(REAL[0]).convert("RGB").resize((3200, 2400), Image.Resampling.BICUBIC)
    big.save(tmp_path / "big.jpg", quality=90)
    classifier = Classifier(fixed_probabilities_model(MELANOMA_ALERT, _card()), provider="cpu")
    image = load_image(tmp_path / "big.jpg", draft_size=classifier.draft_size)
    assert image.size[0] < 3200 and image.info["original_size"] == (3200, 2400)
    assert classifier.prepare(image)[1] == ()
    small = Image.open(REAL[0]).convert("RGB").resize((48, 36))
    assert [q.code for q in classifier.prepare(small)[1]][:1] == ["too_small"]


def test_prepare_gives_the_same_tensor_as_preprocess(fixed_probabilities_model) -> None:
    classifier = Classifier(fixed_probabilities_model(MELANOMA_ALERT, _card()), provider="cpu")
    for file in REAL:
        image = load_image(file)
        large = image.resize((image.width * 5, image.height * 5), Image.Resampling.BICUBIC)
        for candidate in (image, large):
            tensor, _ = classifier.prepare(candidate)
            np.testing.assert_array_equal(tensor, classifier.preprocess(candidate))


def test_gate_strictness_uses_the_cards_validated_levels(fixed_probabilities_model) -> None:
    # The fixed model's gate score is -5 for in-distribution images: 'strict' at -6 flags it.
    levels = {"lenient": 1.0, "standard": 0.0, "strict": -6.0}
    path = fixed_probabilities_model(MELANOMA_ALERT, _card(levels))
    classifier = Classifier(path, provider="cpu")
    assert classifier.predict_file(REAL[0]).assessed
    classifier.set_gate_strictness("strict")
    assert classifier.gate_threshold == -6.0 and not classifier.predict_file(REAL[0]).assessed
    lanes = Classifier(path, provider="cpu", threads=2, gate_strictness="strict").for_parallel_batches(2)
    assert lanes.gate_strictness == "strict"
    with pytest.raises(ValueError, match="not validated for this model"):
        classifier.set_gate_strictness("paranoid")


def test_a_card_without_quality_limits_checks_nothing_and_bad_limits_are_refused(
        fixed_probabilities_model) -> None:
    path = fixed_probabilities_model(MELANOMA_ALERT, _card(quality=False))
    dark = ImageEnhance.Brightness(load_image(REAL[0])).enhance(0.1)
    assert Classifier(path, provider="cpu").predict_image(dark).quality == ()
    broken = _card()
    broken["quality"] = {"min_side": 10}
    with pytest.raises(CardError, match="quality limits"):
        ModelCard.from_dict(broken)
