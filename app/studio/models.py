"""Request and response models of the studio's fetch calls (the pages' JSON boundary)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from scripts_library.schema import FaqContent, ScriptContent

ShortText = Annotated[str, StringConstraints(max_length=200)]
Tag = Annotated[str, StringConstraints(max_length=20)]
EntryId = Annotated[str, StringConstraints(min_length=1, max_length=120)]


class StudioModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VariableIn(StudioModel):
    name: Annotated[str, StringConstraints(max_length=40)]
    label: ShortText
    default: ShortText | None = None
    sample: ShortText | None = Field(None, description="value used only by the preview")


class ScriptDraft(StudioModel):
    """What the script editor holds: sent to check (lint + preview) while typing, and to save."""

    template: Annotated[str, StringConstraints(max_length=1000)]
    variables: list[VariableIn] = Field(default_factory=list, max_length=30)
    examples: list[ShortText] = Field(default_factory=list, max_length=100)
    emotions: list[Tag] = Field(default_factory=list, max_length=5)
    platforms: list[Tag] = Field(default_factory=list, max_length=5)
    base_updated_at: str | None = None

    def content(self) -> ScriptContent:
        """The script content this draft describes (raises ``ValidationError`` when it breaks the schema)."""
        return ScriptContent.model_validate(
            {
                "template": self.template,
                "variables": {
                    v.name.strip(): {"label": v.label, "default": v.default or None}
                    for v in self.variables
                    if v.name.strip()
                },
                "examples": [e for e in self.examples if e.strip()],
                "emotions": self.emotions,
                "platforms": self.platforms,
            }
        )


class FaqDraft(StudioModel):
    """What the FAQ editor holds: the customer's phrasings of the question, the answer, tags and platforms."""

    answer: Annotated[str, StringConstraints(max_length=1000)]
    questions: list[ShortText] = Field(default_factory=list, max_length=100)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    platforms: list[Tag] = Field(default_factory=list, max_length=5)
    base_updated_at: str | None = None

    def content(self) -> FaqContent:
        """The FAQ content this draft describes (raises ``ValidationError`` when it breaks the schema)."""
        return FaqContent.model_validate(
            {
                "answer": self.answer,
                "questions": [q for q in self.questions if q.strip()],
                "tags": [t for t in self.tags if t.strip()],
                "platforms": self.platforms,
            }
        )


Draft = ScriptDraft | FaqDraft


class EntryOut(StudioModel):
    """An entry's pending version as the editor loads it: what the conflict view shows beside the trainer's."""

    id: str
    kind: Literal["script", "faq"]
    state: str
    author: str
    updated_at: str | None
    draft: Draft


class ProblemOut(StudioModel):
    severity: str
    code: str
    message: str
    hint: str
    start: int
    end: int


class PreviewOut(StudioModel):
    text: str
    missing_variables: list[str]


class CheckResponse(StudioModel):
    """Lint findings (spans index ``lint_text``, the text rendered with defaults) and the preview."""

    problems: list[ProblemOut]
    lint_text: str
    preview: PreviewOut | None
    can_submit: bool


class ReviewIn(StudioModel):
    comment: Annotated[str, StringConstraints(max_length=1000)] = ""


class RestoreIn(StudioModel):
    audit_id: int = Field(ge=1)


class ChangeOut(StudioModel):
    script_id: str
    from_status: str
    to_status: str
    version: int
    audit_id: int | None = Field(None, description="None when nothing changed (e.g. the same draft saved twice)")
    index_version: str | None = Field(None, description="the index serving the change, after an approval")
    publish_seconds: float | None = None
    message: str = Field("", description="what happened, in the studio's words")


class BulkIn(StudioModel):
    action: Literal["submit", "retire"]
    ids: list[EntryId] = Field(min_length=1, max_length=200)
    comment: Annotated[str, StringConstraints(max_length=1000)] = ""


class BulkResult(StudioModel):
    id: str
    ok: bool
    message: str


class BulkOut(StudioModel):
    results: list[BulkResult]
    index_version: str | None = None


class ImpactEntry(StudioModel):
    id: str
    kind: str
    text: str
    intents: list[str]
    uptake: str


class ImpactOut(StudioModel):
    """What stops being suggested when entries are retired: the entries, and coverage cells left empty."""

    entries: list[ImpactEntry]
    gaps: list[str]


class AcceptIn(StudioModel):
    """Which of the agent's corrections to add to the library, and the example text (editable, redacted again)."""

    text: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    intent: bool = True
    emotion: bool = True
    escalation: bool = True


class AcceptOut(StudioModel):
    added: list[str]
    index_version: str | None = None
