"""The library linter: schema-valid entries checked for safety, compliance and duplicates."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace

from rapidfuzz import fuzz, process

from scripts_library.compliance import ComplianceChecker, Violation
from scripts_library.loader import Library, Problem
from scripts_library.render import TemplateRejected, inspect_template, render
from scripts_library.schema import Entry, EscalationFile, FaqEntry, Script
from scripts_library.text import chinese_number, compact

NEAR_DUPLICATE_SCORE = 95.0


def _from_violation(v: Violation, where: tuple[str, int], entry_id: str) -> Problem:
    matched = f"“{v.matched}”: " if v.matched else ""
    return Problem(
        where[0], where[1], v.severity, v.rule_id, matched + v.reason, v.suggestion, entry_id, v.start, v.end
    )


_REPLY_PROMISE = re.compile(
    r"(\d+|[一二两三四五六七八九十半]+)\s*个?\s*(分钟|小时|天|工作日)\s*内[^，。！；,.!;]{0,8}?(?:回复|答复|联系|回电|反馈)"
)
_MINUTES = {"分钟": 1, "小时": 60, "天": 1440, "工作日": 1440}


def promised_reply_minutes(text: str) -> list[float]:
    """Every "we reply within N" promise in a reply text, in minutes (30分钟内联系您, 2小时内给您回复)."""
    found = []
    for number, unit in _REPLY_PROMISE.findall(text):
        value = 0.5 if number == "半" else float(number) if number.isdigit() else chinese_number(number)
        if value:
            found.append(value * _MINUTES[unit])
    return found


def _deadline_problems(script: Script, text: str, policy: EscalationFile) -> list[tuple[str, str, str]]:
    """A reply sent with an escalation must promise the time the escalation's team answers in, no other."""
    if script.escalation is None:
        return []
    hint = script.escalation
    rule = next((r for r in policy.rules if r.team == hint.team), None)
    if rule is None:
        return [("escalation.unknown_team", f"escalation team {hint.team} is not in escalation.yaml", "use its team")]
    problems = []
    if rule.respond_within_minutes != hint.respond_within_minutes:
        problems.append(
            (
                "escalation.deadline",
                f"{hint.team} answers within {rule.respond_within_minutes} minutes (escalation.yaml), "
                f"the script says {hint.respond_within_minutes}",
                f"set respond_within_minutes: {rule.respond_within_minutes}",
            )
        )
    for minutes in promised_reply_minutes(text):
        if minutes != rule.respond_within_minutes:
            problems.append(
                (
                    "escalation.promise",
                    f"the reply promises an answer within {minutes:g} minutes, but {hint.team} answers within "
                    f"{rule.respond_within_minutes}: the customer would be told two different deadlines",
                    f"promise {_duration(rule.respond_within_minutes)}",
                )
            )
    return problems


def _duration(minutes: int) -> str:
    return f"{minutes // 60}小时内" if minutes % 60 == 0 else f"{minutes}分钟内"


def lint_script(
    script: Script,
    checker: ComplianceChecker,
    where: tuple[str, int],
    intents: Iterable[str],
    policy: EscalationFile | None = None,
) -> list[Problem]:
    """Problems of one script: template safety, variables, intents, compliance of its rendering, and the
    deadline it promises beside an escalation (``policy``)."""
    problems: list[Problem] = []

    def add(severity: str, code: str, message: str, hint: str = "") -> None:
        problems.append(Problem(where[0], where[1], severity, code, message, hint, script.id))

    unknown = [i for i in script.intents if i not in set(intents)]
    if unknown:
        add("error", "intent.unknown", f"unknown intent(s): {', '.join(unknown)}", "use an id from intents.yaml")
    try:
        used = inspect_template(script.template)
    except TemplateRejected as exc:
        add("error", "template.unsafe", str(exc), "write plain text with {{ variable }} only")
        return problems
    undeclared = [name for name in used if name not in script.variables]
    if undeclared:
        add(
            "error",
            "template.undeclared",
            f"variables used but not declared: {', '.join(undeclared)}",
            "declare them under `variables` with a label and default",
        )
    unused = [name for name in script.variables if name not in used]
    if unused:
        add("warning", "template.unused", f"declared but unused variables: {', '.join(unused)}", "remove them")
    text = render(script.template, script.variables, {}).text
    problems.extend(_from_violation(v, where, script.id) for v in checker.check(text, script.emotions))
    for code, message, hint in _deadline_problems(script, text, policy) if policy else ():
        add("error", code, message, hint)
    return problems


