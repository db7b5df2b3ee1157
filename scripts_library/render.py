"""Rendering of reply templates. Templates are untrusted: trainers write them.

Only plain substitutions (``{{ name }}``) are allowed. Anything else — attribute access, calls,
filters, loops, imports, globals such as ``cycler`` — is refused before rendering, both by the
linter and by the renderer, so a template can neither escape the sandbox nor run away in time or
size. Rendering itself runs in Jinja2's ``SandboxedEnvironment`` with ``StrictUndefined``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from scripts_library.schema import Variable

MAX_OUTPUT_CHARS = 2000
MAX_VALUE_CHARS = 200
_ALLOWED_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name)
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


class TemplateRejected(ValueError):
    """The template uses something other than plain ``{{ variable }}`` substitutions."""


@dataclass(frozen=True)
class Rendered:
    text: str
    missing_variables: tuple[str, ...]


def _reject(reason: str) -> TemplateRejected:
    return TemplateRejected(f"{reason}; templates may only contain text and {{{{ variable }}}} substitutions")


@lru_cache(maxsize=4096)
def inspect_template(source: str) -> tuple[str, ...]:
    """Validate a template's shape and return the variable names it uses, in order of appearance."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateRejected(f"template syntax error on line {exc.lineno}: {exc.message}") from exc
    names: list[str] = []
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED_NODES):
            raise _reject(f"'{type(node).__name__}' is not allowed")
        if isinstance(node, nodes.Name):
            if node.ctx != "load" or node.name.startswith("_"):
                raise _reject(f"variable '{node.name}' is not allowed")
            if node.name not in names:
                names.append(node.name)
    return tuple(names)


@lru_cache(maxsize=4096)
def _compile(source: str):
    inspect_template(source)
    return _ENV.from_string(source)


def _clean_value(value: object) -> str:
    return (value if isinstance(value, str) else str(value))[:MAX_VALUE_CHARS]


def render(source: str, variables: Mapping[str, Variable], context: Mapping[str, object]) -> Rendered:
    """Render with ``context`` values, falling back to declared defaults.

    A variable with neither a value nor a default is shown as 【label】 and reported missing,
    so the agent sees what to fill; ``None`` or a raw ``{{ }}`` never reaches the customer.
    """
    used = inspect_template(source)
    values: dict[str, str] = {}
    missing: list[str] = []
    for name in used:
        declared = variables.get(name)
        supplied = context.get(name)
        if supplied is not None and str(supplied).strip():
            values[name] = _clean_value(supplied)
        elif declared is not None and declared.default is not None:
            values[name] = declared.default
        else:
            missing.append(name)
            values[name] = f"【{declared.label if declared else name}】"
    text = _compile(source).render(values)
    if len(text) > MAX_OUTPUT_CHARS:
        raise TemplateRejected(f"rendered text exceeds {MAX_OUTPUT_CHARS} characters")
    return Rendered(text.strip(), tuple(missing))
