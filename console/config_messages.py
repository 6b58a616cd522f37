"""pydantic's validation errors as the one line a clinic's technician reads.

Why: pydantic reports every problem as a multi-line dump with its own location syntax
(``alarms.baseline.priority``) and its own words (``Extra inputs are not permitted``).  The
console says one thing, in the file's own terms: ``[storage] unknown key 'dburl' (did you
mean 'db_url'?)``, ``[simulator] speed must be float, got str 'fast'``, ``chairs[2].url is
required for device kind 'ge-datex'``.  A value that came from the environment or an option
says so, since the file may be fine.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from console.config_schema import ConsoleFile, FieldError, Table

Loc = tuple[str | int, ...]
#: Arrays of tables, written ``[[name]]`` in TOML and ``name[i].key`` in messages.
ARRAYS = frozenset({"chairs", "limits"})
_TYPE_NAMES = {"string_type": "str", "int_type": "int", "float_type": "float", "bool_type": "bool"}


def nearest(name: str, known: Iterable[str]) -> str:
    """The hint ``(did you mean 'x'?)`` for the closest known name, or "" when none is close."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def table_type(annotation: Any) -> type[Table] | None:
    """The table a field holds: its own type, or the entries' type of an array of tables."""
    for candidate in (annotation, *get_args(annotation)):
        if inspect.isclass(candidate) and issubclass(candidate, Table):
            return candidate
    return None


def split(loc: Loc) -> tuple[type[BaseModel], Loc, Loc]:
    """``loc`` as (the innermost table's model, the path to that table, the rest)."""
    model: type[BaseModel] = ConsoleFile
    i = 0
    while i < len(loc):
        part = loc[i]
        if isinstance(part, str):
            field = model.model_fields.get(part)
            sub = None if field is None else table_type(field.annotation)
            if sub is None:
                break
            model = sub
        i += 1
    return model, loc[:i], loc[i:]


def table_name(path: Loc) -> str:
    """``[storage]``, ``[alarms.baseline]``, ``[[chairs]]`` or ``chairs[2]``."""
    if not path:
        return "the configuration"
    if path[0] in ARRAYS:
        return f"[[{path[0]}]]" if len(path) == 1 else f"{path[0]}[{path[1]}]"
    if len(path) > 2 and isinstance(path[-1], int):  # an entry of an array inside a table
        return f"[{'.'.join(str(p) for p in path[:-2])}] {path[-2]}[{path[-1]}]"
    return f"[{'.'.join(str(p) for p in path)}]"


def key_name(loc: Loc) -> str:
    """Where ``loc`` is, as the file writes it: ``[device] url``, ``chairs[0].url``."""
    _model, path, rest = split(loc)
    if not rest:
        return table_name(path)
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest).lstrip(".")
    if not path:
        return f"[{key}]"
    if path[0] in ARRAYS and len(path) > 1:
        return f"{table_name(path)}.{key}"
    return f"{table_name(path)} {key}"


def _expected(loc: Loc, error_type: str) -> str:
    """What a key takes: the field's own wording, else its Python type's name."""
    model, _path, rest = split(loc)
    field = model.model_fields.get(str(rest[0])) if rest else None
    extra = field.json_schema_extra if field is not None else None
    if isinstance(extra, dict) and isinstance(extra.get("expected"), str):
        return str(extra["expected"])
    return _TYPE_NAMES.get(error_type, error_type.removesuffix("_type"))


def describe(error: ErrorDetails) -> str:
    """One pydantic error as one line naming its key."""
    loc: Loc = tuple(error["loc"])
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        model, path, rest = split(loc[:-1])
        name = str(loc[-1])
        known = model.model_fields
        if not path and not rest:
            return f"unknown section [{name}]{nearest(name, known)}"
        return f"{table_name(path)} unknown key {name!r}{nearest(name, known)}"
    where = key_name(loc)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{where} must be a table, got {type(value).__name__}"
    if kind in ("list_type", "tuple_type"):
        return f"{where} must be an array of tables"
    if kind == "missing":
        return f"{where} is required"
    if kind == "finite_number":
        return f"{where} must be a finite number, got {value!r}"
    if kind in _TYPE_NAMES:
        expected = _expected(loc, kind)
        return f"{where} must be {expected}, got {type(value).__name__} {value!r}"
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        where = key_name((*loc, *cause.at))
        return f"{where}{':' if cause.sentence else ''} {cause}"
    return f"{where}: {error['msg']}"


def first_problem(
    err: ValidationError, origins: Mapping[str, str] | None = None, otherwise: str | None = None
) -> str:
    """The one line for a failed validation: an unknown name first (it often explains the
    rest), then the first problem in file order.

    ``origins`` (``"section.key"`` to where the value came from) names an environment
    variable or option that gave the bad value; ``otherwise`` is said of any other value
    (``in /home/x/.config/infusion-console/console.toml``).
    """
    errors = err.errors(include_url=False)
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    error = (unknown or errors)[0]
    line = " ".join(describe(error).split())  # one line, whatever a message contained
    dotted = ".".join(str(p) for p in error["loc"][:2])
    source = (origins or {}).get(dotted)
    if source:
        return f"{line} (from {source})"
    return f"{line} ({otherwise})" if otherwise else line
