"""Driver kinds by name, imported lazily (python-can's backend table).

Adding a monitor is one line here; outside packages may register through the entry-point group
``infusion_console.devices``.  Listing kinds does not import every protocol module.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from devices.base import Driver
from devices.errors import BackendUnavailable

ENTRY_POINT_GROUP = "infusion_console.devices"

#: kind -> "module:Class"
BACKENDS: dict[str, str] = {
    "ge-datex": "devices.drivers.ge_datex:DatexDriver",
    "philips-intellivue": "devices.drivers.philips_intellivue:IntelliVueDriver",
    "masimo-radical": "devices.drivers.masimo_radical:MasimoDriver",
    "hl7-mllp": "devices.drivers.hl7_gateway:Hl7Driver",
}


def _all_backends() -> dict[str, str]:
    table = dict(BACKENDS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        table.setdefault(ep.name, ep.value)
    return table


def list_kinds() -> list[str]:
    """Every driver kind that can be opened."""
    return sorted(_all_backends())


def driver_class(kind: str) -> type[Driver]:
    """Import and return the driver class registered as ``kind``.

    Raises:
        BackendUnavailable: unknown kind, or its module fails to import.
    """
    table = _all_backends()
    try:
        target = table[kind]
    except KeyError:
        raise BackendUnavailable(
            f"unknown device kind {kind!r}; known kinds: {', '.join(sorted(table))}"
        ) from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name)
    except (ImportError, AttributeError) as err:
        raise BackendUnavailable(
            f"device kind {kind!r} ({target}) cannot be loaded: {err}"
        ) from err
    if not (isinstance(cls, type) and issubclass(cls, Driver)):
        raise BackendUnavailable(f"{target} is not a Driver subclass")
    return cls
