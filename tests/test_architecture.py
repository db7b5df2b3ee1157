"""The house rules that code review alone would let slip: one-way layers, a pipeline without HTTP."""

from __future__ import annotations

import shutil
import subprocess
import sys

from tests.conftest import REPOSITORY


def test_import_contracts_hold():
    lint_imports = shutil.which("lint-imports", path=str(REPOSITORY / ".venv" / "bin")) or shutil.which("lint-imports")
    assert lint_imports, "import-linter is a dev dependency: pip install -e '.[dev]'"
    result = subprocess.run([lint_imports, "--no-cache"], cwd=REPOSITORY, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_the_pipeline_and_the_indexer_load_no_web_framework():
    probe = (
        "import sys, retrieval.pipeline, indexer.build, indexer.__main__, scripts_library.workflow; "
        "loaded = [m for m in ('fastapi', 'starlette', 'uvicorn', 'sqlalchemy') if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPOSITORY, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
