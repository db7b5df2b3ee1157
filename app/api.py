"""HTTP routes: thin adapters between the JSON contract and the request pipeline."""

from __future__ import annotations

import logging
import time
import uuid

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from app.auth import require
from app.errors import ApiError
from app.schemas import (
    ClassifyRequest,
    ClassifyResponse,
    CorrectionRequest,
    CorrectionResponse,
    EmotionOut,
    ErrorResponse,
    EscalationOut,
    FeedbackRequest,
    FeedbackResponse,
    Health,
    IntentAlternative,
    IntentOut,
    Readiness,
    ReloadResponse,
    RequestIntent,
    SuggestionGroupOut,
    SuggestionOut,
    SuggestRequest,
    SuggestResponse,
)
from app.service import Service
from app.store import (
    CorrectionRecord,
    FeedbackRecord,
    NotSuggested,
    StoreUnavailable,
    SuggestionRecord,
    UnknownRequest,
)
from retrieval.artifact import ArtifactError
from retrieval.types import Classification, IntentResult, MessageInput, Suggestion, SuggestResult, Turn
from scripts_library.schema import NO_TEAM
from scripts_library.text import redact

log = logging.getLogger("huashu.api")

ERRORS = {
    401: {"model": ErrorResponse, "description": "missing or invalid API key"},
    403: {"model": ErrorResponse, "description": "the key's role may not use this route"},
    413: {"model": ErrorResponse, "description": "request body too large"},
    422: {"model": ErrorResponse, "description": "invalid request"},
    503: {"model": ErrorResponse, "description": "index not loaded"},
}

router = APIRouter()


def _service(request: Request) -> Service:
    return request.app.state.service


def _input(body: ClassifyRequest) -> MessageInput:
    history = tuple(Turn(t.role, t.text) for t in body.history)
    context = getattr(body, "context", {})
    return MessageInput(body.message, history, body.platform, context, getattr(body, "top_k", 5))


def _request_intent(intent: IntentResult) -> RequestIntent:
    return RequestIntent(id=intent.id, name=intent.name, confidence=intent.confidence)


def _suggestion(s: Suggestion) -> SuggestionOut:
    return SuggestionOut(
        script_id=s.script_id,
        version=s.version,
        kind=s.kind,
        text=s.text,
        score=s.score,
        intent=s.intent,
        emotion_fit=s.emotion_fit,
        reasons=list(s.reasons),
        missing_variables=list(s.missing_variables),
    )


def _classification_fields(c: Classification) -> dict:
    return {
        "intent": IntentOut(
            id=c.intent.id,
            name=c.intent.name,
            confidence=c.intent.confidence,
            alternatives=[IntentAlternative(id=i, confidence=p) for i, p in c.intent.alternatives],
        ),
        "intents": [_request_intent(i) for i in c.intents],
        "handoff_requested": c.handoff_requested,
        "emotion": EmotionOut(id=c.emotion.id, confidence=c.emotion.confidence, intensity=c.emotion.intensity),
        "escalation": EscalationOut(
            required=c.escalation.required,
            team=c.escalation.team,
            reason=c.escalation.reason,
            respond_within_minutes=c.escalation.respond_within_minutes,
        ),
    }


@router.get("/healthz", response_model=Health, tags=["ops"])
async def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses=ERRORS, tags=["ops"])
async def readyz(request: Request) -> Readiness:
    """Readiness: an index is loaded; reports the version being served."""
    manifest = _service(request).assistant.index.manifest
    return Readiness(
        status="ready",
        index_version=manifest.version,
        built_at=manifest.built_at.isoformat(),
        item_count=manifest.item_count,
        entry_count=manifest.entry_count,
        index_type=manifest.index_type,
        model_id=manifest.model_id,
    )


AGENT = [Depends(require("agent"))]
TRAINER = [Depends(require("trainer"))]


