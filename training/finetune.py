"""``FineTuneRun``: whole-network training with fresh augmentation every epoch, resumable.

The pool is decoded once (``pool.py``); each step's batch is built by worker threads while the
previous step runs: every image gets a new ``acquisition_view`` and the app's own ``preprocess``.
What a step sees depends only on (seed, epoch, step), and every variable (model, optimiser, dropout
seeds) and the run's position are checkpointed atomically at each epoch end and every
``checkpoint_minutes``, so ``--resume`` continues exactly where the last checkpoint stood: no step
lost, none repeated (``RunState.chain`` hashes the batches trained, in order).

Schedule: ``head_epochs`` with the backbone frozen (BatchNorm in inference mode) at
``head_learning_rate``, then the whole network with a linear warm-up to ``learning_rate`` and
cosine decay. After each epoch the model is scored on validation (original and rescaled views);
the best epoch's weights are kept for calibration and export.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from skindesk.core.preprocess import Preprocessing, preprocess

from .augment import acquisition_view, rescaled_like_external
from .checkpoint import RunState, load_arrays, load_checkpoint, save_arrays, save_checkpoint
from .config import TrainConfig
from .networks import Networks, build_networks, keras_module
from .pool import Pool, prepare_pool
from .progress import format_seconds

__all__ = ["FineTuneRun", "preprocessing_for", "class_weights"]

EVAL_VIEWS = ("clean", "rescaled")


def preprocessing_for(config: TrainConfig) -> Preprocessing:
    """The card's preprocessing: pool scale first, then squash to the 4:3 model input."""
    return Preprocessing(height=config.image_height, width=config.image_width, resize="bilinear",
                         fit="squash", value_range=(-1.0, 1.0), channel_order="RGB",
                         canonical_area=200 * 150)