def lint_faq(
    entry: FaqEntry, checker: ComplianceChecker, where: tuple[str, int], intents: Iterable[str]
) -> list[Problem]:
    problems = [_from_violation(v, where, entry.id) for v in checker.check(entry.answer)]
    if entry.intent not in set(intents):
        problems.append(
            Problem(
                where[0],
                where[1],
                "error",
                "intent.unknown",
                f"unknown intent {entry.intent}",
                "use an id from intents.yaml",
                entry.id,
            )
        )
    return problems


PROPOSAL_SUFFIX = "@proposal"  # problems of a pending revision never block the live entry from serving


def lint_entry(entry: Entry, library: Library, checker: ComplianceChecker | None = None) -> list[Problem]:
    """Problems of one script or FAQ entry as given (e.g. as it would be once its proposal is approved)."""
    checker = checker or ComplianceChecker(library.compliance)
    where = library.locations.get(entry.id, ("scripts_library", 1))
    if isinstance(entry, Script):
        return lint_script(entry, checker, where, library.intent_ids, library.escalation)
    return lint_faq(entry, checker, where, library.intent_ids)


def _lint_entries(library: Library, checker: ComplianceChecker) -> list[Problem]:
    problems: list[Problem] = []
    for entry in (*library.scripts, *library.faqs):
        if entry.status != "retired":
            problems.extend(lint_entry(entry, library, checker))
        if entry.proposal is not None:
            pending = [
                replace(p, entry_id=entry.id + PROPOSAL_SUFFIX) for p in lint_entry(entry.pending(), library, checker)
            ]
            problems.extend(pending)
    return problems


def _duplicate_ids(library: Library) -> list[Problem]:
    seen: dict[str, int] = defaultdict(int)
    for entry_id in [s.id for s in library.scripts] + [f.id for f in library.faqs]:
        seen[entry_id] += 1
    return [
        Problem(*library.locations[i], "error", "duplicate.id", f"id {i} is used {n} times", "make ids unique", i)
        for i, n in seen.items()
        if n > 1
    ]


def _near_duplicate_scripts(library: Library) -> list[Problem]:
    texts = [compact(s.template) for s in library.scripts]
    if len(texts) < 2:
        return []
    scores = process.cdist(texts, texts, scorer=fuzz.ratio, score_cutoff=NEAR_DUPLICATE_SCORE, workers=1)
    problems = []
    for i, j in zip(*scores.nonzero(), strict=True):
        if i < j:
            a, b = library.scripts[i], library.scripts[j]
            problems.append(
                Problem(
                    *library.locations[b.id],
                    "warning",
                    "duplicate.near",
                    f"nearly the same text as {a.id}",
                    "merge the two or make them differ",
                    b.id,
                )
            )
    return problems


def _examples_by_text(library: Library) -> dict[str, set[str]]:
    claims: dict[str, set[str]] = defaultdict(set)
    for intent in library.intents:
        for example in intent.examples:
            claims[compact(example)].add(intent.id)
    for script in library.scripts:
        for example in script.examples:
            claims[compact(example)].add(script.primary_intent)
    for entry in library.faqs:
        for question in entry.questions:
            claims[compact(question)].add(entry.intent)
    return claims


def _conflicting_examples(library: Library) -> list[Problem]:
    return [
        Problem(
            "scripts_library",
            1,
            "error",
            "duplicate.example",
            f"example “{text}” is claimed by intents {', '.join(sorted(intents))}",
            "keep it under one intent only",
        )
        for text, intents in _examples_by_text(library).items()
        if len(intents) > 1 and text
    ]


def lint_library(library: Library) -> list[Problem]:
    """Every problem in the library, errors first, in file order."""
    problems = _lint_entries(library, ComplianceChecker(library.compliance))
    problems.extend(_duplicate_ids(library))
    problems.extend(_near_duplicate_scripts(library))
    problems.extend(_conflicting_examples(library))
    return sorted(problems, key=lambda p: (p.severity != "error", p.file, p.line))


def servable_ids(library: Library, problems: Iterable[Problem]) -> set[str]:
    """Ids of approved scripts and FAQ entries without lint errors: the only ones the service may show."""
    blocked = {p.entry_id for p in problems if p.severity == "error" and p.entry_id}
    approved = [s.id for s in library.scripts if s.status == "approved"]
    approved += [f.id for f in library.faqs if f.status == "approved"]
    return {i for i in approved if i not in blocked}
