"""The seed paper's CNN, trained exactly as the paper did, to reproduce (and audit) its table.

Model: 128x128x3 input, Conv2D 32/64/128 (3x3, ReLU, valid) each followed by MaxPool 2, Flatten,
Dense 128 ReLU, Dropout 0.5, Dense softmax (3,305,801 parameters for nine classes). Adam (learning
rate 1e-3), sparse categorical cross-entropy, 25 epochs, batch 32, inputs rescaled by 1/255 through
skindesk's shared ``preprocess`` (no canonical rescaling, as the paper fed images straight in).
Augmentation reproduces the paper's ``ImageDataGenerator(rotation_range=20, width_shift_range=0.2,
height_shift_range=0.2, shear_range=0.2, zoom_range=0.2, horizontal_flip=True)`` with the same
composed affine transform (nearest fill, bilinear sampling), done by one TensorFlow projective
transform per batch outside the model, so the exported graph holds no random ops. Note that
``ImageDataGenerator`` reads ``shear_range`` in degrees: the paper's shear is ±0.2°, and so is ours.
Each image is decoded once and cached as a float32 array file; every epoch is checkpointed and
``--resume`` continues after the last finished one.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import time
from argparse import Namespace
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from skindesk.core.classes import class_entries
from skindesk.core.imaging import load_image
from skindesk.core.preprocess import Preprocessing, preprocess

from .data import Record, load_dataset
from .progress import Progress, format_seconds
from .splits import grouped_split, load_split, save_split

__all__ = [
    "INPUT_SIZE",
    "PREPROCESSING",
    "PAPER_AUGMENTATION",
    "PAPER_ACCURACY",
    "build_seed_model",
    "affine_transforms",
    "augment_batch",
    "load_arrays",
    "make_split",
    "train_seed",
    "seed_card",
    "train",
]

INPUT_SIZE = 128
PREPROCESSING = Preprocessing(height=INPUT_SIZE, width=INPUT_SIZE, value_range=(0.0, 1.0), canonical_area=None)
PAPER_AUGMENTATION = {"rotation_degrees": 20.0, "width_shift": 0.2, "height_shift": 0.2,
                      "shear_degrees": 0.2, "zoom": 0.2, "horizontal_flip": True}
PAPER_ACCURACY = {"train": 0.4896, "validation": 0.5134, "test": 0.4735}
PAPER_EPOCHS = 25
PAPER_BATCH = 32
PAPER_LEARNING_RATE = 1e-3


def _keras():  # noqa: ANN202 - TensorFlow is imported only when a model is needed
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


def build_seed_model(num_classes: int = 9):  # noqa: ANN201 - keras.Model
    """The paper's network as a functional Keras model (tf2onnx needs functional models)."""
    keras = _keras()
    layers = keras.layers
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="input")
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(128, 3, activation="relu", name="conv3")(x)
    x = layers.MaxPooling2D(2, name="pool3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="seed_cnn")


# -- augmentation ----------------------------------------------------------------------------
def affine_transforms(n: int, height: int, width: int, rng: np.random.Generator,
                      params: dict[str, Any] | None = None) -> np.ndarray:
    """``n`` random transforms as ImageDataGenerator draws them, in TF projective form (n, 8).

    The (row, col) matrix is rotation @ shift @ shear @ zoom about the image centre, mapping an
    output pixel to the input position sampled, exactly as ``apply_affine_transform`` builds it.
    """
    p = PAPER_AUGMENTATION if params is None else params
    theta = np.deg2rad(rng.uniform(-p["rotation_degrees"], p["rotation_degrees"], n))
    tx = rng.uniform(-p["height_shift"], p["height_shift"], n) * height
    ty = rng.uniform(-p["width_shift"], p["width_shift"], n) * width
    shear = np.deg2rad(rng.uniform(-p["shear_degrees"], p["shear_degrees"], n))
    zx = rng.uniform(1 - p["zoom"], 1 + p["zoom"], n)
    zy = rng.uniform(1 - p["zoom"], 1 + p["zoom"], n)
    out = np.zeros((n, 8), dtype=np.float32)
    ox, oy = height / 2 - 0.5, width / 2 - 0.5
    offset = np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1]], dtype=np.float64)
    reset = np.array([[1, 0, -ox], [0, 1, -oy], [0, 0, 1]], dtype=np.float64)
    for i in range(n):
        c, s = np.cos(theta[i]), np.sin(theta[i])
        rotation = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        shift = np.array([[1, 0, tx[i]], [0, 1, ty[i]], [0, 0, 1]])
        shearing = np.array([[1, -np.sin(shear[i]), 0], [0, np.cos(shear[i]), 0], [0, 0, 1]])
        zoom = np.array([[zx[i], 0, 0], [0, zy[i], 0], [0, 0, 1]])
        m = offset @ rotation @ shift @ shearing @ zoom @ reset
        # TF maps output (x=col, y=row) to input (a0 x + a1 y + a2, b0 x + b1 y + b2).
        out[i] = [m[1, 1], m[1, 0], m[1, 2], m[0, 1], m[0, 0], m[0, 2], 0.0, 0.0]
    return out


