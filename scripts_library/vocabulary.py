"""The closed vocabularies of the project, each listed once: emotions, platforms, workflow statuses,
feedback actions and roles, with the Chinese names the studio, the console and the reasons show.

Everything else (schemas, API models, the store, pages) derives its lists from these ``Literal`` types.
"""

from __future__ import annotations

from typing import Literal, get_args

EmotionId = Literal["angry", "anxious", "dissatisfied", "neutral", "positive"]
PlatformId = Literal["tmall", "taobao", "jd", "pdd"]
Status = Literal["draft", "submitted", "approved", "rejected", "retired"]
FeedbackAction = Literal["picked", "edited", "rejected", "none_fit"]
Role = Literal["agent", "trainer", "approver", "admin"]

EMOTIONS: tuple[EmotionId, ...] = get_args(EmotionId)
PLATFORMS: tuple[PlatformId, ...] = get_args(PlatformId)
STATUSES: tuple[Status, ...] = get_args(Status)
FEEDBACK_ACTIONS: tuple[FeedbackAction, ...] = get_args(FeedbackAction)
ROLES: tuple[Role, ...] = get_args(Role)
ALL_PLATFORMS = "all"  # a library entry written for every platform

EMOTION_NAMES: dict[str, str] = {
    "angry": "愤怒",
    "anxious": "焦急",
    "dissatisfied": "不满",
    "neutral": "平静",
    "positive": "满意",
}
PLATFORM_NAMES: dict[str, str] = {"tmall": "天猫", "taobao": "淘宝", "jd": "京东", "pdd": "拼多多", "all": "全平台"}
STATUS_NAMES: dict[str, str] = {
    "draft": "草稿",
    "submitted": "待审核",
    "approved": "已上线",
    "rejected": "已驳回",
    "retired": "已下线",
}
FEEDBACK_ACTION_NAMES: dict[str, str] = {
    "picked": "采用",
    "edited": "改写后发送",
    "rejected": "不合适",
    "none_fit": "都不合适",
}
ROLE_NAMES: dict[str, str] = {"agent": "坐席", "trainer": "培训", "approver": "审核", "admin": "管理员"}
ROLE_RANK: dict[str, int] = {role: rank for rank, role in enumerate(ROLES)}

# Moods whose customers need a reply written for them first: an apology, or a concrete time.
LEAD_EMOTIONS: tuple[EmotionId, ...] = ("angry", "anxious")
