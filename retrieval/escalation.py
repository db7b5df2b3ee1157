"""Escalation decisions from the policy in ``escalation.yaml``: precise enough that agents keep trusting them.

A rule fires on a mention in the current message that is not negated (我不会投诉的, 不是假货吧), is a claim
where the rule needs one (a calm "真的假一赔十吗" asks), in a topic and mood the rule allows, and for
an order worth enough where the rule is about value. Rules are ordered most specific first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from scripts_library.schema import EscalationFile, EscalationRule
from scripts_library.text import canonical, compact

_CLAUSE = re.compile(r"[^，,。.！!？?；;\s]+[？?]?")
_LATIN_SPACE = re.compile(r"(?<=[a-z]) +(?=[a-z])")  # "bad service" is one clause
# denials, and someone else's words (朋友说可以打12315) or a threat taken back (说要去12315是我太冲动了)
_PRE_NEGATORS = (
    "不会",
    "不是",
    "不想",
    "不打算",
    "没打算",
    "不至于",
    "不用",
    "并不",
    "没想",
    "不要",
    "不去",
    "没必要",
    "没说",
    "别家",
    "朋友说",
    "老公说",
    "老婆说",
    "我妈说",
    "家里人说",
    "别人说",
    "有人说",
)
_POST_NEGATORS = ("不搞", "不会", "算了", "就算了", "没必要", "不至于", "不考虑", "太冲动", "冲动了", "开玩笑")
_TAKEN_BACK = ("不至于", "没必要", "开玩笑")  # a clause taking back the one before it: 报警？不至于
_NEGATING_CHARS = frozenset("不没别")
_QUESTION_ENDINGS = ("吗", "么", "呢")
_QUESTION_WORDS = (  # a clause that asks — or requests, as 想约个师傅 does
    "多久",
    "如何",
    "在哪",
    "哪里",
    "怎么",
    "能否",
    "是否",
    "可不可以",
    "能不能",
    "有没有",
    "什么时候",
    "区别",
    "什么流程",
    "约下",
    "帮约",
    "约一下",
    "派人",
    "几天",
    "几号",
    "的还是",
    "想约",
    "预约",
    "约个",
    "谁来",
    "找谁",
    "麻烦约",
    "安排师傅",
)
# a supposition or a second-hand report is no claim: 如果收到的是假的; 朋友说可能是假的; 全额退款的话…
_HEDGES = ("如果", "万一", "假如", "要是", "的话", "可能是", "朋友说", "听说", "问一下", "担心", "怕是")
_REPORTED = re.compile(r"(朋友|同事|别人|有人|网上|闺蜜|室友|邻居).{0,10}说")  # 朋友买了你们家的说是假的: hearsay
# these make a clause a claim however it ends: 说好的全额退款呢, 凭什么扣我钱？ and 敷衍谁呢 do not ask
_RHETORICAL = ("说好的", "凭什么", "凭啥", "糊弄谁", "敷衍谁", "骗谁", "忽悠谁")
# said anywhere, these make the whole turn a question: 假一赔十怎么申请 我就问问
_TURN_HEDGES = ("就问问", "就是问问", "只是问问", "随便问问", "问问而已", "没别的意思")
_PRAISED = ("好", "很好", "挺好", "超好", "真好", "不错", "还行", "还可以", "没得说")  # 客服态度挺好的 ends praising
_BEFORE_CHARS, _AFTER_CHARS = 6, 7  # how far a negating word reaches: 我又不是要去12315; 12315 我觉得没必要


@dataclass(frozen=True)
class Escalation:
    required: bool
    team: str | None = None
    reason: str | None = None
    respond_within_minutes: int | None = None
    rule_id: str | None = None


NO_ESCALATION = Escalation(required=False)
LEARNED_RULE_ID = "learned_backstop"  # no rule fired; the model trained on escalation_examples.yaml did
LEARNED_REASON = "无规则命中，但模型判断与以往需转{team}处理的对话相似，请核实后转{team}"
# Moods in which only a rule escalates: a calm or pleased customer who needs a team says so in words a rule knows
# (装空调, 假一赔十), while the model's guesses on calm questions are mostly false alarms (上门维修要等几天).
_RULES_ONLY_MOODS = frozenset({"neutral", "positive"})


@dataclass(frozen=True)
class Clause:
    """One clause of a message, compacted; whether the customer asked it as a question, and whether it only
    supposes or asks in passing (如果…, 我就问问): no claim, however heated the turn."""

    text: str
    question: bool
    hedged: bool = False


def clauses(message: str) -> list[Clause]:
    found = []
    for piece in _CLAUSE.findall(_LATIN_SPACE.sub("", canonical(message))):
        text = compact(piece)
        if text:
            asked = piece.endswith(("?", "？")) or text.endswith(_QUESTION_ENDINGS)
            asked = (asked or any(word in text for word in _QUESTION_WORDS)) and not any(r in text for r in _RHETORICAL)
            hedged = any(hedge in text for hedge in _HEDGES) or _REPORTED.search(text) is not None
            found.append(Clause(text, asked or hedged, hedged))
    found = _with_takebacks(found)
    if any(hedge in c.text for c in found for hedge in _TURN_HEDGES):
        return [Clause(c.text, True, True) for c in found]
    return found


def _with_takebacks(found: list[Clause]) -> list[Clause]:
    """A clause taking back the one before it (报警？不至于; 12315？没必要) joins it: the mention reads negated."""
    joined: list[Clause] = []
    for clause in found:
        if joined and clause.text.startswith(_TAKEN_BACK):
            before = joined.pop()
            asked, hedged = before.question or clause.question, before.hedged or clause.hedged
            clause = Clause(before.text + clause.text, asked, hedged)
        joined.append(clause)
    return joined


def asks_yes_or_no(clause: Clause) -> bool:
    """能全额退吗, 全额退款的话要寄回吗: a question about what is possible, not a demand."""
    return clause.text.endswith(("吗", "么")) or clause.hedged


def negated(text: str, start: int, end: int) -> bool:
    """Whether the mention at ``text[start:end]`` is denied: 我不会投诉的, 不是假货吧, 曝光啥的我不搞."""
    before, after = text[max(0, start - _BEFORE_CHARS) : start], text[end : end + _AFTER_CHARS]
    if text[:start].endswith(("是不是", "是不", "会不会")):  # 是不是假货: a question, not a denial
        return False
    if before and before[-1] in _NEGATING_CHARS:
        return True
    if text[end:].rstrip("的啊呀哈") in _PRAISED:  # the clause ends praising what was mentioned
        return True
    return any(n in before for n in _PRE_NEGATORS) or any(after.startswith(n) or n in after for n in _POST_NEGATORS)


@dataclass(frozen=True)
class Situation:
    """What a decision looks at besides the message: the turn's topics (primary first), mood, the order's value."""

    intents: Sequence[str]
    emotion: str
    amount: float | None = None  # 元, from the message, earlier turns or the order context
    high_value_yuan: float = 500.0  # the threshold of rules about an order's value (a setting)


class EscalationPolicy:
    """The first matching rule decides."""

    def __init__(self, policy: EscalationFile) -> None:
        self.teams = policy.teams()
        self._rules = [(rule, _Matcher(rule.patterns, rule.regex, rule.ignore_within)) for rule in policy.rules]
        self._together = {
            rule.id: tuple(tuple(_Matcher((), (e,), rule.ignore_within) for e in group) for group in rule.together)
            for rule in policy.rules
        }
        self._full_value = {rule.id: _Matcher(rule.full_value_patterns, ()) for rule in policy.rules}
        self._unless_said = {rule.id: _Matcher(rule.unless_said, ()) for rule in policy.rules}
        self._handoff = _Matcher(policy.handoff_patterns, ())

    def handoff_requested(self, message: str) -> bool:
        """The customer asks for a person (转人工): a routing hint for the console, never an escalation."""
        return self._handoff.said(clauses(message))

    @staticmethod
    def rules_only(situation: Situation) -> bool:
        """Whether only a rule may escalate this turn: a calm or pleased one (the backstop need not be asked)."""
        return situation.emotion in _RULES_ONLY_MOODS

    def learned(self, team: str, message: str, situation: Situation) -> Escalation:
        """The learned backstop's escalation to ``team``, where the policy's own conditions allow one: never for
        a calm or pleased turn, a request for a person, a turn that says it is something else (any rule's
        ``unless_said``: 不是投诉你们, 冤枉你们了), or a small order where the team only takes high-value disputes."""
        own = clauses(message)
        team_rules = [rule for rule, _ in self._rules if rule.team == team]
        small_order = situation.amount is not None and situation.amount < situation.high_value_yuan
        if (
            not team_rules
            or self.rules_only(situation)
            or self._handoff.said(own)
            or any(matcher.said(own) for matcher in self._unless_said.values())
            or (small_order and all(rule.amount == "high" for rule in team_rules))
        ):
            return NO_ESCALATION
        deadline = min(rule.respond_within_minutes for rule in team_rules)
        return Escalation(True, team, LEARNED_REASON.format(team=team), deadline, LEARNED_RULE_ID)

    def decide(self, message: str, situation: Situation, earlier: Sequence[str] = ()) -> Escalation:
        """``earlier``: the customer's recent turns, read only by rules that also check the conversation's topic."""
        own = clauses(message)
        with_earlier = [c for turn in earlier for c in clauses(turn)] + own
        for rule, matcher in self._rules:
            if self._unless_said[rule.id].said(own) or (rule.unless_handoff and self._handoff.said(own)):
                continue
            reads_earlier = rule.require_both and not rule.primary_topic_only  # the main topic: this turn's words
            if self._matches(rule, matcher, with_earlier if reads_earlier else own, situation):
                return Escalation(True, rule.team, rule.reason, rule.respond_within_minutes, rule.id)
        return NO_ESCALATION

    def _matches(self, rule: EscalationRule, matcher: _Matcher, parts: list[Clause], situation: Situation) -> bool:
        if situation.emotion in rule.unless_emotions:
            return False
        if rule.praise_needs_question and situation.emotion == "positive" and not any(c.question for c in parts):
            return False
        topics = situation.intents[:1] if rule.primary_topic_only else situation.intents
        if rule.require_both and not any(i in rule.intents for i in topics):
            return False
        said = [c for c in parts if matcher.mentions(c)] + self._found_together(rule, parts)
        full_value = self._full_value[rule.id]
        if rule.claims_only:  # a hostile question is a claim all the same; a supposition never is
            said = [c for c in said if not c.hedged and (situation.emotion == "angry" or not c.question)]
        if situation.emotion != "angry":  # 能全额退吗 asks
            said = [c for c in said if not (asks_yes_or_no(c) and full_value.mentions(c))]
        if not said:
            return False
        if rule.amount == "high":
            if situation.amount is None:  # 全额退款 demanded, not asked about (全额退款的话要寄回吗)
                return any(full_value.mentions(c) and not c.question for c in said)
            return situation.amount >= situation.high_value_yuan
        return True

    def _found_together(self, rule: EscalationRule, parts: list[Clause]) -> list[Clause]:
        """The clauses holding a ``together`` group's expressions, when every one of them is found."""
        found: list[Clause] = []
        for group in self._together[rule.id]:
            holders = [[c for c in parts if m.mentions(c)] for m in group]
            if all(holders):
                found += [c for clauses_of in holders for c in clauses_of if c not in found]
        return found


class _Matcher:
    """Patterns and regexes over compacted clauses, ignoring negated mentions and mentions inside longer words
    that mean something else (``ignore_within``: 律师 in 律师事务所, 报警 in 报警器)."""

    def __init__(self, patterns: Sequence[str], regex: Sequence[str], ignore_within: Sequence[str] = ()) -> None:
        self._patterns = tuple(p for p in (compact(p) for p in patterns) if p)
        self._regex = tuple(re.compile(r) for r in regex)
        self._ignore = tuple(w for w in (compact(w) for w in ignore_within) if w)

    def said(self, parts: Sequence[Clause]) -> bool:
        return any(self.mentions(c) for c in parts)

    def mentions(self, clause: Clause) -> bool:
        text = clause.text
        for pattern in self._patterns:
            start = text.find(pattern)
            while start >= 0:
                if self._counts(text, start, start + len(pattern)):
                    return True
                start = text.find(pattern, start + 1)
        return any(
            self._counts(text, m.start(), m.end()) for expression in self._regex for m in expression.finditer(text)
        )

    def _counts(self, text: str, start: int, end: int) -> bool:
        return not negated(text, start, end) and not any(
            w.start() < end and start < w.end() for word in self._ignore for w in re.finditer(re.escape(word), text)
        )