def augment_batch(images: np.ndarray, rng: np.random.Generator,
                  params: dict[str, Any] | None = None) -> np.ndarray:
    """The paper's augmentation on a float batch (n, h, w, 3): one affine warp, then a 50% h-flip."""
    import tensorflow as tf

    p = PAPER_AUGMENTATION if params is None else params
    n, height, width = images.shape[:3]
    transforms = affine_transforms(n, height, width, rng, p)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.convert_to_tensor(images, tf.float32), transforms=tf.constant(transforms),
        output_shape=tf.constant([height, width], tf.int32), fill_value=tf.constant(0.0),
        interpolation="BILINEAR", fill_mode="NEAREST",
    ).numpy()
    if p.get("horizontal_flip"):
        flip = rng.random(n) < 0.5
        warped[flip] = warped[flip][:, :, ::-1]
    return warped


def _batches_class():  # noqa: ANN202 - defined lazily so importing this module needs no Keras
    keras = _keras()

    class AugmentedBatches(keras.utils.PyDataset):
        """Shuffled, augmented batches; the order and the transforms depend on (seed, epoch) only."""

        def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, augment: bool = True):
            super().__init__(workers=1, use_multiprocessing=False)
            self.x, self.y, self.batch_size, self.seed, self.augment = x, y, batch_size, seed, augment
            self.set_epoch(0)

        def set_epoch(self, epoch: int) -> None:
            self.epoch = epoch
            self.order = np.random.default_rng([self.seed, epoch]).permutation(len(self.x))

        def __len__(self) -> int:
            return max(1, -(-len(self.x) // self.batch_size))

        def __getitem__(self, index: int):  # noqa: ANN204
            idx = np.sort(self.order[index * self.batch_size:(index + 1) * self.batch_size])
            batch = np.asarray(self.x[idx], dtype=np.float32)
            if self.augment:
                batch = augment_batch(batch, np.random.default_rng([self.seed, self.epoch, index]))
            return batch, self.y[idx]

    return AugmentedBatches


# -- data ------------------------------------------------------------------------------------
def default_array_cache() -> Path:
    from .audit import default_cache_path

    return default_cache_path().parent / "arrays"


def load_arrays(records: Sequence[Record], cache_dir: str | Path | None = None,
                spec: Preprocessing = PREPROCESSING, workers: int = 2,
                log: Callable[[str], None] = print) -> np.ndarray:
    """Every record through ``load_image`` + the shared ``preprocess``, once; cached as .npy.

    The cache file is keyed by the preprocessing and each file's path, size and mtime, so a
    changed image or setting makes a new one. Returns a read-only memory-mapped array.
    """
    cache = Path(cache_dir) if cache_dir else default_array_cache()
    entries = []
    for r in records:
        stat = r.path.stat()
        entries.append((str(r.path.resolve()), stat.st_size, stat.st_mtime_ns))
    key = hashlib.sha256(json.dumps([spec.to_dict(), entries]).encode()).hexdigest()[:20]
    path = cache / f"images-{spec.height}x{spec.width}-{key}.npy"
    if path.is_file():
        log(f"using cached arrays {path}")
        return np.load(path, mmap_mode="r")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32,
                                    shape=(len(records), spec.height, spec.width, 3))
    bar = Progress(len(records), f"decoding {len(records)} images")

    def work(i: int) -> None:
        out[i] = preprocess(load_image(records[i].path), spec)
        bar.update()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(work, range(len(records))))
    bar.close()
    out.flush()
    del out
    os.replace(tmp, path)
    return np.load(path, mmap_mode="r")


def make_split(records: list[Record], seed: int) -> dict[str, list[Record]]:
    """Published test split kept when the data has one (Train/Test folders), else 70/15/15.

    Train and validation (and test, when not published) are stratified and grouped by lesion.
    """
    published = [r for r in records if r.split == "test"]
    if published:
        rest = [r for r in records if r.split != "test"]
        split = grouped_split(rest, (0.85, 0.15, 0.0), seed=seed)
        split["test"] = sorted(published, key=lambda r: r.name)
        return split
    return grouped_split(records, (0.7, 0.15, 0.15), seed=seed)


