"""Draw the application icon and write every format the installers need.

    python resources/icons/make_icons.py

Writes these files beside this script:

- ``mammo-workstation.svg``, the drawing;
- ``mammo-workstation-N.png`` for N from 16 to 1024: briefcase's Linux sizes and the sizes
  packed below;
- ``mammo-workstation.png``, 256 px, for a window icon;
- ``mammo-workstation.ico`` for Windows, with PNG entries (read by Windows Vista and later);
- ``mammo-workstation.icns`` for macOS, with PNG entries (read by macOS 10.7 and later).
 The drawing is a 2 x 2 screening hanging: CC views above,
MLO views below, right breast on the left, chest walls meeting in the middle.

Needs PySide6 (QtSvg renders the SVG). The outputs are committed, so a build never runs this.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAME = "mammo-workstation"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types that contain PNG data, with their pixel sizes. "ic11" to "ic14" are the @2x
# variants of 16, 32, 128 and 256 points, so they reuse the 32, 64, 256 and 512 px images.
ICNS_TYPES = (
    (b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256),
    (b"ic09", 512), (b"ic10", 1024), (b"ic11", 32), (b"ic12", 64), (b"ic13", 256), (b"ic14", 512),
)

# Pane geometry on a 256 x 256 canvas: 28 px margin, 8 px gap between the panes.
_CC_RIGHT = "M124,40 C100,40 72,50 60,68 C54,78 58,90 68,98 C84,110 104,114 124,114 Z"
_MLO_RIGHT = "M124,132 L90,132 C76,150 60,172 56,192 C54,208 74,220 98,222 C110,223 118,222 124,221 Z"
_PECTORAL_RIGHT = "M124,132 L92,132 L124,186 Z"

SVG = f"""<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">
  <defs>
    <radialGradient id="tissue" cx="1" cy="0.5" r="1">
      <stop offset="0" stop-color="#f4f4f4"/>
      <stop offset="0.55" stop-color="#bcbcbc"/>
      <stop offset="1" stop-color="#6e6e6e"/>
    </radialGradient>
    <linearGradient id="muscle" x1="1" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#f0f0f0"/>
      <stop offset="1" stop-color="#9a9a9a"/>
    </linearGradient>
  </defs>
  <rect x="0" y="0" width="256" height="256" rx="48" fill="#1d3a52"/>
  <rect x="28" y="28" width="96" height="96" fill="#000000"/>
  <rect x="132" y="28" width="96" height="96" fill="#000000"/>
  <rect x="28" y="132" width="96" height="96" fill="#000000"/>
  <rect x="132" y="132" width="96" height="96" fill="#000000"/>
  <g id="right">
    <path d="{_CC_RIGHT}" fill="url(#tissue)"/>
    <path d="{_MLO_RIGHT}" fill="url(#tissue)"/>
    <path d="{_PECTORAL_RIGHT}" fill="url(#muscle)"/>
  </g>
  <use href="#right" transform="translate(256,0) scale(-1,1)"/>
</svg>
"""


def render_png(svg: bytes, size: int) -> bytes:
    """Render the SVG to a square PNG of ``size`` pixels, with transparent corners."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg))
    if not renderer.isValid():
        raise ValueError("the icon SVG did not parse; check the markup in make_icons.py")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    # PySide6 6.12's stubs declare the format as bytes, but at run time it takes only str.
    if not image.save(buffer, "PNG"):  # type: ignore[call-overload]
        raise OSError(f"Qt could not encode the {size} px icon as PNG")
    return bytes(buffer.data().data())


def pack_ico(pngs: dict[int, bytes]) -> bytes:
    """Pack PNG images into an ICO file (ICONDIR, one ICONDIRENTRY each, then the data)."""
    header = struct.pack("<HHH", 0, 1, len(ICO_SIZES))
    offset = len(header) + 16 * len(ICO_SIZES)
    entries, data = b"", b""
    for size in ICO_SIZES:
        png = pngs[size]
        # A width or height of 0 means 256 pixels.
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png), offset)
        data += png
        offset += len(png)
    return header + entries + data


def pack_icns(pngs: dict[int, bytes]) -> bytes:
    """Pack PNG images into an ICNS file: 'icns', total length, then type, length, data."""
    body = b"".join(
        kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for kind, size in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    svg = SVG.encode()
    (HERE / f"{NAME}.svg").write_bytes(svg)
    pngs = {size: render_png(svg, size) for size in PNG_SIZES}
    for size, png in pngs.items():
        (HERE / f"{NAME}-{size}.png").write_bytes(png)
    (HERE / f"{NAME}.png").write_bytes(pngs[256])
    (HERE / f"{NAME}.ico").write_bytes(pack_ico(pngs))
    (HERE / f"{NAME}.icns").write_bytes(pack_icns(pngs))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
