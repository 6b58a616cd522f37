"""The electronic signature at sign-off, and the immutability of a signed record (issue 16),
on both backends."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from console.domain.roles import Role, RoleRefusedError
from console.domain.session import EventKind, SessionEvent
from console.storage.accounts import AccountRepository, AuthError
from console.storage.review import (
    ADDENDUM,
    SIGN_OFF,
    SIGNATURE_MEANING,
    ReviewRepository,
    SessionFilter,
    SessionInProgressError,
)
from console.storage.schema import DischargeCheckRow, EventRow, SessionReviewRow
from console.storage.writer import SessionEventItem, StorageWriter, apply_ops, item_ops
from tests.console.review.builders import T0, build_session

DOC_PW = "Doc-Secret-LMN"
NURSE_PW = "Nurse-Secret-QRS"


def _accounts(engine: Engine) -> None:
    accounts = AccountRepository(engine)
    admin = accounts.add_user("alice", Role.ADMIN, "Adm1n-Secret-XYZ", by=None)
    accounts.add_user("carol", Role.PHYSICIAN, DOC_PW, by=admin, full_name="Dr Carol Ng")
    accounts.add_user("bob", Role.NURSE, NURSE_PW, by=admin)


def _note(session_id: int, minutes: float) -> SessionEventItem:
    return SessionEventItem(
        session_id,
        SessionEvent(EventKind.NOTE, T0 + timedelta(minutes=minutes), author="bob", text="late"),
    )


def test_signed_with_an_account_is_verified_and_shows_the_printed_name(migrated: Engine) -> None:
    built = build_session(migrated)
    _accounts(migrated)
    review = ReviewRepository(migrated)
    assert review.has_accounts()
    with pytest.raises(ValueError, match="needs the physician's password"):
        review.sign_off(built.session_id, by="carol", note="ok")
    with pytest.raises(AuthError, match="wrong user name or password"):
        review.sign_off(built.session_id, by="carol", password="not-it-at-all", note="ok")
    with pytest.raises(RoleRefusedError, match=r"^sign-off needs the physician role$"):
        review.sign_off(built.session_id, by="bob", password=NURSE_PW, note="ok")
    assert review.sign_offs(built.session_id) == []  # nothing stored by the refusals
    signed = review.sign_off(
        built.session_id, by="carol", password=DOC_PW, note="surge managed", at=T0 + timedelta(1)
    )
    assert (signed.kind, signed.signer, signed.meaning, signed.verified) == (
        SIGN_OFF,
        "Dr Carol Ng",
        SIGNATURE_MEANING,
        True,
    )
    later = review.sign_off(built.session_id, by="carol", password=DOC_PW, note="follow-up")
    assert (later.kind, later.verified) == (ADDENDUM, True)
    (row,) = review.search(SessionFilter())
    assert row.reviewed_by == "Dr Carol Ng"  # the browser shows the printed name
    stored = review.load(built.session_id).sign_offs
    assert [(s.kind, s.printed_name, s.reviewed_by, s.verified) for s in stored] == [
        (SIGN_OFF, "Dr Carol Ng", "carol", True),
        (ADDENDUM, "Dr Carol Ng", "carol", True),
    ]


def test_without_accounts_the_typed_name_signs_unverified(migrated: Engine) -> None:
    built = build_session(migrated)
    review = ReviewRepository(migrated)
    assert not review.has_accounts()
    signed = review.sign_off(built.session_id, by="Dr Lee", note="ok")
    assert (signed.signer, signed.verified, signed.meaning) == ("Dr Lee", False, SIGNATURE_MEANING)
    assert review.sign_offs(built.session_id)[0].verified is False


def test_a_session_in_progress_cannot_be_signed(migrated: Engine) -> None:
    running = build_session(migrated, ended=False)
    review = ReviewRepository(migrated)
    with pytest.raises(SessionInProgressError, match="still in progress"):
        review.sign_off(running.session_id, by="Dr Lee")
    assert review.sign_offs(running.session_id) == []


def test_a_signed_record_refuses_changes_and_takes_addenda(migrated: Engine) -> None:
    signed = build_session(migrated)
    other = build_session(migrated, start=T0 + timedelta(days=7))
    review = ReviewRepository(migrated)
    # Before the signature the record takes events (the writer's own path).
    with migrated.begin() as conn:
        apply_ops(conn, item_ops(_note(signed.session_id, 50)))
    review.sign_off(signed.session_id, by="Dr Lee", note="signed")
    n_events = len(review.load(signed.session_id).events)
    refused = [
        lambda conn: apply_ops(conn, item_ops(_note(signed.session_id, 51))),
        lambda conn: conn.execute(
            update(EventRow).where(EventRow.session_id == signed.session_id).values(text="edit")
        ),
        lambda conn: conn.execute(delete(EventRow).where(EventRow.session_id == signed.session_id)),
        lambda conn: conn.execute(
            update(DischargeCheckRow)
            .where(DischargeCheckRow.session_id == signed.session_id)
            .values(passed=False)
        ),
        lambda conn: conn.execute(
            update(SessionReviewRow)
            .where(SessionReviewRow.session_id == signed.session_id)
            .values(note="changed")
        ),
        lambda conn: conn.execute(
            delete(SessionReviewRow).where(SessionReviewRow.session_id == signed.session_id)
        ),
    ]
    for change in refused:
        with pytest.raises(IntegrityError, match="add an addendum instead"), migrated.begin() as c:
            change(c)
    loaded = review.load(signed.session_id)
    assert len(loaded.events) == n_events
    assert all(passed for _i, passed, *_r in loaded.discharge_checks)
    assert [s.note for s in loaded.sign_offs] == ["signed"]
    # The discharge checks were there to refuse (the builder answers the checklist).
    assert loaded.discharge_checks
    # An addendum is still taken, and another session's record is untouched by the rule.
    assert review.sign_off(signed.session_id, by="Dr Lee", note="later").kind == ADDENDUM
    with migrated.begin() as conn:
        apply_ops(conn, item_ops(_note(other.session_id, 51)))
    assert any(e.text == "late" for e in review.load(other.session_id).events)
    assert json.dumps([s.note for s in review.sign_offs(signed.session_id)]) == json.dumps(
        ["signed", "later"]
    )


@pytest.mark.expected_log(
    "storage",
    r"^storage: 1 row\(s\) of batch \w+ not stored \(kept aside\): the database refused it "
    r"\((IntegrityError|IntegrityConstraintViolation)",
)
@pytest.mark.expected_log(
    "storage",
    r"^storage: 1 row\(s\) could not be stored \(kept aside in rejected-\w+\.jsonl\): "
    r"the database refused it \((IntegrityError|IntegrityConstraintViolation)",
)
def test_the_writer_keeps_a_late_event_of_a_signed_record_aside(
    migrated: Engine, tmp_path: Path
) -> None:
    """A change that reaches a signed record anyway (a journal replayed after the signature)
    is refused by the database, kept aside by the writer, and costs nothing else."""
    signed = build_session(migrated)
    other = build_session(migrated, start=T0 + timedelta(days=7))
    review = ReviewRepository(migrated)
    review.sign_off(signed.session_id, by="Dr Lee")
    before = len(review.load(signed.session_id).events)
    journal_dir = tmp_path / "journal"
    writer = StorageWriter(migrated, journal_dir=journal_dir)
    writer.start()
    try:
        writer.submit(_note(signed.session_id, 90))
        writer.submit(_note(other.session_id, 90))
        assert writer.flush()
    finally:
        writer.stop()
    assert len(review.load(signed.session_id).events) == before
    assert any(e.text == "late" for e in review.load(other.session_id).events)
    (aside,) = journal_dir.glob("rejected-*.jsonl")
    assert "late" in aside.read_text()  # kept for an engineer, not lost
