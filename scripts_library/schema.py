"""The versioned schema of the scripts library: intents, emotions, reply scripts and FAQ entries."""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from scripts_library.text import shorthand_key
from scripts_library.vocabulary import EmotionId, PlatformId, Status

EntryPlatform = PlatformId | Literal["all"]
Stage = Literal["售前", "售中", "售后", "其他"]
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


def _check_variable_names(value: dict[str, Variable]) -> dict[str, Variable]:
    bad = [name for name in value if not re.match(VARIABLE_NAME, name)]
    if bad:
        raise ValueError(f"variable names must be lower_snake_case: {', '.join(bad)}")
    return value


PendingStatus = Literal["draft", "submitted", "rejected"]


class Proposal(Strict):
    """A pending revision of an approved entry: the live text keeps serving until an approver approves it."""

    status: PendingStatus = "draft"
    author: str
    updated_at: datetime | None = None
    comment: str | None = None  # the reviewer's last word on it (why it was rejected)
    based_on: int = Field(1, ge=1)  # the live version it revises


class ScriptContent(Strict):
    """What a trainer edits in a script (live or proposed)."""

    platforms: tuple[EntryPlatform, ...] = Field(min_length=1)
    emotions: tuple[EmotionId, ...] = Field(min_length=1)
    template: str = Field(min_length=1, max_length=1000)
    variables: dict[str, Variable] = Field(default_factory=dict)
    examples: tuple[str, ...] = Field(min_length=1)

    _platforms = field_validator("platforms")(_check_platforms)
    _variables = field_validator("variables")(_check_variable_names)


class FaqContent(Strict):
    """What a trainer edits in an FAQ entry (live or proposed)."""

    platforms: tuple[EntryPlatform, ...] = ("all",)
    questions: tuple[str, ...] = Field(min_length=1)
    answer: str = Field(min_length=1, max_length=1000)
    tags: tuple[str, ...] = ()

    _platforms = field_validator("platforms")(_check_platforms)


class ScriptProposal(ScriptContent, Proposal):
    pass


class FaqProposal(FaqContent, Proposal):
    pass


class Reviewed(Strict):
    """Workflow state shared by scripts and FAQ entries: draft → submitted → approved / rejected → retired.

    An approved entry is edited through a ``proposal`` beside its live content; ``pending`` is what review
    works on (the proposal, or the entry itself before its first approval) and ``state`` its status.
    """

    CONTENT: ClassVar[type[BaseModel]]
    proposal: Proposal | None

    status: Status = "draft"
    version: int = Field(1, ge=1)
    author: str
    approver: str | None = None
    approved_at: datetime | None = None
    updated_at: datetime | None = None
    retired_reason: str | None = None

    @model_validator(mode="after")
    def _approval_stamped(self) -> Reviewed:
        if self.status == "approved" and not (self.approver and self.approved_at):
            raise ValueError("an approved entry needs approver and approved_at (approve it through the workflow)")
        return self

    @property
    def state(self) -> str:
        """The review state: the proposal's status when one is pending, else the entry's own status."""
        return self.proposal.status if self.proposal else self.status

    @property
    def pending_author(self) -> str:
        return self.proposal.author if self.proposal else self.author

    def content(self) -> BaseModel:
        """The live editable content."""
        return self.CONTENT.model_validate({name: getattr(self, name) for name in self.CONTENT.model_fields})

    def pending(self) -> Reviewed:
        """The entry as it would be once its proposal is approved (itself when none is pending)."""
        if self.proposal is None:
            return self
        return self.model_copy(update={name: getattr(self.proposal, name) for name in self.CONTENT.model_fields})


class Script(ScriptContent, Reviewed):
    """A reply template the agent can send, with the customer messages it answers."""

    KIND: ClassVar[str] = "script"
    CONTENT: ClassVar[type[ScriptContent]] = ScriptContent

    id: str = Field(pattern=SCRIPT_ID)
    intents: tuple[str, ...] = Field(min_length=1)
    stage: Stage
    escalation: EscalationHint | None = None
    notes: str | None = None
    proposal: ScriptProposal | None = None

    @property
    def primary_intent(self) -> str:
        return self.intents[0]


class FaqEntry(FaqContent, Reviewed):
    """A customer question (in several phrasings) and the shop's answer."""

    KIND: ClassVar[str] = "faq"
    CONTENT: ClassVar[type[FaqContent]] = FaqContent

    id: str = Field(pattern=FAQ_ID)
    intent: str
    proposal: FaqProposal | None = None

    @property
    def primary_intent(self) -> str:
        return self.intent


Entry = Script | FaqEntry


class RewriteEntry(Strict):
    text: str = Field(min_length=1, max_length=20)
    means: str = Field(min_length=1, max_length=20)
    latin: bool = False
    not_after: str = ""

    @model_validator(mode="after")
    def _latin_is_latin(self) -> RewriteEntry:
        if self.latin and not re.fullmatch(r"[A-Za-z]+( [A-Za-z]+)*", self.text):
            raise ValueError(f"latin: true needs Latin words (full refund), not {self.text!r}")
        return self


