"""Where the library lives: the first of the project's layered settings (``HUASHU_*`` environment
variables or ``.env``), extended by ``retrieval.settings`` and ``app.settings``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LibrarySettings(BaseSettings):
    """Paths are relative to the working directory unless absolute; nothing points into the installed package."""

    model_config = SettingsConfigDict(env_prefix="HUASHU_", env_file=".env", env_nested_delimiter="__", extra="ignore")

    library_dir: Path = Field(Path("scripts_library"), description="the scripts library (话术库)")
