"""The onnxruntime classifier on real tiny models: outputs, providers, batching, refusals."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from PIL import Image

from skindesk.core import classifier as classifier_module
from skindesk.core.classifier import Classifier, default_threads
from skindesk.core.errors import ImageLoadError, ModelError
from skindesk.core.modelcard import embed_card
from skindesk.core.preprocess import preprocess
from skindesk.core.testmodels import build_test_model
from skindesk.core.testmodels import test_card as make_card

NAMES = [c["name"] for c in make_card()["classes"]]


def reference_probabilities(model_path, image: Image.Image, card) -> np.ndarray:
    """The test model's formula in NumPy: softmax(mean(x @ W) + b)."""
    model = onnx.load(str(model_path))
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    x = preprocess(image, card.preprocessing).astype(np.float64)
    logits = (x @ weights["W"]).mean(axis=(0, 1)) + weights["b"]
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


def random_image(seed: int, size=(120, 90)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def test_outputs_match_the_models_formula(test_model_path):
    clf = Classifier(test_model_path, provider="cpu")
    for seed in range(3):
        image = random_image(seed)
        prediction = clf.predict_image(image)
        expected = reference_probabilities(test_model_path, image, clf.card)
        assert np.allclose(prediction.probabilities, expected, atol=1e-5)
        assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
        assert prediction.top_index == int(np.argmax(expected))
        assert prediction.cam is not None and prediction.cam.shape == (32, 32, 9)
        assert prediction.ood_score is not None


def test_different_images_give_different_probabilities(test_model_path):
    clf = Classifier(test_model_path, provider="cpu")
    red = clf.predict_image(Image.new("RGB", (50, 50), (255, 0, 0)))
    blue = clf.predict_image(Image.new("RGB", (50, 50), (0, 0, 255)))
    assert not np.allclose(red.probabilities, blue.probabilities, atol=1e-3)


def test_batch_equals_one_at_a_time(test_model_path):
    clf = Classifier(test_model_path, provider="cpu")
    images = [random_image(seed) for seed in range(5)]
    batch = clf.predict_images(images, [f"img{i}" for i in range(5)])
    single = [clf.predict_image(image) for image in images]
    assert [p.path for p in batch] == [f"img{i}" for i in range(5)]
    for a, b in zip(batch, single):
        assert np.allclose(a.probabilities, b.probabilities, atol=1e-6)
    assert clf.predict_images([]) == []
    assert clf.predict_arrays(np.zeros((0, 32, 32, 3), np.float32)) == []


def test_predict_file_and_bad_file(test_model_path, tmp_path):
    clf = Classifier(test_model_path, provider="cpu")
    path = tmp_path / "lesion.jpg"
    random_image(1, (1600, 1200)).save(path, quality=95)
    prediction = clf.predict_file(path)
    assert prediction.path == str(path)
    full = clf.predict_image(Image.open(path).convert("RGB"))
    assert np.allclose(prediction.probabilities, full.probabilities, atol=0.02)  # draft decode
    (tmp_path / "bad.jpg").write_text("not an image")
    with pytest.raises(ImageLoadError, match="bad.jpg"):
        clf.predict_file(tmp_path / "bad.jpg")
    side = max(clf.card.preprocessing.height, int((200 * 150) ** 0.5 * 4 / 3))
    assert min(clf.draft_size) >= 2 * side


def test_cpu_provider_is_what_the_session_uses(test_model_path):
    clf = Classifier(test_model_path, provider="cpu", threads=1)
    assert clf.provider == "CPU"
    assert clf.providers == clf.session.get_providers() == ["CPUExecutionProvider"]
    assert clf.provider_note == ""
    assert clf.session.get_session_options().intra_op_num_threads == 1
    assert clf.requested_provider == "cpu"


@pytest.mark.parametrize("provider", ["auto", "cuda"])
def test_cuda_request_reports_the_truth_and_keeps_stderr_clean(test_model_path, provider, capfd):
    clf = Classifier(test_model_path, provider=provider)
    err = capfd.readouterr().err
    assert clf.provider == ("CUDA" if "CUDAExecutionProvider" in clf.providers else "CPU")
    if clf.provider == "CPU":
        assert clf.provider_note.endswith("running on CPU")
        assert "CUDA" in clf.provider_note or "GPU" in clf.provider_note
    else:  # pragma: no cover - only on a machine with a working GPU
        assert clf.provider_note == ""
    assert "onnxruntime" not in err.lower() and ".so" not in err


def test_cuda_failure_reasons_in_plain_words():
    reason = classifier_module._cuda_failure_reason
    assert "no CUDA support" in reason(["CPUExecutionProvider"], "")
    cuda = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    log = ("Failed to load library libonnxruntime_providers_cuda.so with error: "
           "libcublasLt.so.13: cannot open shared object file")
    assert reason(cuda, log).startswith("CUDA 13 runtime libraries not found (libcublasLt.so.13)")
    assert reason(cuda, "error: libcudnn.so.9: cannot open").startswith("cuDNN 9 libraries")
    assert "no usable NVIDIA GPU" in reason(cuda, "CUDA failure 100: no CUDA-capable device")
    assert "something odd" in reason(cuda, "first\nsomething odd")
    assert "no reason given" in reason(cuda, "")


def test_default_threads_is_positive():
    assert default_threads() >= 1


def test_unknown_provider():
    with pytest.raises(ValueError, match="unknown provider 'tpu'"):
        Classifier("whatever.onnx", provider="tpu")


def test_sensitivity_must_be_validated(test_model_path):
    clf = Classifier(test_model_path, provider="cpu", sensitivity=0.95)
    assert clf.sensitivity == 0.95
    with pytest.raises(ValueError, match=r"0.5 is not a validated operating point.*0.8, 0.85"):
        clf.set_sensitivity(0.5)
    clf.set_sensitivity(None)
    assert clf.sensitivity is None


def test_sensitivity_on_a_model_without_operating_points(make_test_model):
    path = make_test_model(make_card(operating_points=None))
    clf = Classifier(path, provider="cpu")
    with pytest.raises(ValueError, match="offered: none"):
        clf.set_sensitivity(0.9)


def test_tampered_model_is_refused_before_a_session_opens(test_model_path, tmp_path):
    data = bytearray(test_model_path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path = tmp_path / "tampered.onnx"
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError):
        Classifier(path)


def test_model_onnxruntime_rejects_is_a_model_error(tmp_path):
    path = build_test_model(tmp_path / "m.onnx", weights=np.zeros((4, 9), np.float32))
    with pytest.raises(ModelError, match="onnxruntime cannot run it"):
        Classifier(path, provider="cpu")


def test_class_count_hidden_behind_a_symbolic_dimension_is_caught_on_use(tmp_path):
    path = build_test_model(tmp_path / "m.onnx")
    model = onnx.load(str(path))
    model.graph.output[0].type.tensor_type.shape.dim[1].dim_param = "classes"
    embed_card(model, make_card(class_names=NAMES[:8]))
    onnx.save_model(model, str(path))
    clf = Classifier(path, provider="cpu")  # read_model cannot see the mismatch
    with pytest.raises(ModelError, match=r"shape \(1, 9\); expected \(1, 8\)"):
        clf.predict_image(random_image(0))


def test_fixed_model_gives_its_probabilities(fixed_probabilities_model):
    probabilities = np.array([0.02, 0.03, 0.01, 0.23, 0.61, 0.04, 0.03, 0.02, 0.01])
    clf = Classifier(fixed_probabilities_model(probabilities), provider="cpu")
    prediction = clf.predict_image(random_image(4))
    assert np.allclose(prediction.probabilities, probabilities, atol=1e-5)  # float32
    assert prediction.out_of_distribution is False


def test_uncertain_and_out_of_distribution_flags(fixed_probabilities_model):
    flat = np.full(9, 1 / 9)
    clf = Classifier(fixed_probabilities_model(flat, out_of_distribution=True), provider="cpu")
    prediction = clf.predict_image(random_image(0))
    assert prediction.uncertain and prediction.out_of_distribution
    assert prediction.ood_score == pytest.approx(5.0, abs=1e-4)
    assert not prediction.assessed and prediction.status == "not assessed"
    assert prediction.summary().startswith("Not assessed: This does not look like a dermoscopic")


def test_parallel_batches_get_single_threaded_sessions_with_the_same_answers(test_model_path):
    clf = Classifier(test_model_path, provider="cpu", threads=2, sensitivity=0.9)
    lanes = clf.for_parallel_batches(2)
    assert lanes is not clf
    assert lanes.threads == 1 and lanes.provider == "CPU" and lanes.sensitivity == 0.9
    batch = np.stack([clf.preprocess(random_image(seed)) for seed in range(4)])
    for a, b in zip(clf.predict_arrays(batch), lanes.predict_arrays(batch)):
        assert np.allclose(a.probabilities, b.probabilities, atol=1e-6)
        assert a.review_advised == b.review_advised
    assert clf.for_parallel_batches(1) is clf  # nothing to share
    assert Classifier(test_model_path, provider="cpu", threads=1).for_parallel_batches(2).threads == 1


def test_parallel_batches_keep_the_verified_session_when_the_file_changed(test_model_path, tmp_path):
    copy = tmp_path / "model.onnx"
    copy.write_bytes(test_model_path.read_bytes())
    clf = Classifier(copy, provider="cpu", threads=2)
    copy.write_bytes(b"damaged")
    assert clf.for_parallel_batches(2) is clf
    copy.unlink()
    assert clf.for_parallel_batches(2) is clf