# -- training --------------------------------------------------------------------------------
def train_seed(
    x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray | None, y_val: np.ndarray | None,
    num_classes: int, out_dir: str | Path, *, epochs: int = PAPER_EPOCHS, batch_size: int = PAPER_BATCH,
    seed: int = 42, learning_rate: float = PAPER_LEARNING_RATE, resume: bool = False,
    strategy: str = "default", log: Callable[[str], None] = print,
) -> tuple[Any, dict[str, list[float]]]:
    """Train the paper's model; checkpoint, history and per-epoch timings land in ``out_dir``.

    Returns the trained model and the history (``accuracy``, ``loss``, ``val_accuracy``,
    ``val_loss``, ``seconds`` per epoch; written to ``history.json`` after every epoch).
    """
    keras = _keras()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint, state_path, history_path = out / "checkpoint.keras", out / "state.json", out / "history.json"
    keras.utils.set_random_seed(seed)
    history: dict[str, list[float]] = {}
    start_epoch = 0
    if resume and checkpoint.is_file() and state_path.is_file():
        state = json.loads(state_path.read_text(encoding="utf-8"))
        start_epoch, history = int(state["epoch"]), state["history"]
        model = keras.models.load_model(checkpoint)
        log(f"resuming after epoch {start_epoch} from {checkpoint}")
    else:
        if resume:
            log(f"nothing to resume in {out}; starting from epoch 1")
        scope = _strategy_scope(strategy)
        with scope:
            model = build_seed_model(num_classes)
            model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if start_epoch >= epochs:
        log(f"all {epochs} epochs already done")
        return model, history
    batches = _batches_class()(x_train, y_train, batch_size, seed)
    validation = None
    if x_val is not None and len(x_val):
        validation = (np.asarray(x_val, dtype=np.float32), y_val)

    class EpochLog(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            batches.set_epoch(epoch)
            self.started = time.monotonic()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            seconds = time.monotonic() - self.started
            for name, value in (logs or {}).items():
                history.setdefault(name, []).append(float(value))
            history.setdefault("seconds", []).append(round(seconds, 2))
            model.save(checkpoint)
            state_path.write_text(json.dumps({"epoch": epoch + 1, "history": history}), encoding="utf-8")
            history_path.write_text(json.dumps(history, indent=1), encoding="utf-8")
            left = (epochs - epoch - 1) * float(np.mean(history["seconds"]))
            metrics = ", ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items())
            log(f"epoch {epoch + 1}/{epochs}: {seconds:.1f} s; {metrics}; run ETA {format_seconds(left)}")

    model.fit(batches, validation_data=validation, epochs=epochs, initial_epoch=start_epoch,
              callbacks=[EpochLog()], verbose=1 if sys.stdout.isatty() else 2)
    return model, history


def _strategy_scope(name: str):  # noqa: ANN202
    import contextlib

    if name == "default":
        return contextlib.nullcontext()
    if name == "mirrored":
        import tensorflow as tf

        return tf.distribute.MirroredStrategy().scope()
    raise ValueError(f"unknown strategy {name!r}; use 'default' or 'mirrored'")


def accuracy(model: Any, x: np.ndarray, y: np.ndarray, batch_size: int = 64) -> float:
    """Top-1 accuracy of ``model`` on un-augmented arrays."""
    if len(x) == 0:
        return float("nan")
    probabilities = model.predict(np.asarray(x, dtype=np.float32), batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=1) == y))


def seed_card(class_names: list[str], *, metrics: dict[str, Any], config: dict[str, Any],
              fingerprint: str, description: str) -> dict[str, Any]:
    """Model card for an exported seed model (uncalibrated, no OOD score: a research baseline)."""
    from datetime import date

    from skindesk.core.modelcard import DEFAULT_DISCLAIMER, FORMAT_VERSION

    return {
        "format_version": FORMAT_VERSION,
        "name": "Seed paper CNN (reproduction)",
        "version": f"seed-{date.today().isoformat()}",
        "architecture": "seed-cnn-128",
        "classes": class_entries(class_names),
        "input": {"name": "input", "layout": "NHWC", "height": INPUT_SIZE, "width": INPUT_SIZE, "channels": 3},
        "outputs": {"probabilities": "probabilities"},
        "preprocessing": PREPROCESSING.to_dict(),
        "training_data": {"description": description, "fingerprint": fingerprint},
        "metrics": metrics,
        "calibration": {"method": "none", "temperature": 1.0},
        "uncertainty": {"top_probability_threshold": 0.5},
        "training": config,
        "intended_use": "Research baseline reproducing a published model. Not for clinical use.",
        "disclaimer": DEFAULT_DISCLAIMER,
        "licence": "CC BY-NC 4.0 (inherited from the training images)",
        "created": date.today().isoformat(),
    }