@router.get("/metrics", tags=["ops"], include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(_service(request).metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _log_suggestion(service: Service, request_id: str, body: SuggestRequest, result: SuggestResult, ms: float) -> None:
    c = result.classification
    ids = tuple(s.script_id for s in result.suggestions)
    service.store.log_suggestion(
        SuggestionRecord(
            request_id,
            result.index_version,
            redact(c.normalized.text),
            c.intent.id,
            c.emotion.id,
            body.platform,
            body.shop_id,
            ids,
            c.escalation.team or NO_TEAM,  # no team when none is required
            c.escalation.rule_id,
        )
    )
    if result.dropped:
        service.metrics.dropped.inc(len(result.dropped))
    log.info(
        "suggest",
        extra={
            "fields": {
                "request_id": request_id,
                "intent": c.intent.id,
                "emotion": c.emotion.id,
                "escalate": c.escalation.required,
                "suggestions": list(ids),
                "dropped": list(result.dropped),
                "took_ms": round(ms, 2),
            }
        },
    )


@router.post("/v1/classify", response_model=ClassifyResponse, responses=ERRORS, tags=["assistant"], dependencies=AGENT)
async def classify_route(body: ClassifyRequest, request: Request, response: Response) -> ClassifyResponse:
    """Intent, emotion and escalation of one customer message (history optional)."""
    return await run_in_threadpool(classify, body, request, response)


def classify(body: ClassifyRequest, request: Request, response: Response) -> ClassifyResponse:
    started = time.perf_counter()
    service = _service(request)
    index_version = service.assistant.index.version
    with service.retrainer.serving():
        result = service.assistant.classify(_input(body))
    request_id = uuid.uuid4().hex
    response.headers["X-Request-ID"] = request_id
    return ClassifyResponse(
        request_id=request_id,
        index_version=index_version,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        **_classification_fields(result),
    )


@router.post("/v1/suggest", response_model=SuggestResponse, responses=ERRORS, tags=["assistant"], dependencies=AGENT)
async def suggest_route(body: SuggestRequest, request: Request, response: Response) -> SuggestResponse:
    """Classification plus ranked, rendered, compliant reply suggestions, best first."""
    return await run_in_threadpool(suggest, body, request, response)


def suggest(body: SuggestRequest, request: Request, response: Response) -> SuggestResponse:
    """The pipeline behind ``POST /v1/suggest`` (also the studio's try-it and console calls); blocking."""
    started = time.perf_counter()
    service = _service(request)
    with service.retrainer.serving():
        result = service.assistant.suggest(_input(body), service.priors)
    request_id = uuid.uuid4().hex
    response.headers["X-Request-ID"] = request_id
    _log_suggestion(service, request_id, body, result, (time.perf_counter() - started) * 1000)
    return SuggestResponse(
        request_id=request_id,
        index_version=result.index_version,
        suggestions=[_suggestion(s) for s in result.suggestions],
        groups=[
            SuggestionGroupOut(intent=_request_intent(g.intent), suggestions=[_suggestion(s) for s in g.suggestions])
            for g in result.groups
        ],
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        **_classification_fields(result.classification),
    )


@router.post(
    "/v1/feedback",
    response_model=FeedbackResponse,
    status_code=201,
    tags=["assistant"],
    responses=ERRORS | {404: {"model": ErrorResponse, "description": "unknown request_id"}},
    dependencies=AGENT,
)
async def feedback_route(body: FeedbackRequest, request: Request, response: Response) -> FeedbackResponse:
    """Record what the agent did with a suggestion; repeating the same feedback is harmless."""
    return await run_in_threadpool(feedback, body, request, response)


def feedback(body: FeedbackRequest, request: Request, response: Response) -> FeedbackResponse:
    """Store feedback (blocking: it is acknowledged only once committed)."""
    service = _service(request)
    record = FeedbackRecord(
        body.request_id,
        body.script_id,
        body.action,
        redact(body.final_text) if body.final_text else None,
        body.agent_id,
    )
    try:
        feedback_id, created = service.store.record_feedback(record)
    except UnknownRequest as exc:
        raise ApiError(404, "unknown_request", "no suggestion was issued with this request_id") from exc
    except NotSuggested as exc:
        raise ApiError(
            422, "not_suggested", f"{body.script_id} was not among the suggestions of this request; send its script_id"
        ) from exc
    except StoreUnavailable as exc:
        log.error("feedback for %s not stored: %s", body.request_id, exc)
        raise ApiError(503, "store_unavailable", "feedback cannot be saved right now; retry later") from exc
    if created:
        service.metrics.observe_feedback(body.action)
        service.refresh_priors()
    else:
        response.status_code = 200
    return FeedbackResponse(feedback_id=feedback_id, created=created)


@router.post(
    "/v1/corrections",
    response_model=CorrectionResponse,
    status_code=201,
    tags=["assistant"],
    responses=ERRORS | {404: {"model": ErrorResponse, "description": "unknown request_id"}},
    dependencies=AGENT,
)
async def correct_route(body: CorrectionRequest, request: Request, response: Response) -> CorrectionResponse:
    """The agent's intent, emotion and/or escalation for a request the assistant got wrong: a proposed training
    example that trainers review (and an approver may add to the library). Repeating it updates it."""
    return await run_in_threadpool(correct, body, request, response)


def corrected_escalation(body: CorrectionRequest, teams: tuple[str, ...]) -> str | None:
    """The corrected escalation as stored (a team, or NO_TEAM), None when the agent did not correct it."""
    if body.escalation is None:
        return None
    team = body.escalation.team
    if team is not None and team not in teams:
        message = f"{team} is not an escalation team; use one of: {', '.join(teams)}, or null for no escalation"
        raise ApiError(422, "unknown_team", message, params={"team": team})
    return team or NO_TEAM


def correct(body: CorrectionRequest, request: Request, response: Response) -> CorrectionResponse:
    """Store an agent's correction (blocking)."""
    service = _service(request)
    known = service.assistant.index.intent_names
    if body.intent is not None and body.intent not in known:
        message = f"{body.intent} is not an intent; use one of: {', '.join(known)}"
        raise ApiError(422, "unknown_intent", message, params={"intent": body.intent})
    escalation = corrected_escalation(body, service.assistant.index.escalation.teams)
    agent = body.agent_id or request.state.principal.name
    try:
        correction_id, created = service.store.record_correction(
            CorrectionRecord(body.request_id, body.intent, body.emotion, agent, escalation)
        )
    except UnknownRequest as exc:
        raise ApiError(404, "unknown_request", "no suggestion was issued with this request_id") from exc
    except StoreUnavailable as exc:
        raise ApiError(503, "store_unavailable", "the correction cannot be saved right now; retry later") from exc
    if not created:
        response.status_code = 200
    return CorrectionResponse(correction_id=correction_id, created=created)


@router.post("/v1/admin/reload", response_model=ReloadResponse, responses=ERRORS, tags=["admin"], dependencies=TRAINER)
async def reload_route(request: Request) -> ReloadResponse:
    """Swap in the index version ``CURRENT`` points to; a bad artifact is refused, the old one keeps serving."""
    return await run_in_threadpool(reload, request)


def reload(request: Request) -> ReloadResponse:
    """Load, verify and swap the published index (blocking)."""
    service = _service(request)
    previous = service.assistant.index.version
    try:
        version = service.reload()
    except ArtifactError as exc:
        raise ApiError(409, "artifact_rejected", f"{exc}; the previous index ({previous}) keeps serving") from exc
    return ReloadResponse(previous_version=previous, index_version=version, changed=version != previous)
