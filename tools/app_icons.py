"""Draw the field app's icons (run once; the PNGs are committed): a white sync ring on
the app's blue, with the maskable variant's drawing inside the safe zone (the centre 80%).

    python tools/app_icons.py
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ICONS = Path(__file__).parents[1] / "src" / "fieldsync" / "app" / "icons"
BLUE, WHITE = (0x1F, 0x4E, 0x8C), (0xFF, 0xFF, 0xFF)


def pixel(x: float, y: float, size: int, scale: float) -> tuple[int, int, int]:
    """The ring: white between 55% and 75% of the drawing's radius, open at the top right."""
    centre = size / 2
    dx, dy = (x - centre) / (centre * scale), (y - centre) / (centre * scale)
    radius = (dx * dx + dy * dy) ** 0.5
    gap = dx > 0.0 and dy < 0.0 and abs(dx) > abs(dy) * 0.6
    return WHITE if 0.45 <= radius <= 0.65 and not gap else BLUE


def png(size: int, scale: float) -> bytes:
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x + 0.5, y + 0.5, size, scale)) for x in range(size))
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (ICONS / f"icon-{size}.png").write_bytes(png(size, 1.0))
        (ICONS / f"maskable-{size}.png").write_bytes(png(size, 0.8))


if __name__ == "__main__":
    main()
