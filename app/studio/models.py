"""Request and response models of the studio's fetch calls (the pages' JSON boundary)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from scripts_library.schema import ScriptContent

ShortText = Annotated[str, StringConstraints(max_length=200)]


class StudioModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VariableIn(StudioModel):
    name: Annotated[str, StringConstraints(max_length=40)]
    label: ShortText
    default: ShortText | None = None
    sample: ShortText | None = Field(None, description="value used only by the preview")


class ScriptDraft(StudioModel):
    """What the editor holds: sent to check (lint + preview) while typing, and to save."""

    template: Annotated[str, StringConstraints(max_length=1000)]
    variables: list[VariableIn] = Field(default_factory=list, max_length=30)
    examples: list[ShortText] = Field(default_factory=list, max_length=100)
    emotions: list[Annotated[str, StringConstraints(max_length=20)]] = Field(default_factory=list, max_length=5)
    platforms: list[Annotated[str, StringConstraints(max_length=10)]] = Field(default_factory=list, max_length=5)
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
    """Lint findings (spans index ``lint_text``, the template rendered with defaults) and the preview."""

    problems: list[ProblemOut]
    lint_text: str
    preview: PreviewOut | None
    can_submit: bool


class ReviewIn(StudioModel):
    comment: Annotated[str, StringConstraints(max_length=1000)] = ""


class ChangeOut(StudioModel):
    script_id: str
    from_status: str
    to_status: str
    version: int
    audit_id: int | None = Field(None, description="None when nothing changed (e.g. the same draft saved twice)")
    index_version: str | None = Field(None, description="the index serving the change, after an approval")
    publish_seconds: float | None = None