def class_weights(labels: np.ndarray, num_classes: int, power: float) -> np.ndarray:
    """Per-class weights (1/frequency)^power, averaging 1 over the training images."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weights = (len(labels) / (num_classes * np.maximum(counts, 1))) ** power
    return weights / weights[labels].mean()


def balanced_accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    recalls = [np.mean(predicted[labels == c] == c) for c in np.unique(labels)]
    return float(np.mean(recalls))


class FineTuneRun:
    """One run folder: ``config.json``, ``train.log``, ``split.json``, ``checkpoints/``, best weights."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.out = Path(config.out).expanduser()
        self.spec = preprocessing_for(config)
        self.keras = keras_module(config.backend)
        self.out.mkdir(parents=True, exist_ok=True)
        self._log = open(self.out / "train.log", "a", encoding="utf-8")  # noqa: SIM115
        self.pool: Pool
        self.nets: Networks
        self.state = RunState()

    # -- bookkeeping ------------------------------------------------------------------------
    def log(self, message: str) -> None:
        line = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {message}"
        print(line, flush=True)
        self._log.write(line + "\n")
        self._log.flush()

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.pool.split["train"]) / self.config.batch_size)

    def learning_rate(self, global_step: int) -> float:
        c = self.config
        head_steps = c.head_epochs * self.steps_per_epoch
        if global_step < head_steps:
            return c.head_learning_rate
        t = global_step - head_steps
        total = max(1, c.epochs * self.steps_per_epoch)
        warm = min(1.0, (t + 1) / max(1, c.warmup_steps))
        return c.learning_rate * warm * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, t / total))))

    # -- set-up -----------------------------------------------------------------------------
    def prepare(self) -> None:
        t0 = time.time()
        self.keras.utils.set_random_seed(self.config.seed)
        self.pool = prepare_pool(self.config.data, self.out, self.config.seed, self.config.limit,
                                 self.config.exclude_flagged, self.spec, self.log)
        self.nets = build_networks(self.config.arch, self.config.image_height,
                                   self.config.image_width, len(self.pool.class_names),
                                   self.config.dropout, self.config.weights, self.config.backend)
        self.train_labels = self.pool.labels("train")  # once: batch() reads it every step
        self.weights = class_weights(self.train_labels, len(self.pool.class_names),
                                     self.config.class_weight_power)
        self.val_x = {view: self._tensors(self.pool.split["validation"], view) for view in EVAL_VIEWS}
        self.log(f"pool decoded and model built ({format_seconds(time.time() - t0)}); "
                 f"{self.steps_per_epoch} steps per epoch; classes {self.pool.class_names}")

    def _tensors(self, records: list, view: str) -> np.ndarray:
        batch = np.empty((len(records), self.spec.height, self.spec.width, 3), np.float32)
        for i, record in enumerate(records):
            image = self.pool.image(record)
            preprocess(rescaled_like_external(image) if view == "rescaled" else image, self.spec,
                       out=batch[i])
        return batch

    def _compile(self, phase: str) -> None:
        keras = self.keras
        self.nets.base.trainable = phase == "full"
        optimizer = keras.optimizers.AdamW(learning_rate=self.learning_rate(self.state.global_step),
                                           weight_decay=self.config.weight_decay)
        self.nets.model.compile(
            optimizer=optimizer,
            loss=keras.losses.CategoricalCrossentropy(from_logits=True,
                                                      label_smoothing=self.config.label_smoothing))
        optimizer.build(self.nets.model.trainable_variables)
        self.phase = phase

    def phase_at(self, epoch: int) -> str:
        return "head" if epoch < self.config.head_epochs else "full"

    # -- batches ----------------------------------------------------------------------------
    def order(self, epoch: int) -> np.ndarray:
        rng = np.random.default_rng([self.config.seed, epoch])
        return rng.permutation(len(self.pool.split["train"]))

    def batch(self, epoch: int, step: int, order: np.ndarray) -> tuple[np.ndarray, ...]:
        """The inputs, one-hot labels, weights and indices of (epoch, step): always the same."""
        records = self.pool.split["train"]
        labels = self.train_labels
        picks = order[step * self.config.batch_size:(step + 1) * self.config.batch_size]
        x = np.empty((len(picks), self.spec.height, self.spec.width, 3), np.float32)
        for slot, index in enumerate(picks):
            record = records[index]
            rng = random.Random(zlib.crc32(f"{self.config.seed}:{epoch}:{record.name}".encode()))
            preprocess(acquisition_view(self.pool.image(record), rng), self.spec, out=x[slot])
        y = np.eye(len(self.pool.class_names), dtype=np.float32)[labels[picks]]
        return x, y, self.weights[labels[picks]].astype(np.float32), picks

    # -- checkpoints ------------------------------------------------------------------------
    def checkpoint(self) -> None:
        model_values = [np.asarray(v.numpy()) for v in self.nets.model.variables]
        optimizer_values = [np.asarray(v.numpy()) for v in self.nets.model.optimizer.variables]
        save_checkpoint(self.out / "checkpoints", self.state, model_values, optimizer_values)
        self.last_checkpoint = time.monotonic()

    def restore(self) -> bool:
        found = load_checkpoint(self.out / "checkpoints")
        if found is None:
            return False
        state, model_values, optimizer_values = found
        self.state = state
        for variable, value in zip(self.nets.model.variables, model_values, strict=True):
            variable.assign(value)
        self._compile(self.phase_at(state.epoch))
        for variable, value in zip(self.nets.model.optimizer.variables, optimizer_values, strict=True):
            variable.assign(value)
        self.log(f"resumed at epoch {state.epoch + 1}, step {state.step} "
                 f"(global step {state.global_step}, best {state.best_score:.3f})")
        return True

    # -- training ---------------------------------------------------------------------------
    def train(self) -> None:
        c = self.config
        if not (c.resume and self.restore()):
            self._compile(self.phase_at(0))
        self.last_checkpoint = time.monotonic()
        self.sitting_steps = 0
        budget = c.stop_after_steps
        executor = ThreadPoolExecutor(c.workers)
        try:
            while self.state.epoch < c.total_epochs:
                if self.phase != self.phase_at(self.state.epoch):
                    self._compile(self.phase_at(self.state.epoch))
                stopped = self._train_epoch(executor, budget)
                if stopped:
                    self.log(f"stopped after {c.stop_after_steps} steps this sitting (checkpointed)")
                    return
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    def _train_epoch(self, executor: ThreadPoolExecutor, budget: int | None) -> bool:
        c, state = self.config, self.state
        epoch, order, steps = state.epoch, self.order(state.epoch), self.steps_per_epoch
        t_epoch, first_step = time.monotonic(), state.step
        mark = t_epoch  # run time is added to the state at each checkpoint
        pending: dict[int, Future] = {}
        losses: list[float] = []
        last_report = time.monotonic()
        for step in range(state.step, steps):
            for ahead in range(step, min(steps, step + c.workers + 1)):
                if ahead not in pending:
                    pending[ahead] = executor.submit(self.batch, epoch, ahead, order)
            x, y, w, picks = pending.pop(step).result()
            self.nets.model.optimizer.learning_rate = self.learning_rate(state.global_step)
            loss = self.nets.model.train_on_batch(x, y, sample_weight=w)
            losses.append(float(np.asarray(loss).ravel()[0]))
            state.epoch_loss_sum += losses[-1]
            state.chain = hashlib.sha256(
                state.chain.encode() + f"{epoch}:{step}:".encode() + picks.tobytes()).hexdigest()
            state.step, state.global_step = step + 1, state.global_step + 1
            self.sitting_steps += 1
            now = time.monotonic()
            if now - last_report > 120:
                rate = (now - t_epoch) / (step + 1 - first_step)
                self.log(f"epoch {epoch + 1}/{c.total_epochs} ({self.phase}) step {step + 1}/{steps}: "
                         f"loss {np.mean(losses[-50:]):.3f}, {rate:.2f} s/step, "
                         f"epoch ETA {format_seconds(rate * (steps - step - 1))}")
                last_report = now
            if step + 1 < steps and now - self.last_checkpoint > c.checkpoint_minutes * 60:
                mark = self._add_time(mark)
                self.checkpoint()
            if budget is not None and self.sitting_steps >= budget and step + 1 < steps:
                self._add_time(mark)
                self.checkpoint()
                return True
        self._add_time(mark)
        self._end_epoch(state.epoch_loss_sum / steps)
        return budget is not None and self.sitting_steps >= budget and state.epoch < c.total_epochs

    def _add_time(self, since: float) -> float:
        now = time.monotonic()
        self.state.seconds += now - since
        return now

    def _end_epoch(self, loss: float) -> None:
        state, c = self.state, self.config
        t0 = time.monotonic()
        labels = self.pool.labels("validation")
        scores = {}
        for view, x in self.val_x.items():
            logits = np.asarray(self.nets.model.predict(x, batch_size=64, verbose=0))
            scores[view] = balanced_accuracy(labels, logits.argmax(1))
        score = float(np.mean(list(scores.values())))
        history = state.history
        for key, value in (("loss", loss), ("val_balanced_accuracy", scores["clean"]),
                           ("val_balanced_accuracy_rescaled", scores["rescaled"]),
                           ("seconds", state.seconds), ("phase_full", float(self.phase == "full"))):
            history.setdefault(key, []).append(float(value))
        previous = history["seconds"][-2] if len(history["seconds"]) > 1 else 0.0
        epoch_seconds = state.seconds - previous
        if score > state.best_score:
            state.best_score, state.best_epoch = score, state.epoch
            save_arrays(self.out / "best.npz", [np.asarray(v.numpy()) for v in self.nets.model.variables])
        state.epoch, state.step, state.epoch_loss_sum = state.epoch + 1, 0, 0.0
        self._add_time(t0)
        self.checkpoint()
        remaining = (c.total_epochs - state.epoch) * epoch_seconds
        self.log(f"epoch {state.epoch}/{c.total_epochs} ({self.phase}): loss {loss:.3f}, val "
                 f"balanced accuracy {scores['clean']:.3f} (rescaled {scores['rescaled']:.3f}); "
                 f"best {state.best_score:.3f} at epoch {state.best_epoch + 1}; "
                 f"{epoch_seconds:.0f} s/epoch, ETA {format_seconds(remaining)}")

    def load_best(self) -> None:
        for variable, value in zip(self.nets.model.variables, load_arrays(self.out / "best.npz"),
                                   strict=True):
            variable.assign(value)

    def run(self) -> int:
        t0 = time.time()
        config_file = self.out / "config.json"
        config_file.write_text(self.config.to_json())
        self.log(f"skindesk-train train: {self.config.to_json()}")
        self.prepare()
        self.train()
        if self.state.epoch < self.config.total_epochs or not self.config.finish:
            return 0
        self.log(f"training done: best validation balanced accuracy {self.state.best_score:.3f} "
                 f"at epoch {self.state.best_epoch + 1}; {format_seconds(self.state.seconds)} "
                 "of training")
        from .finish import finish

        finish(self)
        self.log(f"finished in {format_seconds(time.time() - t0)} this sitting")
        return 0
