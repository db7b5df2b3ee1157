"""The console's fetch calls (the very functions behind /v1/suggest, /v1/feedback and /v1/corrections, with the
session instead of a key) and the trainers' review of agents' corrections: accepted ones become training
examples of the library through the workflow (approver, four-eyes, audit), then the index is republished."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app import api
from app.auth import Principal
from app.errors import ApiError
from app.schemas import (
    CorrectionRequest,
    CorrectionResponse,
    FeedbackRequest,
    FeedbackResponse,
    SuggestRequest,
    SuggestResponse,
)
from app.store import CorrectionView
from app.studio.common import AGENT_CALL, APPROVER_CALL, TRAINER_CALL, actor, library_root, loaded, store
from app.studio.messages import escalation_name, name_of
from app.studio.models import AcceptIn, AcceptOut
from scripts_library import workflow
from scripts_library.workflow import EditRefused, ExampleKind

router = APIRouter(include_in_schema=False)


@router.post("/studio/api/suggest", response_model=SuggestResponse)
def suggest(body: SuggestRequest, request: Request, response: Response, viewer: Principal = AGENT_CALL):
    return api.suggest(body, request, response)


@router.post("/studio/api/feedback", response_model=FeedbackResponse, status_code=201)
def feedback(body: FeedbackRequest, request: Request, response: Response, viewer: Principal = AGENT_CALL):
    return api.feedback(body.model_copy(update={"agent_id": body.agent_id or viewer.name}), request, response)


@router.post("/studio/api/corrections", response_model=CorrectionResponse, status_code=201)
def correct(body: CorrectionRequest, request: Request, response: Response, viewer: Principal = AGENT_CALL):
    """The agent's intent or emotion for a message the assistant read wrong, stored for the trainers' queue."""
    return api.correct(body.model_copy(update={"agent_id": viewer.name}), request, response)


# -- the trainers' queue of corrections -------------------------------------------------------------------------------
def _pending(request: Request, correction_id: int) -> CorrectionView:
    found = store(request).correction(correction_id)
    if found is None or found.status != "pending":
        raise ApiError(404, "unknown_correction", f"no pending correction {correction_id}")
    return found


EXAMPLE_KIND_NAMES: dict[ExampleKind, str] = {"intent": "意图", "emotion": "情绪", "escalation": "升级"}


def _label_name(request: Request, kind: ExampleKind, label: str) -> str:
    if kind == "escalation":
        return escalation_name(label)
    names = loaded(request).intent_names
    return names.get(label, label) if kind == "intent" else name_of("emotion", label)


WORDING = {"exists": "example_exists", "four_eyes": "own_correction"}


def _refused(
    request: Request, exc: EditRefused, correction: CorrectionView, kind: ExampleKind, label: str, text: str
) -> ApiError:
    """A refused example, its message naming the label, the text and, for a duplicate, who has it already."""
    owner = workflow.example_owner(loaded(request).library, kind, text)
    params = {
        "text": text,
        "label": _label_name(request, kind, label),
        "owner": _label_name(request, kind, owner) if owner else "",
        "kind": EXAMPLE_KIND_NAMES[kind],
        "author": correction.agent_id,
        "wording": WORDING.get(exc.code, ""),
        kind: label,
    }
    return ApiError(409, exc.code, str(exc), params=params)


@router.post("/studio/api/corrections/{correction_id}/accept", response_model=AcceptOut)
def accept(request: Request, correction_id: int, body: AcceptIn, viewer: Principal = APPROVER_CALL) -> AcceptOut:
    """Add the corrected message to the intent, emotion and/or escalation team the agent chose, then publish: every
    part is checked before anything is written, so an accepted correction is never half in the library."""
    correction = _pending(request, correction_id)
    wanted: list[tuple[ExampleKind, str | None]] = [
        ("intent", correction.intent),
        ("emotion", correction.emotion),
        ("escalation", correction.escalation),
    ]
    chosen = [(kind, label) for kind, label in wanted if label and getattr(body, kind)]
    if not chosen:
        raise ApiError(422, "nothing_chosen", "choose at least one of the intent, the emotion and the escalation")
    root, who, sink = library_root(request), actor(viewer), store(request)
    added = []
    for kind, label in chosen:
        try:
            workflow.check_example(loaded(request).library, kind, label, body.text)
        except EditRefused as exc:
            raise _refused(request, exc, correction, kind, label, body.text) from exc
    for kind, label in chosen:
        try:
            workflow.add_example(root, kind, label, body.text, who, sink, correction.agent_id)
        except EditRefused as exc:
            raise _refused(request, exc, correction, kind, label, body.text) from exc
        added.append(f"{EXAMPLE_KIND_NAMES[kind]}「{_label_name(request, kind, label)}」")
    store(request).resolve_correction(correction_id, "accepted", viewer.name)
    return AcceptOut(added=added, index_version=request.app.state.service.publish_library())


@router.post("/studio/api/corrections/{correction_id}/dismiss", response_model=AcceptOut)
def dismiss(request: Request, correction_id: int, viewer: Principal = TRAINER_CALL) -> AcceptOut:
    """Set a correction aside (the library does not change)."""
    _pending(request, correction_id)
    store(request).resolve_correction(correction_id, "dismissed", viewer.name)
    return AcceptOut(added=[])
