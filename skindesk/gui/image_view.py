"""The image viewer: fit to window, zoom (wheel, keys), pan (drag), and the heat-map layer.

A ``QGraphicsView`` with the photo and, above it, an optional heat-map item whose opacity the
slider sets. ``rendered()`` returns exactly what the viewport shows (tests compare it).
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap, QResizeEvent, QTransform, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

__all__ = ["ImageView"]

MIN_ZOOM = 0.02
MAX_ZOOM = 16.0
STEP = 1.25


class ImageView(QGraphicsView):
    """Shows one image with an optional heat map; starts fitted to the window."""

    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageView")
        self.setAccessibleName("Lesion image")
        self.setAccessibleDescription("The open image; scroll or drag to pan, Ctrl+wheel to zoom")
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._image_item = QGraphicsPixmapItem()
        self._image_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._overlay_item = QGraphicsPixmapItem()
        self._overlay_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._overlay_item.setZValue(1)
        self._overlay_item.setVisible(False)
        self._scene.addItem(self._image_item)
        self._scene.addItem(self._overlay_item)
        self._fitted = True
        self._has_image = False
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(self.palette().dark())
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # -- content ----------------------------------------------------------------------
    def set_image(self, image: QImage | None) -> None:
        """Show ``image`` fitted to the window (None clears the view)."""
        self._has_image = image is not None and not image.isNull()
        self._image_item.setPixmap(QPixmap.fromImage(image) if self._has_image else QPixmap())
        self.set_overlay(None)
        rect = self._image_item.boundingRect()
        self._scene.setSceneRect(rect)
        self.fit()

    def has_image(self) -> bool:
        return self._has_image

    def set_overlay(self, overlay: QImage | None, rect: QRectF | None = None) -> None:
        """Lay ``overlay`` over ``rect`` of the image (None removes it)."""
        if overlay is None or overlay.isNull():
            self._overlay_item.setPixmap(QPixmap())
            self._overlay_item.setVisible(False)
            return
        rect = rect or self._image_item.boundingRect()
        pixmap = QPixmap.fromImage(overlay)
        self._overlay_item.setPixmap(pixmap)
        self._overlay_item.setPos(rect.topLeft())
        if pixmap.width() > 0:
            sx, sy = rect.width() / pixmap.width(), rect.height() / pixmap.height()
            self._overlay_item.setTransform(QTransform.fromScale(sx, sy))
        self._overlay_item.setVisible(True)

    def overlay_visible(self) -> bool:
        return self._overlay_item.isVisible()

    def set_overlay_opacity(self, opacity: float) -> None:
        self._overlay_item.setOpacity(max(0.0, min(1.0, opacity)))

    def overlay_opacity(self) -> float:
        return float(self._overlay_item.opacity())

    def rendered(self) -> QImage:
        """What the viewport shows now."""
        return self.viewport().grab().toImage()

    # -- zoom -------------------------------------------------------------------------
    def zoom(self) -> float:
        return float(self.transform().m11())

    def fit(self) -> None:
        """Fit the whole image into the window."""
        self._fitted = True
        if self._has_image:
            self.fitInView(self._image_item, Qt.AspectRatioMode.KeepAspectRatio)
        else:
            self.resetTransform()
        self.zoom_changed.emit(self.zoom())

    def is_fitted(self) -> bool:
        return self._fitted

    def set_zoom(self, factor: float) -> None:
        factor = max(MIN_ZOOM, min(MAX_ZOOM, factor))
        self._fitted = False
        current = self.zoom() or 1.0
        self.scale(factor / current, factor / current)
        self.zoom_changed.emit(self.zoom())

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom() * STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom() / STEP)

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt API
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier or not self._scrollable():
            delta = event.angleDelta().y()
            if delta:
                self.set_zoom(self.zoom() * (STEP if delta > 0 else 1 / STEP))
            event.accept()
            return
        super().wheelEvent(event)

    def _scrollable(self) -> bool:
        return self.horizontalScrollBar().maximum() > 0 or self.verticalScrollBar().maximum() > 0

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self._fitted:
            self.fit()
