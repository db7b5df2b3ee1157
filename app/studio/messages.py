"""The studio's and the console's wording, in Chinese, keyed by the stable English codes.

One catalogue for every screen: names of the closed vocabularies (from ``scripts_library.vocabulary``),
error codes of the API and the studio, the workflow's refusal codes (``EditRefused.code``), lint problem
codes and schema errors. The API keeps its English codes and messages; the pages and their fetch calls
show these. ``catalogue_keys`` lists every key, so a test can scan rendered pages for one left untranslated.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scripts_library.loader import Problem
from scripts_library.schema import NO_TEAM
from scripts_library.vocabulary import (
    EMOTION_NAMES,
    FEEDBACK_ACTION_NAMES,
    PLATFORM_NAMES,
    ROLE_NAMES,
    STATUS_NAMES,
)

KIND_NAMES = {"script": "话术", "faq": "常见问题"}

# Errors of the JSON API, the studio's calls and its sessions: code → message ({name} filled from params).
ERRORS: dict[str, str] = {
    "bad_request": "请求有误，请刷新页面后重试。",
    "unauthorized": "登录已过期，请重新登录。",
    "forbidden": "您的角色（{role}）不能进行此操作，需要{needed}及以上角色。",
    "csrf_failed": "页面已过期（安全校验未通过），请刷新页面后重试。",
    "login_expired": "登录表单已过期，请重新输入。",
    "not_found": "找不到这个页面。",
    "method_not_allowed": "不支持这种请求方式。",
    "conflict": "与他人的修改冲突，请刷新后重试。",
    "payload_too_large": "提交的内容太长了。",
    "unsupported_media_type": "请求格式不受支持。",
    "invalid_request": "提交的内容不完整或格式不对{fields}。",
    "rate_limited": "操作太频繁了，请稍候再试。",
    "unavailable": "服务暂时不可用，请稍后重试。",
    "internal_error": "服务器出错了，已记录日志，请稍后重试。",
    "error": "出错了，请稍后重试。",
    "unknown_request": "找不到这条推荐记录，请让顾客消息重新获取建议。",
    "not_suggested": "这条话术不在本次推荐中。",
    "store_unavailable": "暂时无法保存，请稍后重试。",
    "unknown_audit": "找不到这条审计记录，或它不属于「{id}」。",
    "unknown_correction": "找不到这条纠正，可能已被他人处理。",
    "invalid_script": "保存后话术将无法加载，未保存：{detail}",
    "wrong_kind": "「{id}」是{kind}，请用对应的编辑器。",
    "artifact_rejected": "新索引未通过校验，仍在使用旧索引。",
    "nothing_chosen": "请至少选择一项（意图、情绪或升级）加入示例。",
    "unknown_team": "没有「{team}」这个升级团队，请从列表中选择。",
}

# The workflow's refusals (``EditRefused.code``, also raised by the studio's pages): what happened, what to do.
REFUSALS: dict[str, str] = {
    "unknown_entry": "找不到话术或常见问题「{id}」。",
    "unknown_intent": "没有「{intent}」这个意图，请从列表中选择。",
    "unknown_emotion": "没有「{emotion}」这种情绪，请从列表中选择。",
    "exists": "「{id}」已经存在，请换一个英文标识。",
    "example_exists": "“{text}”已经是「{label}」的示例了。",
    "stale_edit": "「{id}」在您打开之后已被他人修改；请对比两个版本后再保存。",
    "retired": "「{id}」已下线，请先让审核人撤销下线再修改。",
    "wrong_state": "「{id}」当前是「{state}」，不能进行此操作。",
    "lint_errors": "检查发现错误，不能提交或审核：{problems}",
    "four_eyes": "这一版由 {author} 编写，需由另一位审核人处理（四眼原则）。",
    "own_correction": "这条纠正由 {author} 提出，需由另一位审核人采纳（四眼原则）。",
    "needs_approver": "此操作需要审核或管理员角色，请联系审核人。",
    "needs_reason": "请写明原因：驳回时作者需要知道改什么，下线时团队需要知道为什么。",
    "empty_example": "去掉个人信息后这条消息没有内容，不能作为示例。",
    "duplicate_example": "“{text}”已经是「{owner}」的示例，一条示例只能属于一个{kind}。",
}


@dataclass(frozen=True)
class LintWording:
    """Chinese wording of one lint code; the patterns pull the particulars out of the linter's English text."""

    message: str
    hint: str
    message_pattern: str = ""
    hint_pattern: str = ""
    summary: str = ""  # the message when its particulars cannot be read (default: its text before them)