class NormalizationFile(Strict):
    """Buyers' shorthand spelled out before classification, and the turns that only make sense with history."""

    schema_version: Literal[1]
    rewrites: tuple[RewriteEntry, ...] = ()
    follow_ups: tuple[str, ...] = ()
    topic_neutral: tuple[str, ...] = ()  # threats that say nothing about the topic: the intent is read without them
    before_buying: tuple[str, ...] = ()  # not bought yet: installation or authenticity asked now is a pre-sale question
    disclaimers: tuple[str, ...] = ()  # heat taken back or disclaimed (开玩笑的, 我就问问): the turn is not angry
    complaint_denials: tuple[str, ...] = ()  # 不是投诉你们: not angry, and no service complaint
    merchant_side: tuple[str, ...] = ()  # the writer is a merchant or courier (我是商家): the intent is other
    anything_else: tuple[str, ...] = ()  # the agent asks if there is anything else (还有其他可以帮您的吗)
    closings: tuple[str, ...] = ()  # replies to it that end the chat (没了, 不用了): the intent is thanks

    @field_validator("rewrites")
    @classmethod
    def _one_entry_per_shorthand(cls, rewrites: tuple[RewriteEntry, ...]) -> tuple[RewriteEntry, ...]:
        seen: dict[str, str] = {}
        for rewrite in rewrites:
            key = shorthand_key(rewrite.text)
            if key in seen:
                raise ValueError(f"{rewrite.text!r} repeats {seen[key]!r}: one entry per shorthand, delete one")
            seen[key] = rewrite.text
        return rewrites


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
    """When to hand a conversation to a team: a pattern in the message (not negated), and optionally a topic,
    a claim rather than a question, a mood, and an amount. See escalation.yaml for the policy in words."""

    id: str
    team: str
    reason: str
    respond_within_minutes: int = Field(gt=0)
    patterns: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    # groups of regexes that count only together, each found somewhere in the message (20罐 … 按食品安全法十倍)
    together: tuple[tuple[str, ...], ...] = ()
    ignore_within: tuple[str, ...] = ()  # longer words a mention may sit in without counting (律师事务所, 报警器)
    intents: tuple[str, ...] = ()  # with ``require_both``: the topic must be one of these too
    require_both: bool = False
    primary_topic_only: bool = False  # with ``require_both``: this turn's main topic and words, not earlier turns
    claims_only: bool = False  # a calm question about it ("真的假一赔十吗") is not a claim
    unless_emotions: tuple[EmotionId, ...] = ()  # a compliment is not a complaint
    unless_said: tuple[str, ...] = ()  # the message says it is something else: 还没买 (a question before buying)
    praise_needs_question: bool = False  # a positive message counts only when it also asks for something
    unless_handoff: bool = False  # not when the customer also asks for a person (机器人听不懂 转人工)
    amount: Literal["any", "high"] = "any"  # high: the order's amount reaches the high-value threshold
    full_value_patterns: tuple[str, ...] = ()  # with amount high and no amount known: these still count

    @model_validator(mode="after")
    def _has_condition(self) -> EscalationRule:
        if not (self.patterns or self.regex or self.together):
            raise ValueError("an escalation rule needs patterns, regex or together: a topic alone never escalates")
        if any(len(group) < 2 for group in self.together):
            raise ValueError("each `together` group needs two or more regexes; a single one belongs in `regex`")
        if self.require_both and not self.intents:
            raise ValueError("require_both needs intents")
        if self.primary_topic_only and not self.require_both:
            raise ValueError("primary_topic_only narrows require_both's topic check: set require_both and intents")
        for expression in (*self.regex, *(e for group in self.together for e in group)):
            try:
                re.compile(expression)
            except re.error as exc:
                raise ValueError(f"bad regex {expression!r}: {exc}") from exc
        return self


NO_TEAM = "none"  # the label of an escalation example that needs no team (team: null in the file)


class EscalationExample(Strict):
    """A customer turn and the team it goes to (``None``: it needs no team), for the learned backstop."""

    text: str = Field(min_length=1)
    team: str | None = None
    source: str = Field("", description="who wrote it, so a writer can be left out when choosing the threshold")

    @property
    def label(self) -> str:
        """What the backstop learns for this turn: its team, or NO_TEAM."""
        return self.team or NO_TEAM


class EscalationExampleFile(Strict):
    schema_version: Literal[1]
    examples: tuple[EscalationExample, ...] = ()


class EscalationFile(Strict):
    schema_version: Literal[1]
    rules: tuple[EscalationRule, ...] = Field(min_length=1)
    handoff_patterns: tuple[str, ...] = ()  # the customer asks for a person: a routing hint, not an escalation

    def teams(self) -> tuple[str, ...]:
        """The teams the rules route to, sorted: the only teams an escalation example may name."""
        return tuple(sorted({rule.team for rule in self.rules}))
