"""Mammography views from View Code Sequence, View Modifier Code Sequence and View Position.

Code tables: PS3.16 CID 4014 "View for Mammography" and CID 4015 "View Modifier for
Mammography". Each concept is listed with its SNOMED CT code (scheme ``SCT``) and its legacy
SNOMED RT code, which files write with scheme ``SRT`` or the older ``SNM3``. The ACR MQCM 1999
abbreviations are the labels radiologists read.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydicom.dataset import Dataset

from mammo_workstation.dicom.model import CodedView

# ACR abbreviation -> (SNOMED CT code, SNOMED RT code); PS3.16 CID 4014.
VIEW_CODES: dict[str, tuple[str, str]] = {
    "ML": ("399260004", "R-10224"),
    "MLO": ("399368009", "R-10226"),
    "LM": ("399352003", "R-10228"),
    "LMO": ("399099002", "R-10230"),
    "CC": ("399162004", "R-10242"),
    "FB": ("399196006", "R-10244"),
    "SIO": ("399188001", "R-102D0"),
    "ISO": ("441555000", "R-40AAA"),
    "XCCL": ("399192008", "R-1024A"),
    "XCCM": ("399101009", "R-1024B"),
    "SPECIMEN": ("127457009", "G-8310"),
}

# ACR abbreviation -> (SNOMED CT code, SNOMED RT code); PS3.16 CID 4015.
VIEW_MODIFIER_CODES: dict[str, tuple[str, str]] = {
    "CV": ("399161006", "R-102D2"),  # cleavage
    "AT": ("399011000", "R-102D1"),  # axillary tail
    "RL": ("399197002", "R-102D3"),  # rolled lateral
    "RM": ("399226006", "R-102D4"),  # rolled medial
    "RI": ("414493004", "R-102CA"),  # rolled inferior
    "RS": ("415670009", "R-102C9"),  # rolled superior
    "ID": ("399209000", "R-102D5"),  # implant displaced
    "M": ("399163009", "R-102D6"),  # magnification
    "S": ("399055006", "R-102D7"),  # spot compression
    "TAN": ("399110001", "R-102C2"),  # tangential
    "NP": ("442581004", "R-40AB3"),  # nipple in profile
    "AC": ("441752004", "P2-00161"),  # anterior compression
    "IMF": ("442593008", "R-40ABE"),  # infra-mammary fold
    "AX": ("442580003", "R-40AB2"),  # axillary tissue
}

SNOMED_SCHEMES = {"SCT", "SRT", "SNM3", "99SDM"}


def _reverse(table: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {code: abbreviation for abbreviation, codes in table.items() for code in codes}


_VIEW_BY_CODE = _reverse(VIEW_CODES)
_MODIFIER_BY_CODE = _reverse(VIEW_MODIFIER_CODES)

# View Position (0018,5101) defined terms for mammography, PS3.3 C.8.11.7 and C.8.11.5.
_VIEW_POSITIONS = set(VIEW_CODES) - {"SPECIMEN"}


def _coded_abbreviation(item: Dataset, table: dict[str, str]) -> str | None:
    scheme = str(item.get("CodingSchemeDesignator", "")).strip().upper()
    value = str(item.get("CodeValue", "")).strip().upper()
    if scheme and scheme not in SNOMED_SCHEMES:
        return None
    return table.get(value)


def _modifiers(items: Iterable[Dataset]) -> tuple[str, ...]:
    found = (_coded_abbreviation(item, _MODIFIER_BY_CODE) for item in items)
    return tuple(abbreviation for abbreviation in found if abbreviation)


def coded_view(ds: Dataset) -> CodedView | None:
    """Resolve the view of a mammogram, preferring the coded View Code Sequence.

    View Modifier Code Sequence belongs inside the View Code Sequence item (PS3.3 C.8.11.7);
    some writers put it at the top level, so both places are read.
    """
    modifiers: tuple[str, ...] = _modifiers(ds.get("ViewModifierCodeSequence") or [])
    for item in ds.get("ViewCodeSequence") or []:
        modifiers += _modifiers(item.get("ViewModifierCodeSequence") or [])
        view = _coded_abbreviation(item, _VIEW_BY_CODE)
        if view:
            return CodedView(
                view,
                modifiers,
                str(item.get("CodeValue", "")),
                str(item.get("CodingSchemeDesignator", "")),
            )
    position = str(ds.get("ViewPosition", "")).strip().upper()
    if position in _VIEW_POSITIONS:
        return CodedView(position, modifiers)
    return None


# Modifiers that ACR labels write after the view ("RCCID", "LMLORL"); spot compression and
# magnification are written as words before it so they stand out on screen.
_LABEL_PREFIXES = (("M", "MAG"), ("S", "SPOT"))


def view_label(laterality: str | None, view: CodedView | None) -> str:
    """ACR MQCM label of a view: ``RCC``, ``LMLO``, ``RML``, ``RCCID``, ``SPOT RCC``, ``MAG LCC``.

    ``laterality`` is Image Laterality (R, L, B or U); only R and L are written. An unknown
    view gives the laterality alone, or ``?``.
    """
    side = (laterality or "").strip().upper()
    side = side if side in ("R", "L") else ""
    if view is None:
        return side or "?"
    words = [word for code, word in _LABEL_PREFIXES if code in view.modifiers]
    suffix = "".join(m for m in view.modifiers if m not in dict(_LABEL_PREFIXES))
    return " ".join([*words, f"{side}{view.view}{suffix}"])
