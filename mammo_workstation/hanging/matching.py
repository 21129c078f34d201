"""Score hanging protocols against a study, choose the prior, and hang every stage.

A rule that cannot be tested on an unexpected study fails with a reason instead of raising.
Each rule's result is kept, so the reading view and ``hang`` can explain the choice.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mammo_workstation.dicom.model import Instance, Laterality, Study, StudyCollection
from mammo_workstation.dicom.views import view_label
from mammo_workstation.hanging.layout import (
    CURRENT,
    PRIOR,
    ImageSelector,
    Layout,
    Placement,
    ViewportSpec,
    grid_shape,
    mammography_justify,
    place,
)
from mammo_workstation.hanging.protocol import (
    IMAGE_KINDS,
    PriorPolicy,
    PriorSelection,
    Protocol,
    Rule,
    RuleKind,
    RuleMode,
    Stage,
    StageContent,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    passed: bool
    detail: str


@dataclass
class Candidate:
    """One protocol scored against the study: every rule's result and the total."""

    protocol: Protocol
    results: list[RuleResult]
    prior: Study | None

    @property
    def eligible(self) -> bool:
        return all(r.passed for r in self.results if r.rule.required)

    @property
    def score(self) -> float:
        return sum(r.rule.weight for r in self.results if r.passed)

    def sort_key(self) -> tuple[bool, float, int, str]:
        """Ascending order is best first: eligible, then higher score and priority, then name."""
        return (not self.eligible, -self.score, -self.protocol.priority, self.protocol.name)


@dataclass(frozen=True)
class HungStage:
    stage: Stage
    layout: Layout
    placements: list[Placement]


@dataclass
class Hanging:
    """The outcome: the chosen protocol, why, and the placements of each stage."""

    protocol: Protocol
    reason: str
    current: Study
    prior: Study | None
    stages: list[HungStage]
    candidates: list[Candidate] = field(default_factory=list)


# -- prior selection ------------------------------------------------------------------------


def _displayable(study: Study) -> list[Instance]:
    return [i for i in study.instances if i.has_pixel_data]


def months_before(date: dt.date, months: int) -> dt.date:
    """Go back ``months`` calendar months from ``date``, clamping to the month's last day."""
    total = date.year * 12 + date.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    for day in range(date.day, 0, -1):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    return dt.date(year, month, 1)


def older_studies(collection: StudyCollection, current: Study) -> list[Study]:
    """List the patient's displayable studies dated before ``current``, newest first.

    A study without a Study Date, or a current study without one, has no place in time, so
    no prior is found for it.
    """
    if current.study_date is None:
        return []
    try:
        patient = collection.patient_of(current)
    except KeyError:
        return []
    older = [
        s for s in patient.studies.values()
        if s.study_date is not None and s.study_date < current.study_date and _displayable(s)
    ]
    return sorted(older, key=lambda s: s.study_date or dt.date.min, reverse=True)


def choose_prior(collection: StudyCollection, current: Study, policy: PriorPolicy) -> Study | None:
    older = older_studies(collection, current)
    if policy.selection is PriorSelection.NTH:
        return older[policy.n - 1] if len(older) >= policy.n else None
    if policy.selection is PriorSelection.MONTHS_OLDER and current.study_date is not None:
        limit = months_before(current.study_date, policy.months)
        return next((s for s in older if s.study_date is not None and s.study_date <= limit), None)
    return older[0] if older else None


def describe_policy(policy: PriorPolicy) -> str:
    if policy.selection is PriorSelection.NTH:
        return f"prior number {policy.n} before the current study"
    if policy.selection is PriorSelection.MONTHS_OLDER:
        return f"newest study at least {policy.months} months older"
    return "most recent study before the current one"


# -- rules ----------------------------------------------------------------------------------


def evaluate_rule(rule: Rule, studies: dict[str, Study | None]) -> RuleResult:
    """Test one rule. A regex, type or value error makes the rule fail with a reason."""
    study = studies.get(rule.study)
    if rule.kind is RuleKind.STUDY_PRESENT:
        if study is None:
            return RuleResult(rule, False, f"no {rule.study} study found")
        date = study.study_date.isoformat() if study.study_date else "no date"
        return RuleResult(rule, True, f"{rule.study} study from {date}")
    if study is None:
        return RuleResult(rule, False, f"no {rule.study} study to test")
    try:
        return _evaluate_on(rule, study)
    except (re.error, TypeError, ValueError, AttributeError) as error:
        logger.warning("Rule %s of a hanging protocol failed to evaluate: %s", rule.where, error)
        return RuleResult(rule, False, f"could not be tested ({error})")