LINT: dict[str, LintWording] = {
    "intent.unknown": LintWording(
        "未知意图：{items}", "请使用 intents.yaml 中已有的意图", r"unknown intents?(?:\(s\))?:? (?P<items>.+)"
    ),
    "template.unsafe": LintWording("正文含有不允许的模板写法", "正文只能写文字和 {{ 变量名 }}"),
    "template.undeclared": LintWording(
        "正文用到了未声明的变量：{items}", "在「变量」中添加它们，写上说明和默认值", r"declared: (?P<items>.+)"
    ),
    "template.unused": LintWording(
        "声明了但正文没有用到的变量：{items}", "删除这些变量，或在正文中用上", r"variables: (?P<items>.+)"
    ),
    "escalation.unknown_team": LintWording(
        "升级团队「{team}」不在 escalation.yaml 中", "使用 escalation.yaml 中已有的团队", r"team (?P<team>.+) is not"
    ),
    "escalation.deadline": LintWording(
        "{team}的响应时限是 {policy} 分钟，话术写的是 {script} 分钟",
        "把响应时限改为 {policy} 分钟",
        r"(?P<team>.+) answers within (?P<policy>\d+) minutes .*says (?P<script>\d+)",
        r"(?P<policy>\d+)",
        summary="升级时限与 escalation.yaml 中该团队的不一致",
    ),
    "escalation.promise": LintWording(
        "回复承诺 {promised} 分钟内答复，但{team}的响应时限是 {policy} 分钟：顾客会听到两个不同的时限",
        "改为承诺“{duration}”答复",
        r"within (?P<promised>[\d.]+) minutes, but (?P<team>.+) answers within (?P<policy>\d+)",
        r"promise (?P<duration>.+)",
        summary="回复承诺的答复时限与升级团队的响应时限不一致",
    ),
    "duplicate.id": LintWording("编号重复：{items}", "每条话术的编号必须唯一", r"id (?P<items>\S+)"),
    "duplicate.near": LintWording("与「{items}」几乎相同", "合并两条，或让它们有所区别", r"as (?P<items>\S+)"),
    "duplicate.example": LintWording(
        "示例“{items}”同时属于多个意图", "一条示例只保留在一个意图下", r"example “(?P<items>.+)”"
    ),
    "schema": LintWording("格式不对：{items}", "按 scripts_library/README.md 中的格式填写", r"(?P<items>.+)"),
    "yaml": LintWording("文件不是合法的 YAML", "检查缩进和引号"),
    "encoding": LintWording("文件不是 UTF-8 编码", "另存为 UTF-8"),
    "missing": LintWording("缺少文件", "从 git 中恢复"),
}

# Editable fields as the editor labels them (schema errors name them).
FIELD_NAMES = {
    "template": "话术正文",
    "variables": "变量",
    "examples": "顾客问法",
    "emotions": "适用情绪",
    "platforms": "适用平台",
    "questions": "顾客问法",
    "answer": "答案",
    "tags": "标签",
    "comment": "说明",
    "text": "示例",
}
SCHEMA_ERRORS = {
    "missing": "必填",
    "string_too_short": "不能为空",
    "too_short": "至少要有一项",
    "too_long": "太多了",
    "string_too_long": "太长了",
    "literal_error": "取值无效",
    "string_pattern_mismatch": "格式不对",
    "extra_forbidden": "多余的字段",
}
SCHEMA_VALUES = {
    "use either [all] or a list of platforms": "“全平台”不能和具体平台同时选择",
    "variable names must be lower_snake_case": "变量名只能用小写英文字母、数字和下划线",
}

STATUS_TITLES = {
    401: "需要登录",
    403: "没有权限",
    404: "找不到页面",
    405: "请求方式不对",
    409: "操作未完成",
    413: "内容太长",
    422: "内容有误",
    429: "操作太频繁",
    500: "服务器出错",
    503: "服务暂不可用",
}


