"""``python -m indexer build|status|diff``: build, describe and compare the published index artifact."""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import sys
from pathlib import Path

from indexer.build import build_index, is_stale
from retrieval.artifact import ArtifactError, Manifest, current_manifest
from retrieval.encoder import EncoderLoadError, configured_encoder
from retrieval.settings import RetrievalSettings
from scripts_library.lint import lint_library, servable_ids
from scripts_library.loader import LibraryError, load_library

PR_SET_PDEATHSIG = 1


def exit_with_parent(parent_pid: int) -> None:
    """Be killed when the process that started this build dies: a serving worker pauses its retraining child
    while it answers requests, and a paused orphan would otherwise wait forever (Linux; elsewhere a no-op)."""
    if sys.platform != "linux":
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        raise SystemExit(f"process {parent_pid}, which asked for this build, has already exited")


def _build(args: argparse.Namespace, settings: RetrievalSettings) -> int:
    if args.exit_with_parent:
        exit_with_parent(args.exit_with_parent)
    encoder = configured_encoder(settings)
    if args.if_stale and not is_stale(args.library, args.out, encoder.fingerprint):
        print("index is up to date")
        return 0
    report = build_index(
        args.library, args.out, encoder, settings.cache_dir, quiet=args.quiet, only_if_unchanged=args.only_if_unchanged
    )
    if report is None:
        print("the library changed during the build: not published (build again)")
        return 0
    m = report.manifest
    print(
        f"published {m.version}: {m.item_count} vectors ({m.index_type}), {m.entry_count} entries, "
        f"embedded {report.embedded} new texts ({report.cached} cached) in {report.seconds:.2f} s"
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    manifest = current_manifest(args.out)
    print(manifest.model_dump_json(indent=2, exclude={"entry_versions"}) if manifest else "no index")
    return 0 if manifest else 1


def entry_changes(manifest: Manifest, live: dict[str, int]) -> list[str]:
    """Lines ``+ id`` (new), ``- id`` (gone) and ``~ id vA → vB`` between the index and the library."""
    built = manifest.entry_versions
    lines = [f"+ {i}" for i in sorted(live.keys() - built.keys())]
    lines += [f"- {i}" for i in sorted(built.keys() - live.keys())]
    changed = sorted(k for k in live.keys() & built.keys() if live[k] != built[k])
    return lines + [f"~ {i} v{built[i]} → v{live[i]}" for i in changed]


def _diff(args: argparse.Namespace) -> int:
    manifest = current_manifest(args.out)
    if manifest is None:
        print("no index has been built yet: everything is new")
        return 0
    library = load_library(args.library)
    servable = servable_ids(library, lint_library(library))
    live = {entry_id: library.entry(entry_id).version for entry_id in servable}
    for line in entry_changes(manifest, live):
        print(line)
    same = manifest.library_hash == library.content_hash
    print(f"index {manifest.version}: library files {'unchanged' if same else 'changed'} since the build")
    return 0


def main(argv: list[str] | None = None) -> int:
    settings = RetrievalSettings()
    parser = argparse.ArgumentParser(prog="python -m indexer", description="build and publish the index")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="embed the library and publish a new index version")
    build.add_argument("--library", type=Path, default=settings.library_dir, help="scripts library directory")
    build.add_argument("--out", type=Path, default=settings.index_dir, help="artifact location")
    build.add_argument("--if-stale", action="store_true", help="do nothing when the index is up to date")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.add_argument(
        "--only-if-unchanged", action="store_true", help="publish only if the library did not change during the build"
    )
    build.add_argument("--exit-with-parent", type=int, metavar="PID", help="die when process PID exits (Linux)")
    status = sub.add_parser("status", help="print the published version's manifest")
    status.add_argument("--out", type=Path, default=settings.index_dir)
    diff = sub.add_parser("diff", help="entries added, removed or changed in the library since the published index")
    diff.add_argument("--library", type=Path, default=settings.library_dir)
    diff.add_argument("--out", type=Path, default=settings.index_dir)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO,
        format="%(levelname)s %(name)s %(message)s",
    )
    try:
        if args.command == "status":
            return _status(args)
        if args.command == "diff":
            return _diff(args)
        return _build(args, settings)
    except (LibraryError, ArtifactError, EncoderLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
