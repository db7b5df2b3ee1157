"""Index build + search with the real model, atomic publishing, caching and artifact verification."""

import os
import shutil
import time

import pytest

from indexer.build import build_index, is_stale
from retrieval import artifact as artifact_module
from retrieval.artifact import (
    ABANDONED_BUILD_SECONDS,
    VERSIONS,
    ArtifactError,
    current_version,
    load_artifact,
    prune,
)
from retrieval.types import MessageInput
from scripts_library import workflow
from scripts_library.workflow import Actor
from tests.fakes import FakeEncoder, RecordingAudit


def test_round_trip_finds_logistics_scripts_first(assistant):
    result = assistant.suggest(MessageInput("我的快递三天没更新了"))
    assert result.classification.intent.id == "logistics_tracking"
    assert result.suggestions[0].intent == "logistics_tracking"
    assert result.suggestions[0].script_id.startswith("logistics_tracking.")


def test_manifest_describes_the_build(built_index, encoder):
    manifest = built_index.manifest
    assert manifest.model_id == "intfloat/multilingual-e5-small" and manifest.dimension == encoder.dimension == 384
    assert manifest.index_type == "flat-ip" and manifest.item_count > 1000 and manifest.entry_count >= 400
    assert set(manifest.files) == {"vectors.faiss", "rows.json", "entries.json", "classifiers.pkl"}


def test_rebuild_hits_the_embedding_cache(tmp_path, mini_library):
    fake = FakeEncoder()
    first = build_index(mini_library, tmp_path / "a", fake, tmp_path / "cache", quiet=True)
    again = build_index(mini_library, tmp_path / "b", fake, tmp_path / "cache", quiet=True)
    assert first.embedded > 300 and again.embedded == 0 and again.cached >= first.embedded


def test_editing_one_script_embeds_only_its_texts(tmp_path, mini_library):
    fake = FakeEncoder()
    build_index(mini_library, tmp_path / "index", fake, tmp_path / "cache", quiet=True)
    path = mini_library / "scripts" / "invoice.yaml"
    path.write_text(
        path.read_text("utf-8").replace("examples:\n", "examples:\n      - 发票能不能今天开好呀\n", 1), "utf-8"
    )
    report = build_index(mini_library, tmp_path / "index", fake, tmp_path / "cache", quiet=True)
    assert report.embedded == 1


def test_failed_build_leaves_the_previous_index_serving(tmp_path, mini_library, monkeypatch):
    out, fake = tmp_path / "index", FakeEncoder()
    first = build_index(mini_library, out, fake, tmp_path / "cache", quiet=True).manifest.version
    real_write = artifact_module._write_file

    def crash_on_classifiers(path, data):
        if path.name == "classifiers.pkl":
            raise OSError("simulated crash mid-build")
        real_write(path, data)

    monkeypatch.setattr(artifact_module, "_write_file", crash_on_classifiers)
    with pytest.raises(OSError, match="simulated crash"):
        build_index(mini_library, out, fake, tmp_path / "cache", quiet=True)
    assert current_version(out) == first
    assert [p.name for p in (out / VERSIONS).iterdir()] == [first]  # no half-written version left behind
    load_artifact(out, fake.fingerprint, fake.dimension)
    monkeypatch.undo()
    second = build_index(mini_library, out, fake, tmp_path / "cache", quiet=True).manifest.version
    assert current_version(out) == second != first


def test_corrupt_or_foreign_artifacts_are_refused(tmp_path, encoder, base_settings, built_index):
    out = tmp_path / "index"
    shutil.copytree(base_settings.index_dir, out)
    version_dir = out / VERSIONS / current_version(out)
    with pytest.raises(ArtifactError, match="built with model"):
        load_artifact(out, "another-model", encoder.dimension)
    with pytest.raises(ArtifactError, match="built with model"):
        load_artifact(out, encoder.fingerprint, 768)
    vectors = version_dir / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:1000])  # truncated
    with pytest.raises(ArtifactError, match="checksum"):
        load_artifact(out, encoder.fingerprint, encoder.dimension)


def test_staleness_follows_library_model_and_reused_classifiers(tmp_path, mini_library):
    out, fake = tmp_path / "index", FakeEncoder()
    assert is_stale(mini_library, out, fake.fingerprint)
    build_index(mini_library, out, fake, tmp_path / "cache", quiet=True)
    assert not is_stale(mini_library, out, fake.fingerprint)
    assert is_stale(mini_library, out, "other-model")
    faq = mini_library / "faq" / "invoice.yaml"
    faq.write_text(faq.read_text("utf-8") + "\n", "utf-8")
    assert is_stale(mini_library, out, fake.fingerprint)
    build_index(mini_library, out, fake, tmp_path / "cache", quiet=True, retrain=False)
    assert is_stale(mini_library, out, fake.fingerprint), "classifiers reused from an older version"


def test_retired_and_draft_scripts_never_reach_the_index(tmp_path, mini_library):
    audit, fake = RecordingAudit(), FakeEncoder()
    draft = workflow.create_script(mini_library, "logistics_tracking", "draft_probe", Actor("培训组-测试"), audit)
    retired = workflow.retire(
        mini_library, "logistics_tracking.not_updated", Actor("质检组", can_approve=True), audit, "测试下线"
    )
    manifest = build_index(mini_library, tmp_path / "index", fake, tmp_path / "cache", quiet=True).manifest
    for entry_id in (draft.entry.id, retired.entry.id):
        assert entry_id not in manifest.entry_versions
        assert entry_id not in load_artifact(tmp_path / "index", fake.fingerprint, fake.dimension).rows


def test_prune_removes_staging_directories_of_killed_builds(tmp_path):
    versions = tmp_path / "versions"
    old, fresh = versions / ".build-old", versions / ".build-fresh"
    for staging in (old, fresh):
        staging.mkdir(parents=True)
        (staging / "vectors.faiss").write_bytes(b"partial")
    stale = time.time() - ABANDONED_BUILD_SECONDS - 60
    os.utime(old / "vectors.faiss", (stale, stale))
    os.utime(old, (stale, stale))
    prune(tmp_path, keep=3)
    assert not old.exists() and fresh.exists(), "a build still writing keeps its staging directory"
