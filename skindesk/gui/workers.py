"""Background work for the window: loading models, decoding images, running inference.

``run_task(pool, fn, on_done, on_error)`` runs ``fn()`` in a ``QThreadPool`` and delivers its
result (or the exception) to the GUI thread through queued signals. ``load_for_display`` is the
image job: it decodes once at a size fit for the screen (JPEG draft decoding, so a 40-megapixel
photo costs a fraction), makes the thumbnail, and returns the image the model should see, which is
exactly what ``Classifier.predict_file`` would have decoded, so the app and the command line give
the same numbers for the same file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from skindesk.core.imaging import DISPLAY_SIDE, display_size_copy, load_image

__all__ = ["LoadedImage", "run_task", "load_for_display", "pil_to_qimage", "DISPLAY_SIDE"]

THUMBNAIL_SIDE = 96


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(object)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.signals = _Signals()
        self.setAutoDelete(False)

    def run(self) -> None:  # runs in a pool thread
        try:
            result = self.fn()
        except BaseException as error:  # noqa: BLE001 - everything goes back to the GUI
            self._emit(self.signals.failed, error)
        else:
            self._emit(self.signals.done, result)

    @staticmethod
    def _emit(signal: Any, value: Any) -> None:
        try:
            signal.emit(value)
        except RuntimeError:  # the window closed while the task ran: nobody is listening
            pass


_LIVE: set[_Task] = set()


def run_task(
    pool: QThreadPool,
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[BaseException], None],
) -> None:
    """Run ``fn`` in ``pool``; call ``on_done(result)`` or ``on_error(exc)`` in the GUI thread."""
    task = _Task(fn)

    def finished(callback: Callable[[Any], None], value: Any) -> None:
        _LIVE.discard(task)
        callback(value)

    task.signals.done.connect(lambda value: finished(on_done, value))
    task.signals.failed.connect(lambda error: finished(on_error, error))
    _LIVE.add(task)
    pool.start(task)


@dataclass
class LoadedImage:
    """An opened file: what the screen shows, its thumbnail, and what the model sees."""

    path: str
    display: QImage
    thumbnail: QImage
    pil_display: Image.Image
    model_image: Image.Image
    original_size: tuple[int, int]
    model_draft: tuple[int, int] | None = None
    is_jpeg: bool = False

    def image_for_model(self, draft: tuple[int, int] | None) -> Image.Image:
        """What ``Classifier.predict_file`` would decode for a model wanting ``draft``."""
        if not self.is_jpeg or draft == self.model_draft:
            return self.model_image
        return load_image(self.path, draft_size=draft)


def pil_to_qimage(image: Image.Image) -> QImage:
    """Copy an RGB or RGBA PIL image into a QImage that owns its pixels."""
    if image.mode == "RGBA":
        data = image.tobytes("raw", "RGBA")
        fmt = QImage.Format.Format_RGBA8888
        bytes_per_line = 4 * image.width
    else:
        image = image.convert("RGB") if image.mode != "RGB" else image
        data = image.tobytes("raw", "RGB")
        fmt = QImage.Format.Format_RGB888
        bytes_per_line = 3 * image.width
    return QImage(data, image.width, image.height, bytes_per_line, fmt).copy()


def _header(path: str) -> tuple[tuple[int, int] | None, str]:
    """Upright (width, height) and format from the header, without decoding pixels."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
            fmt = str(image.format or "")
    except Exception:  # noqa: BLE001 - load_image reports the real problem
        return None, ""
    size = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    return size, fmt


def load_for_display(
    path: str | Path, model_draft: tuple[int, int] | None, side: int = DISPLAY_SIDE
) -> LoadedImage:
    """Decode ``path`` for the screen and for the model (runs in a worker thread).

    Raises:
        ImageLoadError: naming the file and the problem.
    """
    path = str(path)
    full_size, fmt = _header(path)
    image = load_image(path, draft_size=(side, side))
    is_jpeg = fmt in ("JPEG", "MPO")
    if model_draft is None or not is_jpeg:
        model_image = image  # draft decoding is JPEG-only: the same pixels predict_file sees
    else:
        model_image = load_image(path, draft_size=model_draft)  # cheap: reduced JPEG decode
    display = display_size_copy(image, side)
    thumb = ImageOps.contain(display, (THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.BILINEAR)
    return LoadedImage(
        path=path,
        display=pil_to_qimage(display),
        thumbnail=pil_to_qimage(thumb),
        pil_display=display,
        model_image=model_image,
        original_size=full_size or image.size,
        model_draft=model_draft,
        is_jpeg=is_jpeg,
    )
