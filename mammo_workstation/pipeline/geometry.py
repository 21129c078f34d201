"""Display orientation of projection images from Patient Orientation (PS3.3 C.7.6.1.1.1).

Patient Orientation gives two direction letters for the stored image: along a row (left to
right) and down a column (top to bottom). An oblique value such as ``FL`` counts by its main
(first) letter. :func:`display_transform` finds the rotation and horizontal flip that make the
displayed image read as the target orientation, for example ``A\\R`` for a left CC view under
IHE Mammography Image (MAMMO).
"""

from __future__ import annotations

from dataclasses import dataclass

_OPPOSITE = {"A": "P", "P": "A", "R": "L", "L": "R", "H": "F", "F": "H"}


@dataclass(frozen=True)
class DisplayTransform:
    """Rotate clockwise by ``rotation`` degrees first, then flip left-right if asked."""

    rotation: int = 0
    flip_horizontal: bool = False

    def apply(self, image_directions: tuple[str, str]) -> tuple[str, str]:
        """Return the (row, column) directions seen on screen after this transform."""
        row, column = (direction[:1] for direction in image_directions)
        for _ in range(self.rotation // 90 % 4):
            # A quarter turn clockwise: the new rows run up the old columns, and the new
            # columns run down along the old rows.
            row, column = _OPPOSITE[column], row
        if self.flip_horizontal:
            row = _OPPOSITE[row]
        return row, column


IDENTITY = DisplayTransform()

# Without rotation first: a mammogram needs at most a flip, and rotations are the last resort.
_CANDIDATES = (
    DisplayTransform(0, False),
    DisplayTransform(0, True),
    DisplayTransform(180, True),
    DisplayTransform(180, False),
    DisplayTransform(90, False),
    DisplayTransform(90, True),
    DisplayTransform(270, False),
    DisplayTransform(270, True),
)


def main_letter(direction: str) -> str:
    return direction.strip().upper()[:1]


def display_transform(
    orientation: tuple[str, str] | None, target: tuple[str, str]
) -> DisplayTransform:
    """Find the transform that shows ``orientation`` as ``target``.

    The row direction must match; the column direction is matched when it can be. With no
    usable Patient Orientation the image is shown as stored.
    """
    if orientation is None or not all(main_letter(d) in _OPPOSITE for d in orientation):
        return IDENTITY
    stored = (main_letter(orientation[0]), main_letter(orientation[1]))
    wanted_row, wanted_column = main_letter(target[0]), main_letter(target[1])
    row_matches = [t for t in _CANDIDATES if t.apply(stored)[0] == wanted_row]
    for transform in row_matches:
        if transform.apply(stored)[1] == wanted_column:
            return transform
    return row_matches[0] if row_matches else IDENTITY
