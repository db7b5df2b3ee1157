"""Trainer CLI for the scripts library: ``python -m scripts_library COMMAND --help``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from scripts_library.coverage import REQUIRED_EMOTIONS, coverage_counts
from scripts_library.editing import EditRefused, approve, new_script, retire
from scripts_library.lint import lint_library
from scripts_library.loader import LibraryError, load_library
from scripts_library.render import TemplateRejected, render
from scripts_library.schema import EMOTIONS, PLATFORMS


def _default_root() -> Path:
    from app.settings import Settings

    return Settings().library_dir


def cmd_lint(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    library = load_library(args.library)
    problems = lint_library(library)
    if args.paths:
        wanted = [str(Path(p)) for p in args.paths]
        problems = [p for p in problems if any(p.file.endswith(w) or w in p.file for w in wanted)]
    elapsed = time.perf_counter() - started
    n_errors = sum(p.severity == "error" for p in problems)
    if args.format == "json":
        print(json.dumps([asdict(p) for p in problems], ensure_ascii=False, indent=2))
    else:
        for problem in problems:
            print(problem.format())
        print(
            f"{len(library.scripts)} scripts, {len(library.faqs)} FAQ entries: {n_errors} errors, "
            f"{len(problems) - n_errors} warnings ({elapsed:.2f} s)"
        )
    return 1 if n_errors else 0


def cmd_coverage(args: argparse.Namespace) -> int:
    library = load_library(args.library)
    counts = coverage_counts(library)
    platforms = [args.platform] if args.platform else list(PLATFORMS)
    header = f"{'intent':22}" + "".join(f"{e[:8]:>10}" for e in EMOTIONS)
    gaps = 0
    for platform in platforms:
        print(f"\n== platform {platform} (approved, lint-clean scripts; * = required cell empty)")
        print(header)
        for intent in library.intent_ids:
            cells = []
            for emotion in EMOTIONS:
                n = counts[(intent, emotion, platform)]
                gap = n == 0 and emotion in REQUIRED_EMOTIONS
                gaps += gap
                cells.append(f"{n:>9}{'*' if gap else ' '}")
            print(f"{intent:22}" + "".join(cells))
    print(f"\n{gaps} required cells empty (intent × {{{', '.join(REQUIRED_EMOTIONS)}}} × platform)")
    return 1 if gaps and args.strict else 0


def cmd_preview(args: argparse.Namespace) -> int:
    library = load_library(args.library)
    script = library.script(args.id)
    context = dict(kv.split("=", 1) for kv in args.var)
    rendered = render(script.template, script.variables, context)
    print(rendered.text)
    if rendered.missing_variables:
        print(f"\nmissing variables: {', '.join(rendered.missing_variables)}", file=sys.stderr)
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    script = approve(args.library, args.id, args.by)
    print(f"approved {script.id} v{script.version} by {script.approver} at {script.approved_at}")
    return 0


def cmd_retire(args: argparse.Namespace) -> int:
    script = retire(args.library, args.id)
    print(f"retired {script.id}")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    script = new_script(args.library, args.intent, args.slug, args.author)
    print(f"created draft {script.id} in scripts/{args.intent}.yaml — edit it, lint, then ask for approval")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from retrieval.artifact import current_manifest

    library = load_library(args.library)
    manifest = current_manifest(Settings().index_dir)
    if manifest is None:
        print("no index has been built yet: everything is new")
        return 0
    built = manifest.entry_versions
    now = {s.id: s.version for s in library.scripts if s.status == "approved"}
    now |= {f.id: f.version for f in library.faqs if f.status == "approved"}
    for entry_id in sorted(now.keys() - built.keys()):
        print(f"+ {entry_id}")
    for entry_id in sorted(built.keys() - now.keys()):
        print(f"- {entry_id}")
    for entry_id in sorted(k for k in now.keys() & built.keys() if now[k] != built[k]):
        print(f"~ {entry_id} v{built[entry_id]} → v{now[entry_id]}")
    same = manifest.library_hash == library.content_hash
    print(f"index {manifest.version}: library files {'unchanged' if same else 'changed'} since the build")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scripts_library", description="话术库 tools for trainers")
    parser.add_argument("--library", type=Path, default=None, help="library directory (default HUASHU_LIBRARY_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("lint", help="check schema, compliance and duplicates; exit 1 on errors")
    p.add_argument("paths", nargs="*", help="only report problems in these files")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_lint)
    p = sub.add_parser("coverage", help="approved scripts per intent × emotion × platform")
    p.add_argument("--platform", choices=PLATFORMS)
    p.add_argument("--strict", action="store_true", help="exit 1 when a required cell is empty")
    p.set_defaults(func=cmd_coverage)
    p = sub.add_parser("preview", help="render a script with variables")
    p.add_argument("id")
    p.add_argument("--var", action="append", default=[], metavar="K=V", help="a variable value (repeatable)")
    p.set_defaults(func=cmd_preview)
    p = sub.add_parser("approve", help="approve a script (refused on lint errors or self-approval)")
    p.add_argument("id")
    p.add_argument("--by", required=True, help="approver's name")
    p.set_defaults(func=cmd_approve)
    p = sub.add_parser("retire", help="retire a script so it is never suggested again")
    p.add_argument("id")
    p.set_defaults(func=cmd_retire)
    p = sub.add_parser("new", help="scaffold a draft script")
    p.add_argument("intent")
    p.add_argument("slug", help="lowercase id suffix, e.g. stuck_apology")
    p.add_argument("--author", required=True)
    p.set_defaults(func=cmd_new)
    p = sub.add_parser("diff", help="what changed since the published index")
    p.set_defaults(func=cmd_diff)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.library = args.library or _default_root()
    try:
        return args.func(args)
    except LibraryError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (EditRefused, TemplateRejected, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
