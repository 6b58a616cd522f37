"""The physician's review: session browser, session review, series comparison.

Open it from the app with :func:`open_review_window`; ``python main.py review`` opens the same
window on its own.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from console.domain.alarm_profiles import ThresholdProfile
from console.services.record_access import ReviewRepository, SessionRepository
from console.ui.review.window import ReviewWindow

__all__ = ["ReviewWindow", "open_review_window"]


def open_review_window(
    repository: SessionRepository | ReviewRepository,
    parent: QWidget | None = None,
    *,
    session_id: int | None = None,
    profile: ThresholdProfile | None = None,
    nibp_interval_s: float = 300.0,
    user: str | None = None,
) -> QWidget:
    """Create and show the review window on the console's database.

    Args:
        repository: the console's repository (its engine is reused; nothing is migrated).
        parent: owner window; the review is still its own top-level window.
        session_id: open this session's review at once.
        profile: the console's configured threshold profile (``settings.alarm_profile``;
            the clinic default when None), drawn and listed only for sessions recorded without
            their own stored profile (the review says so).
        nibp_interval_s: the NIBP cycle completeness is judged against.
        user: the authenticated user (``review --user NAME``), prefilled as the signer.

    Returns:
        The window (already shown); keep a reference while it is open.
    """
    repo = (
        repository
        if isinstance(repository, ReviewRepository)
        else ReviewRepository(repository.engine)
    )
    window = ReviewWindow(
        repo, profile=profile, nibp_interval_s=nibp_interval_s, parent=parent, user=user
    )
    if session_id is not None:
        window.open_session(session_id)
    window.show()
    return window
