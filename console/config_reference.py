"""The configuration reference as a Markdown table, printed from the schema.

``python -m console.config_reference`` prints it; the README's "Configuration reference"
section is this output, and ``tests/console/test_config_schema.py`` fails when the two
differ.  Why: a hand-kept reference drifts from the checks (a key renamed in one place, a
range changed in another); printing it from the same fields the console validates with
keeps one source for both.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, get_args, get_origin

from pydantic.fields import FieldInfo

from console.config_messages import table_type
from console.config_schema import TABLES, ChairEntry, DeviceFields, Table

_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def type_name(field: FieldInfo) -> str:
    """The TOML type a key takes, as a person says it."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("expected"), str):
        return str(extra["expected"]).removeprefix("a ")
    annotation: Any = field.annotation
    args = [
        get_args(a)[0] if get_origin(a) is Annotated else a
        for a in get_args(annotation)
        if a is not type(None)
    ]
    if annotation in _TYPES:
        return _TYPES[annotation]
    if len(args) == 1 and args[0] in _TYPES:  # an optional key of [[chairs]] / [[limits]]
        return _TYPES[args[0]]
    return "table"


def toml_value(value: Any) -> str:
    """A default as the TOML file writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


def default_text(field: FieldInfo) -> str:
    """The default column: the value, "required", or "-" for "inherited, see meaning"."""
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    return "-" if value is None else f"`{toml_value(value)}`"


def rows(table: type[Table]) -> list[str]:
    """One Markdown row per key of ``table`` (a nested table gets its own rows elsewhere)."""
    out = []
    fields = sorted(table.model_fields.items(), key=lambda item: not item[1].is_required())
    for name, field in fields:
        if table_type(field.annotation) is not None:
            continue
        meaning = field.description or ""
        if table is ChairEntry and name in DeviceFields.model_fields:
            meaning = f"As `[device] {name}`, for this chair (nothing is taken from `[device]`)."
        meaning = meaning.replace("|", "\\|")
        out.append(
            f"| `{table.HEADING} {name}` | {type_name(field)} | {default_text(field)} | {meaning} |"
        )
    return out


def reference() -> str:
    """The whole table, every key of every table in file order."""
    lines = ["| Key | Type | Default | Meaning |", "| --- | --- | --- | --- |"]
    for table in TABLES:
        lines += rows(table)
    return "\n".join(lines) + "\n"


def main() -> int:
    """Print the reference on stdout."""
    sys.stdout.write(reference())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
