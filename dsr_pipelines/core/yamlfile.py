"""YAML files a person writes (dsr.yaml, the datamap, retention rules, recognizers): read with errors
that name the line, and validated with every problem listed at once, each at its key path.

Messages name places and problems, never the text found there: a file may hold a password.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import DsrError

M = TypeVar("M", bound=BaseModel)
# LibYAML's safe loader where PyYAML was built with it: every run reads dsr.yaml, the datamap and
# the rules, and the pure-Python loader costs more than the run's own bookkeeping.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path, error: type[DsrError], name: str | None = None) -> dict:
    """The mapping at the top of a YAML file (empty for an empty file)."""
    name = name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise error(f"{name}: not UTF-8 text") from None
    except OSError as exc:
        raise error(f"{name}: cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    try:
        raw = yaml.load(text, Loader=SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or exc.__class__.__name__
        raise error(f"{name}: not valid YAML: {at}{problem}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise error(f"{name}: expected settings (key: value) at the top, found a {type(raw).__name__}")
    return raw


def validated(
    model: type[M],
    raw: dict,
    source: str,
    error: type[DsrError],
    locate: Callable[[Sequence], Sequence] | None = None,
) -> M:
    """`raw` as `model`, or one error listing every problem (`locate` renames a key path)."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = locate(e["loc"]) if locate else e["loc"]
            where = ".".join(str(p) for p in loc if p != "function-after") or "(top level)"
            problems.append(f"{where}: {e['msg']}")
        listed = problems[0] if len(problems) == 1 else f"{len(problems)} problems: " + "; ".join(problems)
        raise error(f"{source}: {listed}") from None