def _evaluate_on(rule: Rule, study: Study) -> RuleResult:
    images = _displayable(study)
    if rule.kind is RuleKind.STUDY_DESCRIPTION:
        passed = any(re.search(p, study.description, re.IGNORECASE) for p in rule.values)
        return RuleResult(rule, passed, f"Study Description {study.description!r}")
    if rule.kind is RuleKind.IMAGE_COUNT:
        return _count_result(rule, len(images), "displayable images")
    if rule.kind is RuleKind.LATERALITY_COUNT:
        sides = {i.laterality for i in images} & {Laterality.RIGHT, Laterality.LEFT}
        return _count_result(rule, len(sides), "breasts imaged")
    passing = sum(1 for i in images if _image_passes(rule, i))
    if rule.mode is RuleMode.ALL:
        passed = bool(images) and passing == len(images)
    elif rule.mode is RuleMode.NONE:
        passed = passing == 0
    else:
        passed = passing > 0
    return RuleResult(rule, passed, f"{passing} of {len(images)} images have {_subject(rule)}")


def _count_result(rule: Rule, count: int, what: str) -> RuleResult:
    low_ok = rule.minimum is None or count >= rule.minimum
    high_ok = rule.maximum is None or count <= rule.maximum
    return RuleResult(rule, low_ok and high_ok, f"{count} {what}")


def _image_passes(rule: Rule, instance: Instance) -> bool:
    if rule.kind is RuleKind.MODALITY:
        return instance.modality in rule.values
    if rule.kind is RuleKind.LATERALITY:
        return instance.laterality is not None and instance.laterality.value in rule.values
    if rule.kind is RuleKind.PRESENTATION_INTENT:
        return instance.presentation_intent is not None and instance.presentation_intent.value in rule.values
    if rule.kind is RuleKind.SERIES_DESCRIPTION:
        return any(re.search(p, instance.series_description, re.IGNORECASE) for p in rule.values)
    if rule.kind is RuleKind.VIEW_MODIFIER:
        return instance.view is not None and any(m in rule.values for m in instance.view.modifiers)
    if rule.kind is RuleKind.VIEW:
        view = instance.view
        if view is None or view.view not in rule.values:
            return False
        return rule.modifiers is None or view.modifiers == rule.modifiers
    return False


def _subject(rule: Rule) -> str:
    names = {
        RuleKind.MODALITY: "Modality",
        RuleKind.LATERALITY: "Image Laterality",
        RuleKind.PRESENTATION_INTENT: "Presentation Intent Type",
        RuleKind.SERIES_DESCRIPTION: "Series Description matching",
        RuleKind.VIEW: "view",
        RuleKind.VIEW_MODIFIER: "view modifier",
    }
    text = f"{names.get(rule.kind, rule.kind.value)} {'/'.join(rule.values)}"
    if rule.kind is RuleKind.VIEW and rule.modifiers is not None:
        text += f" with modifiers [{' '.join(rule.modifiers)}]"
    return text


def describe_rule(rule: Rule) -> str:
    """Describe a rule in a few words: its description, or text built from its kind and values."""
    if rule.description:
        return rule.description
    if rule.kind is RuleKind.STUDY_PRESENT:
        return f"{rule.study} study present"
    if rule.kind in (RuleKind.IMAGE_COUNT, RuleKind.LATERALITY_COUNT):
        low = "" if rule.minimum is None else f"{rule.minimum} <= "
        high = "" if rule.maximum is None else f" <= {rule.maximum}"
        return f"{low}{rule.kind.value}{high}"
    prefix = "" if rule.study == CURRENT else f"{rule.study}: "
    mode = "" if rule.kind not in IMAGE_KINDS or rule.mode is RuleMode.ANY else f"{rule.mode.value} images "
    return f"{prefix}{mode}{_subject(rule)}"


# -- choosing -------------------------------------------------------------------------------


def score(protocol: Protocol, collection: StudyCollection, current: Study) -> Candidate:
    prior = choose_prior(collection, current, protocol.priors) if protocol.uses_prior else None
    studies = {CURRENT: current, PRIOR: prior}
    return Candidate(protocol, [evaluate_rule(rule, studies) for rule in protocol.rules], prior)


def rank(protocols: Iterable[Protocol], collection: StudyCollection, current: Study) -> list[Candidate]:
    """Score every protocol and sort best first: eligible, then score, priority and name (A to Z)."""
    candidates = [score(p, collection, current) for p in protocols]
    return sorted(candidates, key=lambda c: c.sort_key())


