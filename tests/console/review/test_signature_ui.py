"""The sign-off form of the review window with accounts (issue 16): the password is asked, a
refusal is one line in place and keeps what was typed, and the signature shows its printed
name, time, meaning and verification; without accounts it is labelled unverified."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import Engine

from console.domain.alarm_profiles import ThresholdProfile
from console.domain.roles import Role
from console.reports.pdf import write_pdf
from console.storage.accounts import AccountRepository
from console.storage.repository import SessionRepository
from console.storage.review import ReviewRepository
from console.ui.review import ReviewWindow, open_review_window
from tests.console.review.builders import build_session
from tests.console.review.test_reports import _pdf_text

pytestmark = pytest.mark.gui
DOC_PW = "Doc-Secret-LMN"
NURSE_PW = "Nurse-Secret-QRS"


def _window(qtbot: QtBot, engine: Engine, user: str | None = None) -> ReviewWindow:
    window = open_review_window(SessionRepository(engine), user=user)
    qtbot.addWidget(window)
    assert isinstance(window, ReviewWindow)
    return window


def test_sign_off_with_accounts(qtbot: QtBot, sqlite_migrated: Engine) -> None:
    built = build_session(sqlite_migrated)
    accounts = AccountRepository(sqlite_migrated)
    admin = accounts.add_user("alice", Role.ADMIN, "Adm1n-Secret-XYZ", by=None)
    accounts.add_user("carol", Role.PHYSICIAN, DOC_PW, by=admin, full_name="Dr Carol Ng")
    accounts.add_user("bob", Role.NURSE, NURSE_PW, by=admin)
    window = _window(qtbot, sqlite_migrated, user="bob")
    view = window.open_session(built.session_id)
    assert view.signoff_name.text() == "bob"  # the --user, prefilled
    assert not view.signoff_password.isHidden()
    note = "surge managed by rate reduction"
    view.signoff_note.setPlainText(note)
    view.signoff_password.setText(NURSE_PW)
    qtbot.mouseClick(view.signoff_button, Qt.MouseButton.LeftButton)
    assert view.signoff_status.text() == "Not signed: sign-off needs the physician role"
    assert view.signoff_note.toPlainText() == note  # nothing typed is lost
    assert view.signoff_name.text() == "bob"
    assert "Not yet reviewed" in view.signoff_view.toPlainText()
    view.signoff_name.setText("carol")
    view.signoff_password.setText("not-the-password")
    qtbot.mouseClick(view.signoff_button, Qt.MouseButton.LeftButton)
    assert view.signoff_status.text() == "Not signed: wrong user name or password"
    assert view.signoff_note.toPlainText() == note
    assert view.signoff_password.text() == ""  # a wrong password is not kept
    view.signoff_password.setText(DOC_PW)
    with qtbot.waitSignal(view.sig_signed_off, timeout=5000):
        qtbot.mouseClick(view.signoff_button, Qt.MouseButton.LeftButton)
    shown = view.signoff_view.toPlainText()
    assert "Dr Carol Ng" in shown
    assert "reviewed and approved" in shown
    assert "verified (password)" in shown
    assert "UNVERIFIED" not in shown
    assert view.signoff_status.text().startswith("Signed electronically by Dr Carol Ng on ")
    assert view.signoff_button.text() == "Sign addendum"
    assert view.signoff_note.toPlainText() == ""
    qtbot.waitUntil(lambda: not window.browser.tasks.busy, timeout=5000)


def test_sign_off_without_accounts_is_labelled_unverified(
    qtbot: QtBot, sqlite_migrated: Engine
) -> None:
    built = build_session(sqlite_migrated)
    window = _window(qtbot, sqlite_migrated)
    view = window.open_session(built.session_id)
    assert view.signoff_password.isHidden()
    assert "no accounts" in view.signoff_status.text()
    view.signoff_name.setText("Dr Lee")
    with qtbot.waitSignal(view.sig_signed_off, timeout=5000):
        qtbot.mouseClick(view.signoff_button, Qt.MouseButton.LeftButton)
    shown = view.signoff_view.toPlainText()
    assert "Dr Lee" in shown
    assert "UNVERIFIED (no account)" in shown
    qtbot.waitUntil(lambda: not window.browser.tasks.busy, timeout=5000)


def test_the_pdf_report_shows_the_signatures(
    qtbot: QtBot, sqlite_migrated: Engine, tmp_path: Path
) -> None:
    built = build_session(sqlite_migrated)
    other = build_session(sqlite_migrated, start=built.started_at + timedelta(days=7))
    review = ReviewRepository(sqlite_migrated)
    review.sign_off(other.session_id, by="Dr Lee", note="typed name only")
    accounts = AccountRepository(sqlite_migrated)
    admin = accounts.add_user("alice", Role.ADMIN, "Adm1n-Secret-XYZ", by=None)
    accounts.add_user("carol", Role.PHYSICIAN, DOC_PW, by=admin, full_name="Dr Carol Ng")
    review.sign_off(built.session_id, by="carol", password=DOC_PW, note="surge managed")
    review.sign_off(built.session_id, by="carol", password=DOC_PW, note="called next day")
    texts = {}
    for sid in (built.session_id, other.session_id):
        out = tmp_path / f"{sid}.pdf"
        write_pdf(review.load(sid), out, ThresholdProfile())
        texts[sid] = _pdf_text(out)
    signed = texts[built.session_id]
    assert signed.count("Dr Carol Ng") == 2  # the printed name, not the log-in
    assert "carol" not in signed.replace("Dr Carol Ng", "")
    assert signed.count("reviewed and approved") == 2
    assert signed.count("verified (password)") == 2
    assert "note: surge managed" in signed
    assert "note: called next day" in signed
    assert "UNVERIFIED" not in signed
    typed = texts[other.session_id]
    assert "Dr Lee" in typed
    assert "UNVERIFIED (no account)" in typed


def test_an_incomplete_rems_form_holds_the_sign_off(qtbot: QtBot, sqlite_migrated: Engine) -> None:
    """Issue 17: an esketamine session whose REMS form lacks required fields is not signed;
    the refusal names them in place and keeps the note; nothing is stored."""
    from tests.console.review.doc_builders import build_esketamine_session

    sid = build_esketamine_session(sqlite_migrated)
    window = _window(qtbot, sqlite_migrated)
    view = window.open_session(sid)
    view.signoff_name.setText("Dr Who")
    view.signoff_note.setPlainText("reviewed")
    qtbot.mouseClick(view.signoff_button, Qt.MouseButton.LeftButton)
    status = view.signoff_status.text()
    assert status.startswith("Not signed: the REMS form is not complete: "), status
    assert "Lot number" in status
    assert view.signoff_note.toPlainText() == "reviewed"
    assert ReviewRepository(sqlite_migrated).sign_offs(sid) == []