class _Blank(dict):
    """Format values: a missing particular leaves its place empty rather than failing."""

    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, params: Mapping[str, Any]) -> str:
    """``template`` with ``params`` filled in; an unknown particular leaves nothing, not even its quotes."""
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    if not names:
        return template
    filled = template.format_map(_Blank({k: v for k, v in params.items() if k in names}))
    return re.sub(r"「」|“”", "", filled)


def escalation_name(label: str | None) -> str:
    """An escalation as a trainer reads it: its team, 不升级 for NO_TEAM, — when unknown (logged before it was)."""
    if label is None:
        return "—"
    return "不升级" if label == NO_TEAM else label


def name_of(kind: str, key: str | None) -> str:
    """The Chinese name of a status, emotion, platform, role, feedback action or entry kind."""
    tables = {
        "status": STATUS_NAMES,
        "emotion": EMOTION_NAMES,
        "platform": PLATFORM_NAMES,
        "role": ROLE_NAMES,
        "action": FEEDBACK_ACTION_NAMES,
        "kind": KIND_NAMES,
    }
    return tables[kind].get(key or "", key or "—")


def message_for(code: str, params: Mapping[str, Any] | None = None) -> str:
    """The Chinese message of an error code: a workflow refusal, or an API, studio or session error.

    ``params["wording"]`` picks another entry for the same code where the context differs (four-eyes on an
    agent's correction rather than on a version of an entry)."""
    params = params or {}
    key = params.get("wording") or code
    return fill(REFUSALS.get(key) or ERRORS.get(key) or ERRORS["error"], params)


def _worded(template: str, pattern: str, english: str, summary: str = "") -> str:
    """``template`` with the particulars ``pattern`` finds in ``english``; without them, ``summary`` or the
    template's text before them."""
    if "{" not in template:
        return template
    match = re.search(pattern, english) if pattern else None
    if match:
        return fill(template, match.groupdict())
    return summary or template.split("{", 1)[0].rstrip("：“「 ")


def problem_text(problem: Problem) -> tuple[str, str]:
    """(message, hint) of a lint problem in Chinese. Compliance rules are already worded in Chinese."""
    wording = LINT.get(problem.code)
    if wording is None:
        return problem.message, problem.hint
    message = _worded(wording.message, wording.message_pattern, problem.message, wording.summary)
    return message, _worded(wording.hint, wording.hint_pattern, problem.hint)


def schema_error_text(error: Mapping[str, Any]) -> str:
    """One pydantic error of an edited entry, as ``field: what is wrong`` in Chinese."""
    loc = [str(p) for p in error.get("loc", ())]
    where = FIELD_NAMES.get(loc[0], loc[0]) if loc else "内容"
    if len(loc) > 1 and loc[1].isdigit():
        where += f"第 {int(loc[1]) + 1} 项"
    problem = SCHEMA_ERRORS.get(str(error.get("type")), "")
    if not problem:
        message = str(error.get("msg", ""))
        problem = next((zh for en, zh in SCHEMA_VALUES.items() if en in message), "取值无效")
    return f"{where}：{problem}"


def status_title(status: int) -> str:
    return STATUS_TITLES.get(status, "出错了")


def client_catalogue() -> dict[str, dict[str, str]]:
    """What the pages' scripts need: names, and messages for errors that never reach the server."""
    return {
        "emotion": EMOTION_NAMES,
        "platform": PLATFORM_NAMES,
        "status": STATUS_NAMES,
        "action": FEEDBACK_ACTION_NAMES,
        "kind": KIND_NAMES,
        "errors": {
            "payload_too_large": ERRORS["payload_too_large"],
            "rate_limited": ERRORS["rate_limited"],
            "network": "网络连接失败，请检查网络后重试。",
            "http": "服务器返回了错误（{status}），请稍后重试。",
            "unauthorized": ERRORS["unauthorized"],
        },
    }


def catalogue_keys() -> set[str]:
    """Every code this catalogue translates: none of them may appear as text on a rendered page."""
    names = (STATUS_NAMES, EMOTION_NAMES, PLATFORM_NAMES, ROLE_NAMES, FEEDBACK_ACTION_NAMES, KIND_NAMES)
    keys = {key for table in names for key in table}
    return keys | set(ERRORS) | set(REFUSALS) | set(LINT) | set(FIELD_NAMES)
