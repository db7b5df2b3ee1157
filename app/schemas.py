"""The HTTP contract: request and response models of the public API (stable, versioned under /v1)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from scripts_library.vocabulary import EmotionId, FeedbackAction, PlatformId

MessageText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
# NaN and ±inf are refused: they would reach the customer as "nan"/"inf" inside a reply.
ContextValue = Annotated[str, StringConstraints(max_length=500)] | int | Annotated[float, Field(allow_inf_nan=False)]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Turn(ApiModel):
    role: Literal["customer", "agent"]
    text: Annotated[str, StringConstraints(max_length=2000)]


class ClassifyRequest(ApiModel):
    message: MessageText = Field(description="the customer's latest message (1–2000 characters)")
    history: list[Turn] = Field(default_factory=list, max_length=20, description="earlier turns, oldest first")
    platform: PlatformId | None = None

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message is empty or only whitespace")
        return value

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"message": "亲，我的快递三天没动了！！", "platform": "tmall"}]},
    )


class SuggestRequest(ClassifyRequest):
    shop_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    context: dict[Annotated[str, StringConstraints(max_length=40)], ContextValue] = Field(
        default_factory=dict, max_length=30, description="template variables from the order, e.g. courier"
    )
    top_k: int = Field(5, ge=1, le=20)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "message": "我的快递三天没更新了",
                    "platform": "tmall",
                    "context": {"courier": "中通快递", "order_id": "[订单]"},
                    "top_k": 5,
                }
            ]
        },
    )


class IntentAlternative(ApiModel):
    id: str
    confidence: float


class IntentOut(ApiModel):
    id: str
    name: str
    confidence: float
    alternatives: list[IntentAlternative]


class EmotionOut(ApiModel):
    id: EmotionId
    confidence: float
    intensity: float = Field(ge=0, le=1)


class EscalationOut(ApiModel):
    required: bool
    team: str | None = None
    reason: str | None = None
    respond_within_minutes: int | None = None


class RequestIntent(ApiModel):
    id: str
    name: str
    confidence: float


class ClassifyResponse(ApiModel):
    request_id: str
    intent: IntentOut
    intents: list[RequestIntent] = Field(
        description="every request the turn makes, the primary first (到哪了 顺便问下能开发票吗 → two)"
    )
    emotion: EmotionOut
    escalation: EscalationOut
    handoff_requested: bool = Field(description="the customer asked for a person (转人工): route, not escalate")
    index_version: str
    took_ms: float


class SuggestionOut(ApiModel):
    script_id: str
    version: int
    kind: Literal["script", "faq"]
    text: str = Field(description="rendered, compliance-checked reply")
    score: float
    intent: str
    emotion_fit: float
    reasons: list[str]
    missing_variables: list[str] = Field(description="variables the agent should fill in (shown as 【label】)")


class SuggestionGroupOut(ApiModel):
    intent: RequestIntent
    suggestions: list[SuggestionOut]


class SuggestResponse(ClassifyResponse):
    suggestions: list[SuggestionOut] = Field(description="for the turn, best first (the primary request's group)")
    groups: list[SuggestionGroupOut] = Field(description="suggestions per request of the turn, the primary first")


class ErrorBody(ApiModel):
    code: str = Field(description="machine-readable error code")
    message: str = Field(description="what went wrong and what to do")
    details: list[dict] = Field(default_factory=list)
    params: dict[str, str] = Field(
        default_factory=dict, description="the message's particulars (the unknown intent or team) for own wording"
    )


class ErrorResponse(ApiModel):
    error: ErrorBody


class Health(ApiModel):
    status: str


class Readiness(ApiModel):
    status: str
    index_version: str
    built_at: str
    item_count: int
    entry_count: int
    index_type: str
    model_id: str


class ReloadResponse(ApiModel):
    previous_version: str
    index_version: str
    changed: bool


class FeedbackRequest(ApiModel):
    request_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    script_id: Annotated[str, StringConstraints(min_length=1, max_length=120)] | None = None
    action: FeedbackAction
    final_text: Annotated[str, StringConstraints(max_length=2000)] | None = None
    agent_id: Annotated[str, StringConstraints(max_length=64)] | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "request_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                    "script_id": "logistics_tracking.stuck_apology",
                    "action": "edited",
                    "final_text": "非常抱歉，已为您催促快递，今天18点前回复您。",
                    "agent_id": "agent-007",
                }
            ]
        },
    )

    @model_validator(mode="after")
    def _script_for_actions(self) -> FeedbackRequest:
        if self.action != "none_fit" and not self.script_id:
            raise ValueError(f"script_id is required when action is {self.action}")
        if self.action == "edited" and not self.final_text:
            raise ValueError("final_text is required when action is edited")
        return self


class FeedbackResponse(ApiModel):
    feedback_id: int
    created: bool = Field(description="false when the same feedback was already recorded (idempotent)")


class EscalationCorrection(ApiModel):
    """The escalation a turn needed: the team it should go to, or null when it needed none."""

    team: Annotated[str, StringConstraints(min_length=1, max_length=20)] | None = Field(
        description="an escalation team (品控组, 售后主管, …) or null: the turn needed no escalation"
    )

    model_config = ConfigDict(extra="forbid")


class CorrectionRequest(ApiModel):
    """The agent's reading of a request the assistant got wrong; at least one of intent, emotion and escalation."""

    request_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    intent: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    emotion: EmotionId | None = None
    escalation: EscalationCorrection | None = None
    agent_id: Annotated[str, StringConstraints(max_length=64)] | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"request_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "intent": "shipping_urge", "emotion": "anxious"},
                {"request_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "escalation": {"team": None}},
                {"request_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "escalation": {"team": "品控组"}},
            ]
        },
    )

    @model_validator(mode="after")
    def _something_corrected(self) -> CorrectionRequest:
        if self.intent is None and self.emotion is None and self.escalation is None:
            raise ValueError("give the correct intent, emotion or escalation (at least one)")
        return self


class CorrectionResponse(ApiModel):
    correction_id: int
    created: bool = Field(description="false when this agent had already corrected this request (updated)")
