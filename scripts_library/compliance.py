"""Compliance checking of reply texts against the rules in ``compliance.yaml``.

Matching runs on a compacted, canonical form of the text (full/half width folded, Traditional →
Simplified, spaces/punctuation/symbols dropped), so ``不 可 能``, ``不.可.能`` and ``不可能`` all
match; ``fuzzy`` rules also catch near-spellings with rapidfuzz. Each violation carries the span
of the original text it covers, so an editor can highlight it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from scripts_library.schema import ComplianceFile, ComplianceRule
from scripts_library.text import canonical

_KEEP_SYMBOLS = frozenset("%")
_CLAUSE_END = re.compile(r"[，,。！？!?；;\n～~]")
_SALUTATIONS = frozenset({"亲", "亲亲", "亲爱的", "您好", "你好", "在的", "亲您好", "亲爱的顾客", "尊敬的顾客"})
MIN_FUZZY_LENGTH = 4


@dataclass(frozen=True)
class Violation:
    """A rule broken by a text; ``start``/``end`` index the original (unnormalised) text."""

    rule_id: str
    severity: str
    reason: str
    suggestion: str
    start: int
    end: int
    matched: str


@dataclass(frozen=True)
class _Compacted:
    text: str
    origin: tuple[int, ...]  # origin[i] = index in the original text of compact char i

    def span(self, start: int, end: int) -> tuple[int, int]:
        if not self.origin:
            return 0, 0
        return self.origin[min(start, len(self.origin) - 1)], self.origin[max(end - 1, start)] + 1


@lru_cache(maxsize=4096)
def _compact(text: str) -> _Compacted:
    chars: list[str] = []
    origin: list[int] = []
    for index, raw in enumerate(text):
        for ch in canonical(raw):
            if unicodedata.category(ch)[0] in "LN" or ch in _KEEP_SYMBOLS:
                chars.append(ch)
                origin.append(index)
    return _Compacted("".join(chars), tuple(origin))


class ComplianceChecker:
    """Checks texts against a loaded rule set; cheap to call, safe to share between threads."""

    def __init__(self, rules: ComplianceFile) -> None:
        self.rules = rules
        self._compiled = {rule.id: tuple(re.compile(expression) for expression in rule.regex) for rule in rules.rules}
        self._patterns = {rule.id: tuple(_compact(p).text for p in rule.patterns) for rule in rules.rules}
        self._literals = {rid: tuple(re.compile(re.escape(p)) for p in pats) for rid, pats in self._patterns.items()}
        self._exceptions = {rule.id: tuple(_compact(p).text for p in rule.exceptions) for rule in rules.rules}

    def check(self, text: str, emotions: Sequence[str] = (), forbidden_only: bool = False) -> list[Violation]:
        """All violations of ``text``; ``emotions`` are those the script is meant for.

        ``forbidden_only`` limits the check to wording rules, as used on rendered replies.
        """
        compacted = _compact(text)
        found: list[Violation] = []
        for rule in self.rules.rules:
            if rule.kind != "forbidden" and forbidden_only:
                continue
            if rule.emotions and not set(rule.emotions) & set(emotions):
                continue
            found.extend(self._check_rule(rule, text, compacted))
        return found

    def _check_rule(self, rule: ComplianceRule, text: str, compacted: _Compacted) -> Iterable[Violation]:
        if rule.kind == "forbidden":
            return self._forbidden(rule, compacted)
        if rule.kind == "require_any":
            hit = any(p in compacted.text for p in self._patterns[rule.id])
            return [] if hit else [self._violation(rule, compacted, 0, len(compacted.text), "")]
        if rule.kind == "opening":
            opening = _compact(_opening(text, self.rules.opening_chars)).text
            hit = any(p in opening for p in self._patterns[rule.id])
            return [] if hit else [self._violation(rule, compacted, 0, len(opening), "")]
        hit = any(expression.search(canonical(text)) for expression in self._compiled[rule.id])
        return [] if hit else [self._violation(rule, compacted, 0, len(compacted.text), "")]

    def _forbidden(self, rule: ComplianceRule, compacted: _Compacted) -> list[Violation]:
        masked = compacted.text
        for exception in self._exceptions[rule.id]:
            masked = masked.replace(exception, "\x00" * len(exception))
        found: list[Violation] = []
        for pattern, literal in zip(self._patterns[rule.id], self._literals[rule.id], strict=True):
            for match in literal.finditer(masked):
                found.append(self._violation(rule, compacted, match.start(), match.end(), match.group()))
            if rule.fuzzy and not found and len(pattern) >= MIN_FUZZY_LENGTH:
                found.extend(self._fuzzy(rule, compacted, masked, pattern))
        for expression in self._compiled[rule.id]:
            for match in expression.finditer(masked):
                found.append(self._violation(rule, compacted, match.start(), match.end(), match.group()))
        return found

    def _fuzzy(self, rule: ComplianceRule, compacted: _Compacted, masked: str, pattern: str) -> list[Violation]:
        alignment = fuzz.partial_ratio_alignment(pattern, masked, score_cutoff=self.rules.fuzzy_threshold)
        if alignment is None:
            return []
        start, end = alignment.dest_start, alignment.dest_end
        return [self._violation(rule, compacted, start, end, masked[start:end])]

    @staticmethod
    def _violation(rule: ComplianceRule, compacted: _Compacted, start: int, end: int, matched: str) -> Violation:
        span_start, span_end = compacted.span(start, end) if matched else (0, 0)
        return Violation(rule.id, rule.severity, rule.reason, rule.suggestion, span_start, span_end, matched)


def _opening(text: str, limit: int) -> str:
    """The first clause after any salutation (亲，/您好，): where an apology must come first."""
    clauses = [c.strip() for c in _CLAUSE_END.split(text) if c.strip()]
    while len(clauses) > 1 and clauses[0] in _SALUTATIONS:
        clauses.pop(0)
    return (clauses[0] if clauses else "")[:limit]
