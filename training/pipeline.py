"""``TransferRun``: the resumable MobileNetV2 training pipeline behind ``skindesk-train train``.

Every step leaves its result in the run folder (split, cache, warm-up head, checkpoints, history,
calibration, model), so ``--resume`` continues an interrupted run at the first unfinished step.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from argparse import Namespace
from pathlib import Path
from dataclasses import replace
from typing import Any

import numpy as np

from skindesk.core.classes import NINE_CLASSES, class_entries

from .data import Record, load_dataset
from .features import cache_views, load_view, view_tensor
from .progress import Progress, format_seconds
from .splits import grouped_split, load_split, save_split
from .transfer import (CUT_LAYER, PREPROCESSING, _balanced_accuracy, _class_weights, _keras,
                       build_backbone, build_head, inference_model)

__all__ = ["TransferRun", "data_fingerprint"]

EVAL_VIEWS = ("clean", "rescaled")


def data_fingerprint(records: list[Record]) -> str:
    """sha256 over the sorted (image sha256, label) pairs of the data a model saw."""
    lines = sorted(f"{hashlib.sha256(r.path.read_bytes()).hexdigest()} {r.label}" for r in records)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


class TransferRun:
    def __init__(self, args: Namespace) -> None:
        self.args = args
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.cache = Path(getattr(args, "cache_dir", None) or self.out / "cache")
        self.seed = int(getattr(args, "seed", 42))
        self.views = int(getattr(args, "views", None) or 5)
        self.batch = int(getattr(args, "batch_size", None) or 64)
        self.head_epochs = int(getattr(args, "head_epochs", None) or 40)
        self.fine_epochs = int(getattr(args, "fine_tune_epochs", None) or getattr(args, "epochs", None) or 8)
        self.lr = float(getattr(args, "learning_rate", None) or 1e-4)
        self.weights = getattr(args, "weights", None)
        size = getattr(args, "image_size", None) or PREPROCESSING.height
        self.spec = replace(PREPROCESSING, height=size, width=size)
        self.strategy = getattr(args, "strategy", None) or "default"
        self.cut_layer = getattr(args, "cut_layer", None) or CUT_LAYER
        started = (self.out / "split.json").exists()
        if started and not getattr(args, "resume", False) and not getattr(args, "export_only", False):
            raise ValueError(f"{self.out} already holds a run; pass --resume to continue it, or "
                             "choose another --out")
        self.log_file = open(self.out / "train.log", "a", encoding="utf-8")  # noqa: SIM115

    def log(self, message: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {message}"
        print(line, flush=True)
        self.log_file.write(line + "\n")
        self.log_file.flush()

    # -- data ---------------------------------------------------------------------------
    def prepare_data(self) -> None:
        records = load_dataset(self.args.data)
        excluded: dict[str, str] = {}
        if not getattr(self.args, "no_exclude_flagged", False):
            excluded_file = self.out / "excluded.json"
            if excluded_file.exists():
                excluded = json.loads(excluded_file.read_text(encoding="utf-8"))
            else:
                from .audit import flagged_images

                excluded = flagged_images(records)
                excluded_file.write_text(json.dumps(excluded, indent=1), encoding="utf-8")
        records = [r for r in records if r.name not in excluded]
        self.excluded_count = len(excluded)
        self.excluded_names = list(excluded)
        self.log(f"{len(records)} images; {len(excluded)} excluded by the audit (see excluded.json)")
        limit = getattr(self.args, "limit", None)
        if limit:
            rng = random.Random(self.seed)
            records = sorted(rng.sample(records, min(limit, len(records))), key=lambda r: r.name)
        split_file = self.out / "split.json"
        if split_file.exists():
            self.split = load_split(records, split_file)
        else:
            self.split = grouped_split(records, seed=self.seed)
            save_split(self.split, split_file)
        known = [row[0] for row in NINE_CLASSES]
        labels = sorted({r.label for r in records})
        self.class_names = [c for c in known if c in labels] + [c for c in labels if c not in known]
        self.index = {name: i for i, name in enumerate(self.class_names)}
        self.records = records
        for name, part in self.split.items():
            self.log(f"split {name}: {len(part)} images, "
                     f"{len({r.group for r in part})} lesions")

    def labels(self, part: str) -> np.ndarray:
        return np.array([self.index[r.label] for r in self.split[part]], dtype=np.int64)

    def sources(self, part: str) -> list[str]:
        return [r.source or "unknown" for r in self.split[part]]

    # -- model --------------------------------------------------------------------------
    def build(self) -> None:
        keras = _keras()
        keras.utils.set_random_seed(self.seed)
        if self.strategy == "mirrored":
            import tensorflow as tf

            with tf.distribute.MirroredStrategy().scope():
                self._build(keras)
        else:
            self._build(keras)

    def _build(self, keras: Any) -> None:
        self.base = build_backbone(self.spec.height, self.weights)
        cut = self.base.get_layer(self.cut_layer).output
        self.lower = keras.Model(self.base.input, cut, name="lower")
        self.upper = keras.Model(cut, self.base.output, name="upper")
        self.head = build_head(len(self.class_names))
        inp = keras.Input(cut.shape[1:], name="cached_features")
        pooled = keras.layers.GlobalAveragePooling2D()(self.upper(inp))
        pooled = keras.layers.Dropout(0.3)(pooled)
        self.trainer = keras.Model(inp, self.head(pooled), name="trainer")
        pooled_in = keras.Input((self.base.output.shape[-1],), name="pooled")
        self.head_trainer = keras.Model(pooled_in, self.head(keras.layers.Dropout(0.3)(pooled_in)))

    def encode(self, batch: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(self.lower.predict_on_batch(batch[i : i + 64]))
                               for i in range(0, len(batch), 64)])

    def cache_all(self) -> None:
        signature = {"cut_layer": self.cut_layer, "image_size": self.spec.height, "seed": self.seed,
                     "weights": str(self.weights)}
        self.cache.mkdir(parents=True, exist_ok=True)
        signature_file = self.cache / "signature.json"
        if signature_file.exists() and json.loads(signature_file.read_text()) != signature:
            raise ValueError(f"{self.cache} holds features of another backbone cut, size, seed or "
                             "weights; use another --cache-dir")
        signature_file.write_text(json.dumps(signature))
        train_views = ["clean"] + [f"aug{k}" for k in range(self.views)]
        t0 = time.time()
        cache_views(self.split["train"], train_views, self.encode, self.spec,
                    self.cache / "train", self.seed)
        evaluation = self.split["validation"] + self.split["test"]
        cache_views(evaluation, EVAL_VIEWS, self.encode, self.spec, self.cache / "eval", self.seed)
        self.log(f"feature cache ready ({format_seconds(time.time() - t0)})")
        n_train, n_val = len(self.split["train"]), len(self.split["validation"])
        self.train_views = [load_view(self.cache / "train", v, n_train) for v in train_views]
        self.eval_views = {v: load_view(self.cache / "eval", v, len(evaluation)) for v in EVAL_VIEWS}
        self.val = {v: a[:n_val] for v, a in self.eval_views.items()}
        self.test = {v: a[n_val:] for v, a in self.eval_views.items()}

    def upper_logits(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(self.trainer.predict(features, batch_size=128, verbose=0))

    def pooled(self, features: np.ndarray) -> np.ndarray:
        keras = _keras()
        model = keras.Model(self.upper.input,
                            keras.layers.GlobalAveragePooling2D()(self.upper.output))
        return np.asarray(model.predict(features, batch_size=128, verbose=0))

    # -- step 1: head on frozen pooled features ------------------------------------------
    def warm_up_head(self) -> None:
        keras = _keras()
        path = self.out / "head_warmup.weights.h5"
        summary = self.out / "head_warmup.json"
        if path.exists():
            self.head_trainer.load_weights(path)
            if summary.exists():
                self.baseline = json.loads(summary.read_text())["validation_balanced_accuracy"]
            self.log("head warm-up: loaded")
            return
        t0 = time.time()
        y_train = self.labels("train")
        x = np.concatenate([self.pooled(v) for v in self.train_views])
        y = np.tile(y_train, len(self.train_views))
        weights = _class_weights(y, len(self.class_names))[y]
        y_val = self.labels("validation")
        val_x = {v: self.pooled(a) for v, a in self.val.items()}
        self.log(f"pooled features ready ({format_seconds(time.time() - t0)})")
        self.head_trainer.compile(optimizer=keras.optimizers.Adam(1e-3),
                                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        best, best_weights = -1.0, None
        for epoch in range(self.head_epochs):
            self.head_trainer.fit(x, y, sample_weight=weights, batch_size=256, epochs=1,
                                  shuffle=True, verbose=0)
            scores = [_balanced_accuracy(y_val, self.head_trainer.predict(val_x[v], verbose=0)
                                         .argmax(1), len(self.class_names)) for v in EVAL_VIEWS]
            if np.mean(scores) > best:
                best, best_weights = float(np.mean(scores)), self.head.get_weights()
            if epoch % 5 == 4:
                self.log(f"head epoch {epoch + 1}: val balanced accuracy clean {scores[0]:.3f} "
                         f"rescaled {scores[1]:.3f}")
        self.head.set_weights(best_weights)
        self.head_trainer.save_weights(path)
        summary.write_text(json.dumps({"validation_balanced_accuracy": best,
                                       "views": "original + rescaled, mean"}))
        self.log(f"head warm-up (frozen-feature baseline): best val balanced accuracy {best:.3f} "
                 f"({format_seconds(time.time() - t0)})")
        self.baseline = best

    # -- step 2: fine-tune the top blocks -----------------------------------------------
    def fine_tune(self) -> None:
        keras = _keras()
        ckpt = self.out / "checkpoints"
        ckpt.mkdir(exist_ok=True)
        state_file = ckpt / "state.json"
        history_file = self.out / "history.json"
        state = {"epoch": 0, "best": -1.0}
        history: dict[str, list[float]] = {"accuracy": [], "loss": [], "val_accuracy": [],
                                           "val_loss": [], "val_balanced_accuracy": [],
                                           "val_balanced_accuracy_rescaled": [], "seconds": []}
        if state_file.exists():
            state = json.loads(state_file.read_text())
            history = json.loads(history_file.read_text())
            self.trainer.load_weights(ckpt / "last.weights.h5")
            self.log(f"fine-tuning: resuming after epoch {state['epoch']}")
        y_train = self.labels("train")
        y_val = self.labels("validation")
        weights = _class_weights(y_train, len(self.class_names))[y_train]
        steps = self.fine_epochs * int(np.ceil(len(y_train) / self.batch))
        schedule = keras.optimizers.schedules.CosineDecay(self.lr, steps, alpha=0.05)
        self.trainer.compile(
            optimizer=keras.optimizers.Adam(schedule),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        rng = np.random.default_rng(self.seed + state["epoch"])
        augmented = self.train_views[1:]
        for epoch in range(state["epoch"], self.fine_epochs):
            t0 = time.time()
            choice = rng.integers(0, len(augmented), size=len(y_train))
            x = np.empty_like(augmented[0])
            for k, view in enumerate(augmented):
                x[choice == k] = view[choice == k]
            fit = self.trainer.fit(x, y_train, sample_weight=weights, batch_size=self.batch,
                                   epochs=1, shuffle=True, verbose=0)
            logits = {v: self.upper_logits(a) for v, a in self.val.items()}
            scores = {v: _balanced_accuracy(y_val, l.argmax(1), len(self.class_names))
                      for v, l in logits.items()}
            val_loss = float(np.mean(_nll(logits["clean"], y_val)))
            seconds = time.time() - t0
            history["accuracy"].append(float(fit.history["accuracy"][-1]))
            history["loss"].append(float(fit.history["loss"][-1]))
            history["val_accuracy"].append(float(np.mean(logits["clean"].argmax(1) == y_val)))
            history["val_loss"].append(val_loss)
            history["val_balanced_accuracy"].append(scores["clean"])
            history["val_balanced_accuracy_rescaled"].append(scores["rescaled"])
            history["seconds"].append(seconds)
            score = float(np.mean(list(scores.values())))
            if score > state["best"]:
                state["best"] = score
                self.trainer.save_weights(self.out / "best.weights.h5")
            self.trainer.save_weights(ckpt / "last.weights.h5")
            state["epoch"] = epoch + 1
            history_file.write_text(json.dumps(history, indent=1))
            state_file.write_text(json.dumps(state))
            remaining = (self.fine_epochs - epoch - 1) * seconds
            self.log(f"fine-tune epoch {epoch + 1}/{self.fine_epochs}: loss {history['loss'][-1]:.3f} "
                     f"val balanced accuracy clean {scores['clean']:.3f} rescaled "
                     f"{scores['rescaled']:.3f} ({seconds:.0f} s/epoch, ETA {format_seconds(remaining)})")
        self.trainer.load_weights(self.out / "best.weights.h5")
        self.log(f"fine-tuning done: best val balanced accuracy (clean+rescaled mean) {state['best']:.3f}")

    def config(self) -> dict[str, Any]:
        """The training configuration recorded in the model card."""
        return {"arch": "mobilenetv2", "cut_layer": self.cut_layer, "image_size": self.spec.height,
                "augmented_views": self.views, "head_epochs": self.head_epochs,
                "fine_tune_epochs": self.fine_epochs, "learning_rate": self.lr,
                "batch_size": self.batch, "class_weights": "balanced", "seed": self.seed,
                "weights": str(self.weights) if self.weights else None}

    def export_only(self) -> int:
        """Re-run calibration, thresholds, export and evaluation from a run's best weights."""
        if not (self.out / "best.weights.h5").exists():
            raise ValueError(f"{self.out}: no best.weights.h5 yet; train (or --resume) first")
        self.prepare_data()
        self.build()
        self.cache_all()
        self.warm_up_head()
        self.trainer.load_weights(self.out / "best.weights.h5")
        from .finish import finish_run

        finish_run(self)
        return 0

    def run(self) -> int:
        t0 = time.time()
        self.log(f"skindesk-train train --arch mobilenetv2: {vars(self.args)}")
        settings = {k: v for k, v in vars(self.args).items() if k != "func"}
        (self.out / "run_args.json").write_text(json.dumps(settings, indent=1, default=str))
        self.prepare_data()
        self.build()
        self.cache_all()
        self.warm_up_head()
        self.fine_tune()
        from .finish import finish_run

        finish_run(self)
        self.log(f"total training time {format_seconds(time.time() - t0)}")
        return 0


def _nll(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels]
