"""Where identification text goes so that it never covers breast tissue.

A mammogram's chest wall runs along one vertical edge of the displayed image and the breast
extends from it; the corners on the opposite side hold background. PS3.3 C.7.6.1.1.1: the
first Patient Orientation letter names the direction of increasing column index, so after the
display transform the row direction that points to P (posterior) puts the chest wall on the
right.
"""

from __future__ import annotations

from enum import StrEnum

from mammo_workstation.pipeline.geometry import DisplayTransform, main_letter


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"


def chest_wall_side(
    orientation: tuple[str, str] | None, transform: DisplayTransform, laterality: str | None
) -> Side | None:
    """Find the displayed edge along the chest wall; None when the header gives no hint.

    Patient Orientation decides; without it, the usual hanging is assumed: right breasts with
    the chest wall on the right, left breasts on the left (back to back in the middle).
    """
    if orientation is not None and all(main_letter(d) in "APRLHF" and d for d in orientation):
        row_direction, _ = transform.apply((main_letter(orientation[0]), main_letter(orientation[1])))
        if row_direction == "P":
            return Side.RIGHT
        if row_direction == "A":
            return Side.LEFT
    side = (laterality or "").strip().upper()
    if side == "R":
        return Side.RIGHT
    if side == "L":
        return Side.LEFT
    return None


def identification_side(
    orientation: tuple[str, str] | None, transform: DisplayTransform, laterality: str | None
) -> Side:
    """Choose the side for identification text: away from the chest wall, left when unknown."""
    wall = chest_wall_side(orientation, transform, laterality)
    return Side.LEFT if wall is None or wall is Side.RIGHT else Side.RIGHT
