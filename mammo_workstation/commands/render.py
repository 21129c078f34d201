"""``render``: one frame at 1:1 after the full grayscale pipeline, written as PNG."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from mammo_workstation.dicom.decode import DecodeError
from mammo_workstation.pipeline import reference
from mammo_workstation.pipeline.geometry import DisplayTransform
from mammo_workstation.pipeline.grayscale import VOIFunction
from mammo_workstation.pipeline.image import DisplayImage, load_display_image
from mammo_workstation.render.camera import Camera, image_to_screen

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "render",
        help="render one image at 1:1 to PNG through the display pipeline",
        description="Render one frame at 1:1 after the full grayscale pipeline, without "
        "overlays unless --overlays is given. Uses the GPU path (starting a private Xvfb when no display is set) and "
        "falls back to the numpy reference when no OpenGL context can be made.",
    )
    parser.add_argument("file", type=Path, help="DICOM file")
    parser.add_argument("--out", type=Path, required=True, help="output PNG file")
    parser.add_argument("--frame", type=int, default=1, help="frame number, from 1 (default 1)")
    voi = parser.add_mutually_exclusive_group()
    voi.add_argument("--window", type=int, metavar="INDEX",
                     help="window from the file, counted from 1 as dcmtk's dcmj2pnm +Wi")
    voi.add_argument("--voi-lut", type=int, metavar="INDEX",
                     help="VOI LUT from the file's VOI LUT Sequence, counted from 1 as dcmj2pnm +Wl")
    parser.add_argument("--function", choices=[f.value.lower() for f in VOIFunction],
                        help="VOI LUT Function for the windows instead of the file's own")
    parser.add_argument("--invert", action="store_true",
                        help="invert the displayed image once more, as the viewer's invert key does")
    parser.add_argument("--overlays", action="store_true",
                        help="draw the 60xx overlay planes in white over the image, as dcmj2pnm does")
    parser.add_argument("--software", action="store_true",
                        help="use the numpy reference instead of the GPU")
    parser.add_argument("--bits", type=int, choices=(8, 16), default=8,
                        help="bits per sample of the PNG (16 only with --software)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    function = VOIFunction.parse(args.function) if args.function else None
    try:
        image = load_display_image(args.file, args.frame - 1, _index(args.window),
                                   voi_lut_index=_index(args.voi_lut), function=function)
    except DecodeError as error:
        print(f"render: {error}", file=sys.stderr)
        return 2
    except IndexError as error:
        print(f"render: {args.file.name}: {error}; check the --window or --voi-lut number",
              file=sys.stderr)
        return 2
    except OSError as error:
        print(f"render: cannot read {args.file}: {error}", file=sys.stderr)
        return 2
    if args.invert:
        image.pipeline = image.pipeline.toggled_invert()
    pixels = render_software(image, args.bits) if args.software or args.bits == 16 else _render_gpu(image)
    if args.overlays:
        pixels = burn_in_overlays(pixels, image)
    _write_png(pixels, args.out)
    return 0


def burn_in_overlays(pixels: np.ndarray, image: DisplayImage) -> np.ndarray:
    """Set the pixels under every overlay plane of the frame to white (PS3.3 C.9.2).

    Parts of a plane outside the image are dropped, since the output is the image itself.
    """
    from mammo_workstation.pipeline.overlays import overlay_planes

    result = pixels.copy()
    white = np.iinfo(result.dtype).max
    rows, columns = result.shape[:2]
    for plane in overlay_planes(image.dataset, image.frame_index):
        result[plane.clipped(rows, columns)] = white
    return result


def _index(number: int | None) -> int | None:
    return None if number is None else number - 1


def render_software(image: DisplayImage, bits: int = 8) -> np.ndarray:
    """Render ``image.pipeline`` with the numpy reference: uint8, or uint16 with ``bits`` 16."""
    if image.frame.is_color:
        return 255 - image.pixels if image.pipeline.invert else image.pixels
    y = reference.render_float(image.pipeline, image.pixels)
    if bits == 16:
        return np.floor(y * 65535.0 + 0.5).astype(np.uint16)
    return reference.to_uint8(y)


def _render_gpu(image: DisplayImage) -> np.ndarray:
    from mammo_workstation.render.xvfb import ensure_display

    ensure_display()
    from PySide6.QtGui import QGuiApplication

    from mammo_workstation.render.gl_renderer import RendererError
    from mammo_workstation.render.offscreen import OffscreenGL

    _app = QGuiApplication.instance() or QGuiApplication(["mammo-workstation"])
    try:
        gl = OffscreenGL()
    except RendererError as error:
        print(f"render: {error}; using the numpy reference instead", file=sys.stderr)
        return render_software(image, 8)
    matrix = image_to_screen(DisplayTransform(), image.size, Camera())
    rgb = gl.render(image.pixels, image.frame.signed, image.pipeline, matrix, image.size)
    return rgb if image.frame.is_color else rgb[..., 0]


def _write_png(pixels: np.ndarray, out: Path) -> None:
    from PySide6.QtCore import QByteArray
    from PySide6.QtGui import QImage, QImageWriter

    data = np.ascontiguousarray(pixels)
    height, width = data.shape[:2]
    if data.ndim == 3:
        qformat = QImage.Format.Format_RGB888
    elif data.dtype == np.uint16:
        qformat = QImage.Format.Format_Grayscale16
    else:
        qformat = QImage.Format.Format_Grayscale8
    image = QImage(data.data, width, height, data.strides[0], qformat)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = QImageWriter(str(out), QByteArray(b"PNG"))
    if not writer.write(image):
        raise OSError(f"cannot write {out}: {writer.errorString()}")
