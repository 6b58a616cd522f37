"""Wire protocols and driver kinds by name, imported lazily (python-can's backend table).

A protocol is **one** :class:`ProtocolSpec` in :data:`PROTOCOLS`: its command-line name, the
driver kind and class that read it, the virtual monitor the simulator plays it with, and the
older spellings configuration files may use.  Everything that lists protocols reads this table:
the driver kinds (:func:`list_kinds`), the simulator (:mod:`devices.simulator.launch`), the
``decode`` and ``simulate`` tools, the console's configuration check and command line, and the
headless ``run``.  So adding a protocol is one entry here (or one :func:`register_protocol`
call), and nothing else names it.

Outside packages may also add a bare driver kind through the entry-point group
``infusion_console.devices``.  Listing kinds or protocols imports no protocol module.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from devices.base import Driver
from devices.errors import BackendUnavailable

ENTRY_POINT_GROUP = "infusion_console.devices"


@dataclass(frozen=True, slots=True)
class ProtocolSpec:
    """One wire protocol, as every tool that offers a choice of protocols needs to know it.

    Targets are ``"module:attribute"`` strings so that naming a protocol imports nothing.
    """

    #: Short name on the command lines and in ``[simulator] protocol`` (``datex``).
    name: str
    #: Registry kind of the driver that reads it (``ge-datex``; ``[device] kind``).
    kind: str
    #: ``"module:Class"`` of that :class:`~devices.base.Driver`.
    driver: str
    #: ``"module:factory"`` of the simulator's virtual monitor, called as
    #: ``factory(patient, session_start, nibp=NibpSchedule)``; None: not simulated.
    monitor: str | None = None
    #: Older names still accepted for it in configuration files.
    aliases: tuple[str, ...] = ()
    #: ``"module:Class"`` of a TCP server for ``decode --listen`` (the console is the server:
    #: HL7 over MLLP), called as ``Class(host, port, sink)``; None: ``--listen`` is refused.
    listener: str | None = None


#: name -> protocol, in the order demos hand protocols out (round-robin over the chairs).
PROTOCOLS: dict[str, ProtocolSpec] = {
    spec.name: spec
    for spec in (
        ProtocolSpec(
            "datex",
            "ge-datex",
            "devices.drivers.ge_datex:DatexDriver",
            monitor="devices.simulator.monitor:DatexMonitorSim",
            aliases=("ge-datex",),
        ),
        ProtocolSpec(
            "intellivue",
            "philips-intellivue",
            "devices.drivers.philips_intellivue:IntelliVueDriver",
            monitor="devices.simulator.intellivue_monitor:IntelliVueMonitorSim",
            aliases=("philips-intellivue",),
        ),
        ProtocolSpec(
            "masimo",
            "masimo-radical",
            "devices.drivers.masimo_radical:MasimoDriver",
            monitor="devices.simulator.launch:masimo_monitor",
        ),
        ProtocolSpec(
            "hl7",
            "hl7-mllp",
            "devices.drivers.hl7_gateway:Hl7Driver",
            monitor="devices.simulator.launch:hl7_gateway",
            listener="devices.mllp_server:MllpListener",
        ),
    )
}

#: kind -> "module:Class": every protocol's driver (kept in step by :func:`register_protocol`).
BACKENDS: dict[str, str] = {spec.kind: spec.driver for spec in PROTOCOLS.values()}


def register_protocol(spec: ProtocolSpec) -> Callable[[], None]:
    """Add ``spec`` (and its driver kind); returns the function that takes it away again.

    Raises:
        ValueError: its name, an alias or its kind is already taken by another protocol.
    """
    taken = {alias for other in PROTOCOLS.values() for alias in (other.name, *other.aliases)}
    clash = sorted(taken & {spec.name, *spec.aliases})
    if clash or spec.kind in BACKENDS:
        raise ValueError(f"protocol {spec.name!r}: {', '.join(clash) or spec.kind} already taken")
    PROTOCOLS[spec.name] = spec
    BACKENDS[spec.kind] = spec.driver

    def unregister() -> None:
        PROTOCOLS.pop(spec.name, None)
        BACKENDS.pop(spec.kind, None)

    return unregister


def protocol_names() -> list[str]:
    """Every registered protocol, in registration order (decode can read them all)."""
    return list(PROTOCOLS)


def simulated_protocols() -> list[str]:
    """The protocols the simulator can speak, in registration order."""
    return [name for name, spec in PROTOCOLS.items() if spec.monitor is not None]


def protocol_aliases() -> dict[str, str]:
    """Older spelling -> protocol name, for configuration files."""
    return {alias: spec.name for spec in PROTOCOLS.values() for alias in spec.aliases}


def protocol_spec(name: str) -> ProtocolSpec:
    """The protocol called ``name``.

    Raises:
        KeyError: no such protocol (the message lists the known ones).
    """
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise KeyError(f"unknown protocol {name!r}; one of: {', '.join(PROTOCOLS)}") from None


def load_target(target: str) -> Any:
    """Import ``"module:attribute"`` and return the attribute."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


@functools.cache
def _installed_backends() -> tuple[tuple[str, str], ...]:
    """Driver kinds other packages install (entry points), read once: the scan of every
    installed distribution took about 4 ms, and start-up asked for it once per chair and
    per kind named in the configuration."""
    return tuple((ep.name, ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP))


def _all_backends() -> dict[str, str]:
    table = dict(BACKENDS)  # live: register_protocol() changes it
    for name, target in _installed_backends():
        table.setdefault(name, target)
    return table


def canonical_kind(name: str) -> str:
    """The driver kind ``name`` means: a kind itself, or a protocol's name or alias
    (``datex`` and ``ge-datex`` are both ``ge-datex``).  Anything else comes back unchanged,
    for the caller to refuse with its list.

    Why: ``--protocol datex`` but ``--device ge-datex`` was two names for one monitor, and
    ``run --device datex`` was an error (issue 15).  Both vocabularies are accepted.
    """
    if name in _all_backends():
        return name
    for spec in PROTOCOLS.values():
        if name == spec.name or name in spec.aliases:
            return spec.kind
    return name


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
    try:
        cls = load_target(target)
    except (ImportError, AttributeError) as err:
        raise BackendUnavailable(
            f"device kind {kind!r} ({target}) cannot be loaded: {err}"
        ) from err
    if not (isinstance(cls, type) and issubclass(cls, Driver)):
        raise BackendUnavailable(f"{target} is not a Driver subclass")
    return cls
