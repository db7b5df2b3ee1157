"""Checks of the scripts library's files: ``python -m scripts_library lint|coverage|preview``.

These read the files only. Workflow steps (new, submit, approve, reject, retire) are audited and go
through the service's store: ``python -m app.library`` (see the README).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from scripts_library.coverage import REQUIRED_EMOTIONS, coverage_grid
from scripts_library.lint import lint_library
from scripts_library.loader import LibraryError, load_library
from scripts_library.render import TemplateRejected, render
from scripts_library.settings import LibrarySettings
from scripts_library.vocabulary import PLATFORMS


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
    grid = coverage_grid(load_library(args.library))
    platforms = [args.platform] if args.platform else list(grid.platforms)
    header = f"{'intent':22}" + "".join(f"{e[:8]:>10}" for e in grid.emotions)
    for platform in platforms:
        print(f"\n== platform {platform} (approved, lint-clean scripts; * = required cell empty)")
        print(header)
        for intent, row in grid.cells[platform].items():
            cells = [f"{c.count:>9}{'*' if c.required and not c.count else ' '}" for c in row.values()]
            print(f"{intent:22}" + "".join(cells))
    gaps = sum(c.required and not c.count for p in platforms for row in grid.cells[p].values() for c in row.values())
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.library = args.library or LibrarySettings().library_dir
    try:
        return args.func(args)
    except LibraryError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (TemplateRejected, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
