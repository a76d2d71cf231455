"""Draw SkinDesk's application icon: ``resources/icons/`` gets the SVG, PNGs, a Windows .ico and a
macOS .icns, all from the same geometry (nothing downloaded).

The icon is a teal rounded square holding a white magnifying lens over a brown, slightly
irregular lesion: "look closely at a skin lesion". The PNGs are drawn with Pillow at 1024 px and
scaled down (Lanczos), so every size comes from one drawing; the SVG repeats the same shapes in
the same 1024-unit coordinates. Run ``python installer/make_icons.py [OUTPUT_DIR]`` (default:
``resources/icons`` of this source tree); ``installer/build.sh`` runs it when icons are missing.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from PIL import Image, ImageDraw

__all__ = ["PNG_SIZES", "ICO_SIZES", "svg_text", "draw_master", "write_icons"]

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
CANVAS = 1024

BACKGROUND = "#0f6e74"
BACKGROUND_EDGE = "#0a4f54"
LENS = "#ffffff"
LESION = "#7a4a2a"
LESION_CORE = "#4a2a18"

# Geometry, in 1024-unit coordinates (shared by the SVG and the raster drawing).
CORNER = 200
LENS_CENTER = (440.0, 440.0)
LENS_RADIUS = 250.0
LENS_STROKE = 64.0
HANDLE_FROM = (630.0, 630.0)
HANDLE_TO = (850.0, 850.0)
HANDLE_WIDTH = 110.0


def _lesion_outline(scale: float = 1.0) -> list[tuple[float, float]]:
    """A gently irregular closed outline around the lens centre (deterministic)."""
    cx, cy = LENS_CENTER
    points = []
    for step in range(72):
        angle = 2 * math.pi * step / 72
        radius = 130 * scale * (1 + 0.08 * math.sin(3 * angle) + 0.05 * math.cos(5 * angle + 1))
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def svg_text() -> str:
    """The icon as SVG (1024 x 1024 view box)."""
    def path(points: list[tuple[float, float]]) -> str:
        head, *rest = points
        return f"M{head[0]:.1f},{head[1]:.1f} " + " ".join(f"L{x:.1f},{y:.1f}" for x, y in rest) + " Z"

    cx, cy = LENS_CENTER
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{CANVAS}" height="{CANVAS}" viewBox="0 0 {CANVAS} {CANVAS}">
  <title>SkinDesk</title>
  <rect x="16" y="16" width="992" height="992" rx="{CORNER}" ry="{CORNER}" fill="{BACKGROUND}" stroke="{BACKGROUND_EDGE}" stroke-width="24"/>
  <path d="{path(_lesion_outline())}" fill="{LESION}"/>
  <path d="{path(_lesion_outline(0.45))}" fill="{LESION_CORE}"/>
  <line x1="{HANDLE_FROM[0]:.0f}" y1="{HANDLE_FROM[1]:.0f}" x2="{HANDLE_TO[0]:.0f}" y2="{HANDLE_TO[1]:.0f}" stroke="{LENS}" stroke-width="{HANDLE_WIDTH:.0f}" stroke-linecap="round"/>
  <circle cx="{cx:.0f}" cy="{cy:.0f}" r="{LENS_RADIUS:.0f}" fill="none" stroke="{LENS}" stroke-width="{LENS_STROKE:.0f}"/>
</svg>
"""


def draw_master() -> Image.Image:
    """The icon drawn at 1024 x 1024 (RGBA)."""
    image = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((4, 4, CANVAS - 5, CANVAS - 5), radius=CORNER + 12, fill=BACKGROUND_EDGE)
    draw.rounded_rectangle((28, 28, CANVAS - 29, CANVAS - 29), radius=CORNER - 12, fill=BACKGROUND)
    draw.polygon(_lesion_outline(), fill=LESION)
    draw.polygon(_lesion_outline(0.45), fill=LESION_CORE)
    draw.line((HANDLE_FROM, HANDLE_TO), fill=LENS, width=int(HANDLE_WIDTH))
    for end in (HANDLE_FROM, HANDLE_TO):  # round caps
        r = HANDLE_WIDTH / 2
        draw.ellipse((end[0] - r, end[1] - r, end[0] + r, end[1] + r), fill=LENS)
    cx, cy = LENS_CENTER
    outer, inner = LENS_RADIUS + LENS_STROKE / 2, LENS_RADIUS - LENS_STROKE / 2
    ring = Image.new("L", (CANVAS, CANVAS), 0)
    ring_draw = ImageDraw.Draw(ring)
    ring_draw.ellipse((cx - outer, cy - outer, cx + outer, cy + outer), fill=255)
    ring_draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=0)
    image.paste(Image.new("RGBA", (CANVAS, CANVAS), LENS), (0, 0), ring)
    return image


def write_icons(folder: str | Path) -> list[Path]:
    """Write skindesk.svg, skindesk-<N>.png, skindesk.png (256), skindesk.ico and skindesk.icns."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    svg = folder / "skindesk.svg"
    svg.write_text(svg_text(), encoding="utf-8")
    written.append(svg)
    master = draw_master()
    for size in PNG_SIZES:
        target = folder / f"skindesk-{size}.png"
        master.resize((size, size), Image.Resampling.LANCZOS).save(target, optimize=True)
        written.append(target)
    plain = folder / "skindesk.png"
    master.resize((256, 256), Image.Resampling.LANCZOS).save(plain, optimize=True)
    written.append(plain)
    ico = folder / "skindesk.ico"
    master.save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES])
    written.append(ico)
    icns = folder / "skindesk.icns"
    try:
        master.save(icns, format="ICNS")
        written.append(icns)
    except (OSError, KeyError, ValueError) as error:  # older Pillow without an ICNS writer
        print(f"make_icons: no .icns written ({error}); macOS builds need one", file=sys.stderr)
    return written


if __name__ == "__main__":
    default = Path(__file__).resolve().parent.parent / "resources" / "icons"
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    for written_path in write_icons(out):
        print(written_path)
