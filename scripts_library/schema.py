"""The versioned schema of the scripts library: intents, emotions, reply scripts and FAQ entries."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

EmotionId = Literal["angry", "anxious", "dissatisfied", "neutral", "positive"]
PlatformId = Literal["tmall", "taobao", "jd", "pdd", "all"]
Stage = Literal["售前", "售中", "售后", "其他"]
Status = Literal["draft", "submitted", "approved", "rejected", "retired"]

EMOTIONS: tuple[str, ...] = ("angry", "anxious", "dissatisfied", "neutral", "positive")
PLATFORMS: tuple[str, ...] = ("tmall", "taobao", "jd", "pdd")
SCRIPT_ID = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"
FAQ_ID = r"^faq(\.[a-z0-9_]+)+$"
VARIABLE_NAME = r"^[a-z][a-z0-9_]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Intent(Strict):
    id: str = Field(pattern=r"^[a-z][a-z_]*$")
    name: str
    stage: str
    description: str = ""
    examples: tuple[str, ...] = Field(min_length=1)


class Emotion(Strict):
    id: EmotionId
    name: str
    description: str = ""
    examples: tuple[str, ...] = Field(min_length=1)


class Variable(Strict):
    label: str
    default: str | None = None

    @field_validator("default", mode="before")
    @classmethod
    def _stringify(cls, value: object) -> object:
        return value if value is None or isinstance(value, str) else str(value)


class EscalationHint(Strict):
    team: str
    respond_within_minutes: int = Field(gt=0)


def _check_platforms(platforms: tuple[str, ...]) -> tuple[str, ...]:
    if "all" in platforms and len(platforms) > 1:
        raise ValueError("use either [all] or a list of platforms, not both")
    return platforms


class Script(Strict):
    """A reply template the agent can send, with the customer messages it answers."""

    id: str = Field(pattern=SCRIPT_ID)
    intents: tuple[str, ...] = Field(min_length=1)
    emotions: tuple[EmotionId, ...] = Field(min_length=1)
    stage: Stage
    platforms: tuple[PlatformId, ...] = Field(min_length=1)
    template: str = Field(min_length=1, max_length=1000)
    variables: dict[str, Variable] = Field(default_factory=dict)
    examples: tuple[str, ...] = Field(min_length=1)
    status: Status = "draft"
    version: int = Field(1, ge=1)
    author: str
    approver: str | None = None
    approved_at: datetime | None = None
    updated_at: datetime | None = None
    escalation: EscalationHint | None = None
    notes: str | None = None

    _platforms = field_validator("platforms")(_check_platforms)

    @field_validator("variables")
    @classmethod
    def _variable_names(cls, value: dict[str, Variable]) -> dict[str, Variable]:
        bad = [name for name in value if not re.match(VARIABLE_NAME, name)]
        if bad:
            raise ValueError(f"variable names must be lower_snake_case: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _approval_stamped(self) -> Script:
        if self.status == "approved" and not (self.approver and self.approved_at):
            raise ValueError("an approved script needs approver and approved_at (use `approve`)")
        return self

    @property
    def primary_intent(self) -> str:
        return self.intents[0]


class FaqEntry(Strict):
    """A customer question (in several phrasings) and the shop's answer."""

    id: str = Field(pattern=FAQ_ID)
    intent: str
    questions: tuple[str, ...] = Field(min_length=1)
    answer: str = Field(min_length=1, max_length=1000)
    platforms: tuple[PlatformId, ...] = ("all",)
    tags: tuple[str, ...] = ()
    status: Status = "approved"
    version: int = Field(1, ge=1)

    _platforms = field_validator("platforms")(_check_platforms)


class IntentFile(Strict):
    schema_version: Literal[1]
    intents: tuple[Intent, ...] = Field(min_length=1)


class EmotionFile(Strict):
    schema_version: Literal[1]
    emotions: tuple[Emotion, ...] = Field(min_length=1)


Severity = Literal["error", "warning"]
RuleKind = Literal["forbidden", "require_any", "opening", "require_regex"]


class ComplianceRule(Strict):
    """One wording rule. ``forbidden`` rules also re-check rendered replies at serving time."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_.]*$")
    kind: RuleKind
    severity: Severity
    reason: str
    suggestion: str
    patterns: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()
    fuzzy: bool = False
    emotions: tuple[EmotionId, ...] = ()

    @model_validator(mode="after")
    def _has_matcher(self) -> ComplianceRule:
        if not (self.patterns or self.regex):
            raise ValueError("a rule needs patterns or regex")
        for expression in self.regex:
            try:
                re.compile(expression)
            except re.error as exc:
                raise ValueError(f"bad regex {expression!r}: {exc}") from exc
        return self


class ComplianceFile(Strict):
    schema_version: Literal[1]
    fuzzy_threshold: float = Field(80.0, ge=50, le=100)
    opening_chars: int = Field(24, ge=4)
    rules: tuple[ComplianceRule, ...] = Field(min_length=1)


class EscalationRule(Strict):
    """Escalate when the intent is one of ``intents`` and/or the message contains a pattern."""

    id: str
    team: str
    reason: str
    respond_within_minutes: int = Field(gt=0)
    intents: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    require_both: bool = False

    @model_validator(mode="after")
    def _has_condition(self) -> EscalationRule:
        if not (self.intents or self.patterns):
            raise ValueError("an escalation rule needs intents or patterns")
        return self


class EscalationFile(Strict):
    schema_version: Literal[1]
    rules: tuple[EscalationRule, ...] = Field(min_length=1)