def explain(candidate: Candidate, chosen_by_name: bool = False) -> str:
    """Explain in one line why this protocol was chosen."""
    passed = [describe_rule(r.rule) for r in candidate.results if r.passed]
    failed = [describe_rule(r.rule) for r in candidate.results if not r.passed]
    head = "requested by name" if chosen_by_name else f"score {candidate.score:g}"
    parts = [head]
    if passed:
        parts.append("passed: " + "; ".join(passed))
    if failed:
        parts.append("failed: " + "; ".join(failed))
    if candidate.prior is not None and candidate.prior.study_date is not None:
        parts.append(f"prior from {candidate.prior.study_date.isoformat()} "
                     f"({describe_policy(candidate.protocol.priors)})")
    elif not candidate.results:
        parts.append("no rules: the fallback for any study")
    return ", ".join(parts)


def choose(
    protocols: Sequence[Protocol], collection: StudyCollection, current: Study, name: str | None = None
) -> Hanging | None:
    """Hang ``current`` with the best eligible protocol, or with the one called ``name``.

    Returns None only when there is no eligible protocol at all (bundled protocols include a
    fallback that always matches) or when ``name`` is not among ``protocols``.
    """
    candidates = rank(protocols, collection, current)
    if name is not None:
        chosen = next((c for c in candidates if c.protocol.name == name), None)
        if chosen is None:
            return None
        return hang(chosen, current, explain(chosen, chosen_by_name=True), candidates)
    best = next((c for c in candidates if c.eligible), None)
    if best is None:
        return None
    return hang(best, current, explain(best), candidates)


# -- hanging the stages -----------------------------------------------------------------------


def hang(candidate: Candidate, current: Study, reason: str, candidates: list[Candidate] | None = None) -> Hanging:
    """Fill every stage of the candidate's protocol with images of ``current`` and its prior."""
    protocol = candidate.protocol
    current_images = _displayable(current)
    others = {PRIOR: _displayable(candidate.prior) if candidate.prior else []}
    fixed: dict[int, HungStage] = {}
    shown: set[str] = set()
    for index, stage in enumerate(protocol.stages):
        if stage.content is StageContent.FIXED:
            placements = place(stage.layout, current_images, others)
            fixed[index] = HungStage(stage, stage.layout, placements)
            shown.update(p.instance.sop_instance_uid for p in placements if p.instance)
    stages: list[HungStage] = []
    for index, stage in enumerate(protocol.stages):
        if index in fixed:
            if not stage.optional or any(p.instance for p in fixed[index].placements):
                stages.append(fixed[index])
            continue
        generated = _generated_stage(stage, current, current_images, shown)
        if generated is not None:
            stages.append(generated)
    return Hanging(protocol, reason, current, candidate.prior, stages, candidates or [candidate])


def _generated_stage(stage: Stage, current: Study, images: list[Instance], shown: set[str]) -> HungStage | None:
    if stage.content is StageContent.EXTRA_IMAGES:
        extra = [i for i in images if i.sop_instance_uid not in shown][: stage.max_viewports]
        specs = [_image_viewport(i) for i in extra]
    else:
        series = [s for s in sorted(current.series.values(), key=lambda s: s.series_number or 0)
                  if any(i.has_pixel_data for i in s.instances)][: stage.max_viewports]
        specs = [_series_viewport(s.instances, s.description) for s in series]
    if not specs:
        return None
    rows, columns = grid_shape(len(specs))
    gridded = tuple(
        ViewportSpec(n // columns, n % columns, spec.label, spec.selector, spec.orientation, spec.justify,
                     stack=spec.stack)
        for n, spec in enumerate(specs)
    )
    layout = Layout(stage.name, rows, columns, gridded)
    return HungStage(stage, layout, place(layout, images))


def _image_viewport(instance: Instance) -> ViewportSpec:
    side = instance.laterality.value if instance.laterality is not None else None
    label = view_label(side, instance.view) if instance.view is not None else (
        instance.series_description or instance.modality)
    return ViewportSpec(0, 0, label, ImageSelector(None, None, sop_instance_uid=instance.sop_instance_uid),
                        None, mammography_justify(instance.laterality) if instance.modality == "MG" else
                        mammography_justify(None))


def _series_viewport(instances: list[Instance], description: str) -> ViewportSpec:
    first = min((i for i in instances if i.has_pixel_data),
                key=lambda i: (i.instance_number if i.instance_number is not None else 0, i.sop_instance_uid))
    label = description or f"{first.modality} series {first.series_number or ''}".strip()
    return ViewportSpec(0, 0, label, ImageSelector(None, None, sop_instance_uid=first.sop_instance_uid),
                        stack=True)
