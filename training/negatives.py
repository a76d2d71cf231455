"""Images that are not dermoscopy of a skin lesion, for training and scoring the image gate.

Two kinds of source: real clinical close-ups (``milk10k-clinical``, split by lesion with the
dermoscopic rows) and generated images of every other kind a clinician may drop by mistake:
solid colours, gradients, noise, text documents, screenshots of windows, icons and drawings,
everyday scenes, and other medical images (X-ray, ultrasound, fundus, histology look-alikes).
Each generated image is deterministic in (kind, index, seed) and arrives at a random size and
JPEG quality, as a file would.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .augment import jpeg

__all__ = ["GENERATED_KINDS", "generate", "generated_set"]


def _size(rng: random.Random) -> tuple[int, int]:
    width = rng.choice((160, 240, 320, 480, 640, 800, 1024))
    return width, max(64, round(width * rng.choice((0.56, 0.75, 1.0, 1.33))))


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def _solid(rng: random.Random) -> Image.Image:
    return Image.new("RGB", _size(rng), _colour(rng))


def _gradient(rng: random.Random) -> Image.Image:
    w, h = _size(rng)
    a, b = np.array(_colour(rng), np.float32), np.array(_colour(rng), np.float32)
    t = np.linspace(0, 1, w if rng.random() < 0.5 else h, dtype=np.float32)
    if rng.random() < 0.3:  # radial
        y, x = np.mgrid[0:h, 0:w]
        t2 = np.sqrt((x / w - 0.5) ** 2 + (y / h - 0.5) ** 2)[..., None] / 0.71
        return Image.fromarray((a + (b - a) * t2).astype(np.uint8))
    line = a + (b - a) * t[:, None]
    grid = np.broadcast_to(line[None], (h, w, 3)) if len(t) == w else np.broadcast_to(line[:, None], (h, w, 3))
    return Image.fromarray(grid.astype(np.uint8))


def _noise(rng: random.Random) -> Image.Image:
    w, h = _size(rng)
    gen = np.random.default_rng(rng.randrange(2**32))
    scale = rng.choice((1, 4, 16))
    small = gen.integers(0, 256, (max(1, h // scale), max(1, w // scale), 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR)
    return image.convert("L").convert("RGB") if rng.random() < 0.3 else image


def _words(rng: random.Random, n: int) -> str:
    syllables = ("pa", "ti", "ent", "der", "mo", "sco", "py", "re", "port", "le", "sion", "date",
                 "clin", "ic", "ne", "vus", "bi", "op", "sy", "the", "and", "of")
    return " ".join("".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(n))


def _document(rng: random.Random) -> Image.Image:
    w = rng.choice((600, 850, 1240))
    h = round(w * 1.414)
    paper = rng.choice(((255, 255, 255), (250, 248, 240), (235, 235, 230)))
    image = Image.new("RGB", (w, h), paper)
    draw = ImageDraw.Draw(image)
    y = rng.randint(30, 80)
    line_h = rng.randint(14, 24)
    while y < h - 40:
        if rng.random() < 0.1:
            y += line_h
            continue
        draw.text((rng.randint(30, 60), y), _words(rng, rng.randint(4, 12)), fill=(20, 20, 20))
        y += line_h
    if rng.random() < 0.5:  # a scan: grey cast, slight rotation, noise
        image = image.rotate(rng.uniform(-2, 2), fillcolor=(200, 200, 200))
        image = image.filter(ImageFilter.GaussianBlur(0.6))
    return image


def _screenshot(rng: random.Random) -> Image.Image:
    w, h = rng.choice(((1280, 800), (1024, 768), (800, 600), (1920, 1080)))
    background = rng.choice(((240, 240, 240), (255, 255, 255), (45, 45, 48), (30, 30, 30)))
    image = Image.new("RGB", (w, h), background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, w, 28), fill=rng.choice(((60, 60, 60), (220, 220, 220), (0, 90, 160))))
    for _ in range(rng.randint(4, 14)):  # panels, buttons, bars, text
        x0, y0 = rng.randint(0, w - 60), rng.randint(30, h - 30)
        x1, y1 = min(w, x0 + rng.randint(40, 500)), min(h, y0 + rng.randint(16, 300))
        draw.rectangle((x0, y0, x1, y1), fill=_colour(rng) if rng.random() < 0.3 else background,
                       outline=(128, 128, 128))
        draw.text((x0 + 6, y0 + 4), _words(rng, rng.randint(1, 5)), fill=(0, 0, 0) if sum(background) > 300 else (230, 230, 230))
    if rng.random() < 0.5:  # a photo inside the window (as when SkinDesk shows an image)
        x0, y0 = rng.randint(10, w // 3), rng.randint(40, h // 3)
        blob = _lesion_like_blob(rng, (w // 3, h // 3))
        image.paste(blob, (x0, y0))
    return image


def _lesion_like_blob(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    w, h = size
    image = Image.new("RGB", size, (rng.randint(180, 230), rng.randint(130, 180), rng.randint(110, 160)))
    draw = ImageDraw.Draw(image)
    cx, cy, r = w // 2, h // 2, min(w, h) // rng.randint(3, 6)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(rng.randint(60, 120), rng.randint(30, 70), 20))
    return image.filter(ImageFilter.GaussianBlur(2))


def _icon(rng: random.Random) -> Image.Image:
    side = rng.choice((64, 128, 256, 512))
    image = Image.new("RGB", (side, side), _colour(rng) if rng.random() < 0.5 else (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(1, 6)):
        box = sorted((rng.randint(0, side), rng.randint(0, side)))
        box2 = sorted((rng.randint(0, side), rng.randint(0, side)))
        shape = rng.choice(("ellipse", "rectangle", "line", "polygon"))
        if shape == "ellipse":
            draw.ellipse((box[0], box2[0], box[1], box2[1]), fill=_colour(rng))
        elif shape == "rectangle":
            draw.rectangle((box[0], box2[0], box[1], box2[1]), fill=_colour(rng))
        elif shape == "line":
            draw.line((box[0], box2[0], box[1], box2[1]), fill=_colour(rng), width=rng.randint(2, 12))
        else:
            draw.polygon([(rng.randint(0, side), rng.randint(0, side)) for _ in range(3)], fill=_colour(rng))
    return image


def _scene(rng: random.Random) -> Image.Image:
    """An everyday outdoor or indoor scene: sky, horizon, ground, objects, texture."""
    w, h = _size(rng)
    gen = np.random.default_rng(rng.randrange(2**32))
    horizon = rng.uniform(0.3, 0.7)
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    sky_top = np.array(rng.choice(((90, 140, 220), (200, 200, 210), (250, 160, 90))), np.float32)
    sky_low = np.array((220, 230, 240), np.float32)
    ground = np.array(rng.choice(((70, 110, 50), (140, 120, 90), (90, 90, 90), (200, 190, 170))), np.float32)
    sky = sky_top + (sky_low - sky_top) * (y / horizon)
    land = ground * (0.7 + 0.6 * (y - horizon))
    pixels = np.where(y < horizon, sky, land) * np.ones((1, w, 1), np.float32)
    pixels += gen.normal(0, rng.uniform(3, 20), (h, w, 3)).astype(np.float32) * (y >= horizon)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(2, 12)):  # buildings, trees, people, cars
        x0 = rng.randint(0, w)
        base = round(horizon * h) + rng.randint(-10, h // 4)
        top = base - rng.randint(h // 12, h // 2)
        width = rng.randint(w // 30, w // 6)
        if rng.random() < 0.5:
            draw.rectangle((x0, top, x0 + width, base), fill=_colour(rng))
        else:
            draw.ellipse((x0, top, x0 + width, base), fill=(rng.randint(20, 80), rng.randint(60, 130), rng.randint(20, 60)))
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.2)))


def _xray(rng: random.Random) -> Image.Image:
    w, h = _size(rng)
    image = Image.new("L", (w, h), rng.randint(0, 30))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 9)):  # bones and soft tissue as bright elongated shapes
        cx, cy = rng.randint(0, w), rng.randint(0, h)
        a, b = rng.randint(w // 20, w // 3), rng.randint(h // 20, h // 3)
        draw.ellipse((cx - a, cy - b, cx + a, cy + b), fill=rng.randint(90, 240))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(2, 8)))
    return image.convert("RGB")


def _ultrasound(rng: random.Random) -> Image.Image:
    w, h = _size(rng)
    gen = np.random.default_rng(rng.randrange(2**32))
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = np.arctan2(x - w / 2, y + h * 0.1)
    radius = np.hypot(x - w / 2, y + h * 0.1)
    fan = (np.abs(angle) < rng.uniform(0.5, 0.8)) & (radius < h * rng.uniform(0.9, 1.1))
    speckle = gen.rayleigh(rng.uniform(30, 60), (h, w)).astype(np.float32)
    pixels = np.where(fan, np.clip(speckle, 0, 255), 0)
    return Image.fromarray(pixels.astype(np.uint8)).filter(ImageFilter.GaussianBlur(1)).convert("RGB")


def _fundus(rng: random.Random) -> Image.Image:
    side = rng.choice((256, 512, 768))
    image = Image.new("RGB", (side, side), (0, 0, 0))
    draw = ImageDraw.Draw(image)
    margin = side // 20
    draw.ellipse((margin, margin, side - margin, side - margin),
                 fill=(rng.randint(170, 230), rng.randint(70, 120), rng.randint(20, 50)))
    disc = (rng.randint(side // 4, side // 2), rng.randint(side // 3, 2 * side // 3))
    r = side // 12
    draw.ellipse((disc[0] - r, disc[1] - r, disc[0] + r, disc[1] + r), fill=(250, 220, 150))
    for _ in range(rng.randint(6, 12)):  # vessels
        points = [disc]
        for _ in range(4):
            px, py = points[-1]
            points.append((px + rng.randint(-side // 5, side // 5), py + rng.randint(-side // 5, side // 5)))
        draw.line(points, fill=(120, 20, 20), width=rng.randint(2, 6))
    return image.filter(ImageFilter.GaussianBlur(1.5))


def _histology(rng: random.Random) -> Image.Image:
    w, h = _size(rng)
    gen = np.random.default_rng(rng.randrange(2**32))
    base = np.array((rng.randint(220, 245), rng.randint(170, 200), rng.randint(200, 225)), np.float32)
    pixels = np.ones((h, w, 3), np.float32) * base + gen.normal(0, 8, (h, w, 3)).astype(np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(80, 400)):  # nuclei
        cx, cy, r = rng.randint(0, w), rng.randint(0, h), rng.randint(2, 7)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r),
                     fill=(rng.randint(60, 110), rng.randint(30, 70), rng.randint(120, 170)))
    return image.filter(ImageFilter.GaussianBlur(0.8))


GENERATED_KINDS: dict[str, Callable[[random.Random], Image.Image]] = {
    "solid colour": _solid, "gradient": _gradient, "noise": _noise, "document": _document,
    "screenshot": _screenshot, "icon or drawing": _icon, "everyday scene": _scene,
    "x-ray": _xray, "ultrasound": _ultrasound, "fundus": _fundus, "histology": _histology,
}


def generate(kind: str, index: int, seed: int) -> Image.Image:
    """Generated negative number ``index`` of ``kind``, as a file would arrive (JPEG or not)."""
    rng = random.Random(f"{seed}:{kind}:{index}")
    image = GENERATED_KINDS[kind](rng)
    if rng.random() < 0.6:
        image = jpeg(image, rng.randint(40, 95))
    return image


def generated_set(per_kind: int, seed: int) -> Iterator[tuple[str, Image.Image]]:
    """``per_kind`` images of every generated kind: (kind, image) pairs."""
    for kind in GENERATED_KINDS:
        for index in range(per_kind):
            yield kind, generate(kind, index, seed)

