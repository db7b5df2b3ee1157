"""Text normalisation shared by classification, retrieval, compliance and log redaction.

Real customer turns are short, noisy and masked (see ../shared/domain/real_traffic.md): full-width
characters, Traditional characters, repeated punctuation that carries emotion, console boilerplate
(order cards), several messages joined by spaces, and PII. ``normalize`` turns such a turn into one
canonical text plus the signals that normalisation would otherwise throw away.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import opencc

_T2S = opencc.OpenCC("t2s")

# PII patterns, most specific first. Placeholders mirror the masking tokens of real logs.
_PII_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("邮箱", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("身份证号", re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")),
    ("电话", re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")),
    ("电话", re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)")),
    ("链接", re.compile(r"https?://\S+")),
    ("订单", re.compile(r"(?<![\dA-Za-z])[A-Za-z]{0,4}\d{10,}(?![\dA-Za-z])")),
    (
        "地址",
        re.compile(
            r"[\u4e00-\u9fa5]{2,12}(?:省|市|自治区)[\u4e00-\u9fa5\dA-Za-z\-]{0,30}"
            r"(?:区|县|镇|街道|路|街|巷|村|小区|号|栋|幢|单元|室)[\u4e00-\u9fa5\dA-Za-z\-#]{0,20}"
        ),
    ),
    ("姓名", re.compile(r"(?:(?<=我叫)|(?<=收件人)|(?<=收货人)|(?<=名字是)|(?<=姓名)|(?<=姓名:))[\u4e00-\u9fa5]{2,3}")),
)
# Masks already present in platform logs: [订单x], [数字1], [姓名x] … and system tokens.
_LOG_MASK = re.compile(r"\[(数字|订单|金额|姓名|日期|时间|地址|电话|链接|站点|组织机构|身份证号|邮箱)[^\]]{0,3}\]")
_SYSTEM_TOKEN = re.compile(r"\[(商品快照|图片|表情|视频|语音|文件|卡片)\]")
# Order cards and similar console boilerplate: "订单编号:123 订单金额:45.00 下单时间:2024-01-01 10:00".
_BOILERPLATE = re.compile(
    r"(订单编号|订单号|咨询订单号|订单金额|下单时间|商品ID|商品id|售后服务单号|服务单号)\s*[:：]\s*"
    r"(\[[^\]]*\]|[\w\-./: ]{1,40}?)(?=\s|$|订单|下单|商品|售后)"
)
_CLICK_PREFIX = re.compile(r"^通过点击[^,，。\s]{0,30}进入\S*\s*")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200f\u2028-\u202f\u2060\ufeff]")
_EXCLAIM_RUN = re.compile(r"!{2,}")
_QUESTION_RUN = re.compile(r"\?{2,}")
_OTHER_PUNCT_RUN = re.compile(r"([.,~。、…])\1+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class NormalizedMessage:
    """A canonical form of one customer turn and the signals kept from the raw text."""

    text: str
    exclamations: int = 0
    questions: int = 0
    repeated_segments: int = 0
    extracted: dict[str, tuple[str, ...]] = field(default_factory=dict)


@lru_cache(maxsize=8192)
def canonical(text: str) -> str:
    """NFKC (full/half width), Traditional → Simplified, lower case, no control or zero-width chars."""
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH.sub("", text)
    text = "".join(ch if ch.isprintable() or ch == " " else " " for ch in text)
    return _T2S.convert(text).lower()


def compact(text: str) -> str:
    """Canonical text with spaces, punctuation and symbols removed: defeats 不 可 能 / 不.可.能 tricks."""
    return "".join(ch for ch in canonical(text) if unicodedata.category(ch)[0] in "LN")


def redact(text: str) -> str:
    """Replace phones, order numbers, ID numbers, e-mails, addresses and names by placeholders."""
    for kind, pattern in _PII_PATTERNS:
        text = pattern.sub(f"[{kind}]", text)
    return text


def extract_pii(text: str) -> dict[str, tuple[str, ...]]:
    """The PII values a text carries, by kind (order ids are useful as template variables)."""
    found: dict[str, tuple[str, ...]] = {}
    for kind, pattern in _PII_PATTERNS:
        values = tuple(m.group(0) for m in pattern.finditer(text))
        if values:
            found[kind] = found.get(kind, ()) + values
    return found


def _dedupe_segments(text: str) -> tuple[str, int]:
    segments = [s for s in text.split(" ") if s]
    kept: list[str] = []
    for segment in segments:
        if segment not in kept:
            kept.append(segment)
    return " ".join(kept), len(segments) - len(kept)


_CHINESE_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CHINESE_UNITS = {"十": 10, "百": 100, "千": 1_000}


def chinese_number(text: str) -> int | None:
    """三千 → 3000, 两百五 → 250, 一万二千 → 12000; None when it is not a number."""
    total, section, digit = 0, 0, 0
    for char in text:
        if char in _CHINESE_DIGITS:
            digit = _CHINESE_DIGITS[char]
        elif char in _CHINESE_UNITS:
            section += (digit or 1) * _CHINESE_UNITS[char]
            digit = 0
        elif char == "万":
            total += (section + digit) * 10_000
            section, digit = 0, 0
        else:
            return None
    value = total + section + digit
    return value or None


@dataclass(frozen=True)
class Rewrite:
    """One shorthand buyers type and what it means: ``tk`` → ``退款``, ``米有`` → ``没有``.

    ``latin`` entries match only as whole Latin words (``tk`` in "tk了吗", not inside "stock"), and their words
    may be typed apart or together: pinyin comes both ways ("tui kuan" also matches "tuikuan");
    ``not_after`` lists characters that must not come right before the match ("1.8米有吗" keeps its 米有).
    """

    source: str
    target: str
    latin: bool = False
    not_after: str = ""


class Rewriter:
    """Applies a table of rewrites in one pass, longest source first."""

    def __init__(self, rewrites: Sequence[Rewrite]) -> None:
        self._by_source = {shorthand_key(r.source): r for r in rewrites}
        longest_first = sorted(rewrites, key=lambda r: len(shorthand_key(r.source)), reverse=True)
        latin = [r"\s*".join(map(re.escape, canonical(r.source).split())) for r in longest_first if r.latin]
        other = [re.escape(canonical(r.source)) for r in longest_first if not r.latin]
        # One group for the Latin words, tried first where a match starts with a letter (no other source does):
        # one lookbehind for all of them is much cheaper than one each
        alternatives = ([rf"(?<![a-z])(?:{'|'.join(latin)})(?![a-z])"] if latin else []) + other
        self._pattern = re.compile("|".join(alternatives)) if alternatives else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text

        def replace(match: re.Match[str]) -> str:
            rewrite = self._by_source[_joined(match.group(0))]
            before = text[match.start() - 1] if match.start() else ""
            if before and before in rewrite.not_after:
                return match.group(0)
            return rewrite.target

        return self._pattern.sub(replace, text)


def shorthand_key(source: str) -> str:
    """The one spelling a shorthand is known by: canonical, its words run together (tui kuan = tuikuan)."""
    return _joined(canonical(source))


def _joined(text: str) -> str:
    return "".join(text.split())


NO_REWRITES = Rewriter(())


SPELLED_OUT_MIN_TOKENS = 4


def join_spelled_out(text: str) -> str:
    """A turn typed one character at a time ("8 9 9 的 吹 风 机 不 给 退") read as the words it spells; other
    spaces, which separate a turn's clauses, stay."""
    tokens = text.split()
    single = sum(len(t) == 1 and (t.isdigit() or "\u4e00" <= t <= "\u9fff") for t in tokens)
    if len(tokens) >= SPELLED_OUT_MIN_TOKENS and single >= 0.8 * len(tokens):
        return "".join(tokens)
    return text


def normalize(raw: str, rewrite: Rewriter = NO_REWRITES) -> NormalizedMessage:
    """Canonicalise one customer turn; strip boilerplate and PII; spell out shorthand; keep punctuation signals."""
    text = canonical(raw)
    extracted = extract_pii(text)
    text = _CLICK_PREFIX.sub("", text)
    text = _BOILERPLATE.sub(" ", text)
    text = _SYSTEM_TOKEN.sub(" ", text)
    text = _LOG_MASK.sub(lambda m: f"[{m.group(1)}]", text)
    text = rewrite(redact(join_spelled_out(text)))
    exclamations = text.count("!")
    questions = text.count("?")
    text = _EXCLAIM_RUN.sub("!!", text)
    text = _QUESTION_RUN.sub("??", text)
    text = _OTHER_PUNCT_RUN.sub(r"\1", text)
    text, repeats = _dedupe_segments(_SPACES.sub(" ", text).strip())
    return NormalizedMessage(text, exclamations, questions, repeats, extracted)