def _fingerprint(records: Sequence[Record]) -> str:
    lines = sorted(f"{hashlib.sha256(r.path.read_bytes()).hexdigest()} {r.label}" for r in records)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def train(args: Namespace) -> int:
    """``skindesk-train train --arch seed``: split, exclude flagged, train, evaluate, export."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log_file = open(out / "train.log", "a", encoding="utf-8")  # noqa: SIM115 - closed below

    def log(message: str) -> None:
        print(message, flush=True)
        log_file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")
        log_file.flush()

    try:
        return _train(args, out, log)
    finally:
        log_file.close()


def _train(args: Namespace, out: Path, log: Callable[[str], None]) -> int:
    if getattr(args, "image_size", None) not in (None, INPUT_SIZE):
        raise ValueError(f"--arch seed is the paper's {INPUT_SIZE}x{INPUT_SIZE} model; --image-size does not apply")
    seed = int(getattr(args, "seed", 42))
    records = load_dataset(args.data)
    log(f"{args.data}: {len(records)} images")
    class_names = sorted({r.label for r in records})  # before exclusion: the dataset's classes
    excluded: dict[str, str] = {}
    if not getattr(args, "no_exclude_flagged", False):
        from .audit import flagged_images

        excluded = flagged_images(records)
        records = [r for r in records if r.name not in excluded]
        (out / "excluded.json").write_text(json.dumps(excluded, indent=1, sort_keys=True), encoding="utf-8")
        log(f"excluded {len(excluded)} images flagged by the audit (listed in {out / 'excluded.json'})")
        for name, reason in sorted(excluded.items()):
            log(f"  excluded {name}: {reason}")
    if getattr(args, "limit", None):
        rng = random.Random(seed)
        records = sorted(records, key=lambda r: r.name)
        rng.shuffle(records)
        records = records[: args.limit]
        log(f"--limit: using {len(records)} images")
    split_path = out / "split.json"
    if getattr(args, "resume", False) and split_path.is_file():
        split = load_split(records, split_path)
        log(f"split loaded from {split_path}")
    else:
        split = make_split(records, seed)
        save_split(split, split_path)
    index = {name: i for i, name in enumerate(class_names)}
    log("split: " + ", ".join(f"{k} {len(v)}" for k, v in split.items()) + f"; classes {class_names}")
    used = [r for part in split.values() for r in part]
    arrays = load_arrays(used, getattr(args, "cache_dir", None), log=log)
    position = {r.name: i for i, r in enumerate(used)}

    def xy(part: str) -> tuple[np.ndarray, np.ndarray]:
        idx = np.array([position[r.name] for r in split.get(part, [])], dtype=np.int64)
        x = arrays[idx] if len(idx) else np.zeros((0, INPUT_SIZE, INPUT_SIZE, 3), np.float32)
        return x, np.array([index[r.label] for r in split.get(part, [])], dtype=np.int64)

    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = xy("train"), xy("validation"), xy("test")
    if len(x_tr) == 0:
        raise ValueError("no training images left after the split")
    epochs = args.epochs if getattr(args, "epochs", None) else PAPER_EPOCHS
    batch = args.batch_size if getattr(args, "batch_size", None) else PAPER_BATCH
    rate = args.learning_rate if getattr(args, "learning_rate", None) else PAPER_LEARNING_RATE
    model, history = train_seed(x_tr, y_tr, x_va, y_va, len(class_names), out, epochs=epochs,
                                batch_size=batch, seed=seed, learning_rate=rate,
                                resume=getattr(args, "resume", False),
                                strategy=getattr(args, "strategy", "default") or "default", log=log)
    model.save(out / "model.keras")
    metrics = {"accuracy_train": accuracy(model, x_tr, y_tr),
               "accuracy_validation": accuracy(model, x_va, y_va),
               "accuracy_test": accuracy(model, x_te, y_te)}
    if history.get("seconds"):
        metrics["seconds_per_epoch"] = float(np.mean(history["seconds"]))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
    log("accuracy: " + ", ".join(f"{k[9:]} {v:.4f}" for k, v in metrics.items() if k.startswith("accuracy")))
    try:
        from .export import export_onnx
    except ImportError:
        log(f"training.export is not available yet: saved {out / 'model.keras'}; export it later")
        return 0
    config = {"arch": "seed", "epochs": epochs, "batch_size": batch, "learning_rate": rate, "seed": seed,
              "optimizer": "adam", "loss": "sparse_categorical_crossentropy",
              "augmentation": PAPER_AUGMENTATION, "excluded_images": len(excluded)}
    card = seed_card(class_names, metrics=metrics, config=config, fingerprint=_fingerprint(split["train"]),
                     description=f"{args.data}: {len(split['train'])} training images")
    parity = np.asarray((x_te if len(x_te) else x_tr)[:16], dtype=np.float32)
    path = export_onnx(model, card, out / "model.onnx", parity)
    log(f"exported {path}")
    return 0
