"""For Presentation over For Processing when a study holds both for the same view.

PS3.3 C.8.11.1.1.1: a For Processing image is the detector's raw data, meant for CAD and
further processing; the For Presentation image is what the modality made for reading. When a
view exists in both forms, the reader sees the For Presentation one; a For Processing image
is shown only when it is the only image of its view, and then marked as such.
"""

from __future__ import annotations

from collections.abc import Iterable

from mammo_workstation.dicom.model import Instance, PresentationIntent


def _view_key(instance: Instance) -> tuple[str, str, str, tuple[str, ...]]:
    view = instance.view
    return (
        instance.study_instance_uid,
        instance.laterality.value if instance.laterality else "",
        view.view if view else "",
        tuple(sorted(view.modifiers)) if view else (),
    )


def prefer_for_presentation(instances: Iterable[Instance]) -> list[Instance]:
    """Drop each For Processing image whose study has a For Presentation image of its view.

    Views are compared by study, laterality, view and view modifiers; images without a known
    view are all kept. The order of the remaining images is unchanged.
    """
    items = list(instances)
    presented = {
        _view_key(i) for i in items
        if i.presentation_intent is not PresentationIntent.FOR_PROCESSING and i.view is not None
    }
    return [
        i for i in items
        if not (i.presentation_intent is PresentationIntent.FOR_PROCESSING
                and i.view is not None and _view_key(i) in presented)
    ]
