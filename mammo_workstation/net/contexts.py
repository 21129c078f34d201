"""Storage SOP classes and the transfer syntaxes we accept, in the order we prefer them.

A pynetdicom acceptor takes the first syntax of its own list that the requestor offers in a
presentation context. Compressed syntaxes therefore come first. A PACS that offers the stored
JPEG 2000 encoding next to Implicit VR Little Endian then keeps its encoding and does not have
to transcode. dcmqrscp 3.6.7 fails a C-MOVE with A702 when it must convert JPEG 2000.
"""

from __future__ import annotations

import copy
from typing import Any

from pydicom import uid
from pynetdicom.presentation import (
    AllStoragePresentationContexts,
    PresentationContext,
    build_context,
    build_role,
)

VERIFICATION = "1.2.840.10008.1.1"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"

# Transfer syntaxes the display pipeline can decode (pydicom with pylibjpeg, pyjpegls and
# imagecodecs), lossless first, then lossy, then the uncompressed ones.
ACCEPTED_TRANSFER_SYNTAXES: list[str] = [
    uid.JPEG2000Lossless,
    uid.JPEGLSLossless,
    uid.RLELossless,
    uid.JPEGLosslessSV1,
    uid.JPEGLossless,
    uid.HTJ2KLossless,
    uid.HTJ2KLosslessRPCL,
    uid.JPEG2000,
    uid.HTJ2K,
    uid.JPEGLSNearLossless,
    uid.JPEGBaseline8Bit,
    uid.JPEGExtended12Bit,
    uid.DeflatedExplicitVRLittleEndian,
    uid.ExplicitVRLittleEndian,
    uid.ImplicitVRLittleEndian,
    uid.ExplicitVRBigEndian,
]

STORAGE_SOP_CLASSES: list[str] = sorted(
    {str(cx.abstract_syntax) for cx in AllStoragePresentationContexts}
)

# SOP classes a mammography reading retrieves most: For Presentation and For Processing
# mammograms, breast tomosynthesis, digital X-ray, secondary capture, mammography CAD SR,
# key objects, presentation states and encapsulated PDF.
MAMMOGRAPHY_SOP_CLASSES: list[str] = [
    "1.2.840.10008.5.1.4.1.1.1.2",
    "1.2.840.10008.5.1.4.1.1.1.2.1",
    "1.2.840.10008.5.1.4.1.1.13.1.3",
    "1.2.840.10008.5.1.4.1.1.1.1",
    "1.2.840.10008.5.1.4.1.1.7",
    "1.2.840.10008.5.1.4.1.1.88.50",
    "1.2.840.10008.5.1.4.1.1.88.59",
    "1.2.840.10008.5.1.4.1.1.11.1",
    "1.2.840.10008.5.1.4.1.1.104.1",
]

# PS3.8 9.3.2.2: an association carries at most 128 presentation contexts (odd IDs 1..255).
MAX_REQUESTED_CONTEXTS = 128


def get_contexts(sop_classes: list[str]) -> tuple[list, list]:
    """Requested contexts and SCP role items for a C-GET of instances of ``sop_classes``.

    Each storage context carries a single transfer syntax where the 128-context limit allows.
    The C-GET SCP then picks the context that matches the stored encoding, instead of its own
    preference among several syntaxes. Orthanc 1.10 refused to send JPEG 2000 from a
    multi-syntax context, and dcmqrscp 3.6.7 chose Explicit VR and then failed to convert.
    With many SOP classes the least preferred syntaxes share one last context per class.
    """
    contexts = [build_context(STUDY_ROOT_GET)]
    room = MAX_REQUESTED_CONTEXTS - len(contexts)
    classes = (list(dict.fromkeys(sop_classes)) or MAMMOGRAPHY_SOP_CLASSES)[:room]
    per_class = max(1, room // len(classes))
    for sop_class in classes:
        if per_class >= len(ACCEPTED_TRANSFER_SYNTAXES):
            single, shared = ACCEPTED_TRANSFER_SYNTAXES, []
        else:
            single = ACCEPTED_TRANSFER_SYNTAXES[:per_class - 1]
            shared = ACCEPTED_TRANSFER_SYNTAXES[per_class - 1:]
        contexts.extend(build_context(sop_class, syntax) for syntax in single)
        if shared:
            contexts.append(build_context(sop_class, shared))
    roles = [build_role(sop_class, scp_role=True) for sop_class in classes]
    return contexts, roles


class _SharedContext(PresentationContext):
    """A supported context whose per-association copy shares its transfer syntax list.

    pynetdicom 3.0 deep-copies the acceptor's supported contexts for every association it
    accepts. For 171 SOP classes with 16 syntaxes each that took about 22 ms, added to every
    C-MOVE sub-association. Negotiation only reads these contexts, so a shallow copy is safe.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedContext:
        return copy.copy(self)


def storage_scp_contexts() -> list[PresentationContext]:
    """Supported contexts of our Storage SCP: Verification and every storage SOP class."""
    contexts: list[PresentationContext] = []
    for sop_class in [VERIFICATION, *STORAGE_SOP_CLASSES]:
        context = _SharedContext()
        context.abstract_syntax = sop_class
        syntaxes = ACCEPTED_TRANSFER_SYNTAXES
        if sop_class == VERIFICATION:
            syntaxes = [uid.ExplicitVRLittleEndian, uid.ImplicitVRLittleEndian]
        context.transfer_syntax = list(syntaxes)
        contexts.append(context)
    return contexts
