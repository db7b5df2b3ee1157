"""The trainers' workflow on the command line: ``python -m app.library COMMAND --help``.

The same steps as the studio (``scripts_library.workflow``), audited in the same store and under the same
rules: four-eyes, the approver role for approving, rejecting and retiring, no lint errors at submit and
approval. Who acts comes from an API key (``--key`` or ``HUASHU_API_KEY``) when keys are configured, as
in the studio; a loopback-only service without keys takes ``--by NAME`` and trusts it, as its studio does.
After an approval or retirement, publish with ``python -m indexer build`` (or let a running service pick
it up with ``POST /v1/admin/reload``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from app.auth import principal_for_key
from app.settings import Settings
from app.store import Store
from scripts_library import workflow
from scripts_library.loader import LibraryError, load_library
from scripts_library.vocabulary import ROLE_RANK
from scripts_library.workflow import Actor, AuditSink, Change, EditRefused


class NotAllowed(RuntimeError):
    """The caller could not be identified, or their role may not take this step."""


def actor(settings: Settings, key: str | None, by: str | None) -> Actor:
    """Who acts, identified like the studio does: by API key, or by name when no keys are configured."""
    if not settings.api_keys:
        if not by or not by.strip():
            raise NotAllowed("no API keys are configured: say who you are with --by NAME")
        return Actor(by.strip(), can_approve=True)
    if not key:
        raise NotAllowed("pass your API key with --key or HUASHU_API_KEY (names are not trusted when keys exist)")
    principal = principal_for_key(key, settings.api_keys)
    if principal is None:
        raise NotAllowed("the API key is not valid")
    if ROLE_RANK[principal.role] < ROLE_RANK["trainer"]:
        raise NotAllowed(f"the library needs the trainer role or above; your key has {principal.role}")
    return Actor(principal.name, can_approve=ROLE_RANK[principal.role] >= ROLE_RANK["approver"])


Step = Callable[[argparse.Namespace, Actor, AuditSink], Change]
STEPS: dict[str, tuple[str, Step]] = {
    "submit": (
        "send a draft for approval",
        lambda a, who, sink: workflow.submit(a.library, a.id, who, sink, a.comment),
    ),
    "approve": (
        "approve a submitted version",
        lambda a, who, sink: workflow.approve(a.library, a.id, who, sink, a.comment),
    ),
    "reject": (
        "send a submitted version back",
        lambda a, who, sink: workflow.reject(a.library, a.id, who, sink, a.comment),
    ),
    "retire": ("stop suggesting an entry", lambda a, who, sink: workflow.retire(a.library, a.id, who, sink, a.comment)),
    "unretire": ("undo a retirement", lambda a, who, sink: workflow.unretire(a.library, a.id, who, sink, a.comment)),
}


def _queue(args: argparse.Namespace) -> int:
    library = load_library(args.library)
    pending = [e for e in (*library.scripts, *library.faqs) if e.state == "submitted"]
    for entry in pending:
        kind = "revision of v" + str(entry.version) if entry.proposal else "new"
        print(f"{entry.id:48} {kind:16} by {entry.pending_author}")
    print(f"{len(pending)} waiting for approval")
    return 0


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.library", description="the 话术库 workflow, audited")
    parser.add_argument("--key", default=os.environ.get("HUASHU_API_KEY"), help="your API key (or HUASHU_API_KEY)")
    parser.add_argument("--by", help="your name, when the service has no API keys configured")
    parser.set_defaults(library=settings.library_dir)
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new", help="scaffold a draft script")
    new.add_argument("intent")
    new.add_argument("slug", help="lowercase id suffix, e.g. stuck_apology")
    for name, (text, _) in STEPS.items():
        step = sub.add_parser(name, help=text)
        step.add_argument("id", help="script or FAQ entry id")
        needed = name in ("reject", "retire")
        step.add_argument("--comment", "-m", default="", required=needed, help="why (required to reject or retire)")
    sub.add_parser("queue", help="versions waiting for approval")
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    args = build_parser(settings).parse_args(argv)
    try:
        if args.command == "queue":
            return _queue(args)
        who = actor(settings, args.key, args.by)
        store = Store(settings.effective_database_url)
        try:
            store.create_schema()
            if args.command == "new":
                change = workflow.create_script(args.library, args.intent, args.slug, who, store)
            else:
                change = STEPS[args.command][1](args, who, store)
        finally:
            store.close()
    except (NotAllowed, EditRefused, LibraryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    entry = change.entry
    print(f"{entry.id} v{entry.version}: {change.from_status} → {change.to_status} (audit #{change.audit_id})")
    if args.command in ("approve", "retire", "unretire"):
        print("publish it with `python -m indexer build` (a running service: POST /v1/admin/reload)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
