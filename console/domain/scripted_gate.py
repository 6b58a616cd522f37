"""The pre-dose gate decision a script (never a person) takes to start a scripted session.

The simulator's demo session (:mod:`console.services.demo_script`) and a headless run's
scripted esketamine session (:mod:`console.commands.run_session_script`) both start on their
timeline whatever the simulated baseline was; the record must still say who decided and why,
in the same words both times (one function, issue 17's review of duplicated logic).
"""

from __future__ import annotations

from datetime import datetime

from console.domain.session import GateVerdict, SessionEvent, SessionLifecycle


def scripted_gate_decision(
    life: SessionLifecycle, at: datetime, *, author: str, what: str
) -> SessionEvent | None:
    """A review (or, for a blocked gate, an override) by ``author`` when the gate is not
    passed; None when it is.  ``what`` names the script in the reason ("scripted QA session").

    Raises:
        SessionRuleError: the lifecycle refuses (outside the baseline phase).
    """
    if life.may_start_infusion():
        return None
    reason = f"{what} ({'; '.join(life.gate.reasons)})"
    if life.gate.verdict is GateVerdict.REVIEW:
        return life.physician_review(at, physician=author, reason=reason)
    return life.physician_override(at, physician=author, reason=reason)


__all__ = ["scripted_gate_decision"]
