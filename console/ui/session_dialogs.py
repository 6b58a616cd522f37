"""Dialogs of the session workflow: start a session, gate decisions, reasons, annotations,
discharge and resume after a crash.

Every dialog only collects and checks input; the chair service applies it through the session
lifecycle, which has the last word (a dialog cannot make an illegal step legal).  Dialogs are
opened with ``open()`` (window-modal, never a blocking ``exec()``): the chair's alarms keep
updating behind them, and tests fill the fields and call ``accept()`` without a nested loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from console.domain.discharge_gate import DischargeGate
from console.domain.esketamine import SessionType
from console.domain.session import ROUTES, EventKind, GateAssessment, GateVerdict, SessionPolicy
from console.services.db_tasks import DatabaseTasks
from console.services.record_access import PatientRecord, SessionRepository, SessionSummary
from console.services.session_values import DISCHARGE_LABELS, SessionPlan
from console.ui.dialog_guard import GuardedDialog
from console.ui.session_intake_form import IntakeForm

#: Plausible weights for an adult ketamine clinic (kg); outside is almost surely a typo or lb.
WEIGHT_RANGE_KG = (20.0, 250.0)
#: Doses the dialog accepts (mg/kg); above the warning needs a second look (A 1: 0.5-1 mg/kg).
DOSE_RANGE_MG_PER_KG = (0.1, 1.5)
DOSE_WARNING_MG_PER_KG = 1.0
DURATION_RANGE_MIN = (10.0, 240.0)
VOLUME_RANGE_ML = (10.0, 1000.0)

ERROR_STYLE = "color: #ff5252; font-weight: 600;"
WARNING_STYLE = "color: #fdd835; font-weight: 600;"
OK_STYLE = "color: #7b8794;"
#: The global theme gives every widget one text colour: disabled buttons must look disabled,
#: or a nurse keeps pressing "Start session" without seeing why nothing happens.
DIALOG_STYLE = "QPushButton:disabled { color: #5c6670; } QPushButton { padding: 4px 10px; }"

PAUSE_REASONS = (
    "BP above limit",
    "dissociation",
    "nausea / vomiting",
    "patient request",
    "IV site problem",
)
STOP_REASONS = (
    "completed",
    "BP above limit",
    "dissociation",
    "nausea / vomiting",
    "patient request",
    "IV site problem",
)
RATE_REASONS = ("dissociation", "BP rising", "nausea", "physician order", "catch up after pause")
#: The start form's rows an esketamine session hides (no bag, pump or weight-based dose).
IV_ONLY_ROWS = ("dose", "total", "volume", "duration", "rate", "route", "pump")
#: The fields checked for both session types.
PATIENT_FIELDS = ("mrn", "weight", "weight_date")


@dataclass(frozen=True, slots=True)
class PlanCheck:
    """Inline messages of the start-session form, per field (errors block, warnings do not)."""

    errors: dict[str, str]
    warnings: dict[str, str]

    @property
    def ok(self) -> bool:
        """True when nothing blocks the start."""
        return not self.errors


def check_plan(
    *,
    mrn: str,
    weight_kg: float,
    weight_measured_on: date,
    dose_mg_per_kg: float,
    volume_ml: float,
    infusion_min: float,
    today: date,
    policy: SessionPolicy,
) -> PlanCheck:
    """Check the start-session form the way the nurse should read it: one message per field.

    The dialog is stricter than :class:`~console.domain.session.SessionLifecycle` (which refuses
    only the impossible) because this is where typing errors are caught: a weight in pounds, a
    dose in mg typed as mg/kg.  The lifecycle's own rules (the weight's age, its dose ceiling)
    are applied with the clinic's policy values.
    """
    errors: dict[str, str] = {}
    warnings: dict[str, str] = {}
    if not mrn.strip():
        errors["mrn"] = "enter the patient's MRN or clinic code"
    lo, hi = WEIGHT_RANGE_KG
    if not lo <= weight_kg <= hi:
        errors["weight"] = f"weight must be {lo:g}-{hi:g} kg (pounds typed as kg?)"
    age = (today - weight_measured_on).days
    if age < 0:
        errors["weight_date"] = "the weight date is in the future"
    elif age > policy.weight_max_age_days:
        errors["weight_date"] = (
            f"weight is {age} days old (clinic limit {policy.weight_max_age_days} days): "
            "weigh the patient"
        )
    dlo, dhi = DOSE_RANGE_MG_PER_KG
    dhi = min(dhi, policy.max_dose_mg_per_kg)
    if not dlo <= dose_mg_per_kg <= dhi:
        errors["dose"] = f"dose must be {dlo:g}-{dhi:g} mg/kg"
    elif dose_mg_per_kg > DOSE_WARNING_MG_PER_KG:
        warnings["dose"] = (
            f"above {DOSE_WARNING_MG_PER_KG:g} mg/kg: check the order (usual 0.5-1 mg/kg)"
        )
    vlo, vhi = VOLUME_RANGE_ML
    if not vlo <= volume_ml <= vhi:
        errors["volume"] = f"bag volume must be {vlo:g}-{vhi:g} mL"
    tlo, thi = DURATION_RANGE_MIN
    if not tlo <= infusion_min <= thi:
        errors["duration"] = f"duration must be {tlo:g}-{thi:g} min"
    elif infusion_min < 40.0:
        warnings["duration"] = "shorter than the usual 40 min: BP peaks earlier and higher"
    return PlanCheck(errors, warnings)


def _spin(
    lo: float, hi: float, value: float, step: float, decimals: int, suffix: str
) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    # Wide range on purpose: the check explains an implausible value instead of the spin box
    # silently clamping it to something the nurse did not type.
    spin.setRange(lo, hi)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setSuffix(f" {suffix}")
    spin.setKeyboardTracking(True)
    return spin


def _message_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setVisible(False)
    return label


class NewSessionDialog(GuardedDialog):
    """Start a patient's session: patient, weight, dose, infusion, pump, monitor and limits.

    The total dose and the pump rate are computed and shown, never typed.  The "Start session"
    button is enabled only when :func:`check_plan` finds no error; warnings are shown but do
    not block.

    Args:
        repository: looks up existing patients by MRN (weight and its date are filled in).
        tasks: the chair's database worker the lookup runs on (never the GUI thread).
        policy: the clinic's lifecycle presets (weight age, dose ceiling).
        today: the chair clock's date (a simulated clock may not be today).
        monitor: how the chair reaches its monitor, shown read-only.
        profile: the clinic's default threshold profile name.
        parent: Qt parent.
    """

    def __init__(
        self,
        repository: SessionRepository,
        *,
        tasks: DatabaseTasks,
        policy: SessionPolicy,
        today: date,
        monitor: str,
        profile: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("newSessionDialog")
        self.setStyleSheet(DIALOG_STYLE)
        self.setWindowTitle("New session")
        self.repository = repository
        self.tasks = tasks
        #: The MRN whose lookup is on its way to the database, if any.
        self.lookup_pending: str | None = None
        self.policy = policy
        self.today = today
        self.existing: PatientRecord | None = None
        self.check = PlanCheck({}, {})

        self.mrn = QLineEdit()
        self.mrn.setObjectName("mrn")
        self.mrn.setPlaceholderText("MRN or clinic code")
        self.patient_name = QLineEdit()
        self.patient_name.setObjectName("patientName")
        self.patient_name.setPlaceholderText("name or initials")
        self.patient_status = QLabel("enter the MRN to find the patient")
        self.patient_status.setObjectName("patientStatus")
        self.patient_status.setStyleSheet(OK_STYLE)
        self.weight = _spin(0.0, 500.0, 70.0, 0.5, 1, "kg")
        self.weight.setObjectName("weight")
        self.weight_date = QDateEdit(QDate(today.year, today.month, today.day))
        self.weight_date.setObjectName("weightDate")
        self.weight_date.setCalendarPopup(True)
        self.weight_date.setDisplayFormat("yyyy-MM-dd")
        self.dose = _spin(0.0, 5.0, 0.5, 0.05, 2, "mg/kg")
        self.dose.setObjectName("dose")
        self.total = QLabel()
        self.total.setObjectName("totalDose")
        self.total.setStyleSheet("font-size: 18px; font-weight: 700;")
        self.volume = _spin(0.0, 5000.0, 100.0, 10.0, 0, "mL")
        self.volume.setObjectName("volume")
        self.duration = _spin(0.0, 600.0, 40.0, 5.0, 0, "min")
        self.duration.setObjectName("duration")
        self.rate = QLabel()
        self.rate.setObjectName("rate")
        self.rate.setStyleSheet("font-size: 16px; font-weight: 600;")
        self.route = QComboBox()
        self.route.setObjectName("route")
        self.route.addItems(list(ROUTES))
        self.pump = QLineEdit()
        self.pump.setObjectName("pump")
        self.pump.setPlaceholderText("pump id or port (optional)")
        self.monitor = QLabel(monitor)
        self.monitor.setObjectName("monitor")
        self.monitor.setWordWrap(True)
        self.profile = QComboBox()
        self.profile.setObjectName("profile")
        self.profile.addItem(profile)
        self.profile.setToolTip(
            "The clinic's default alarm limits; patient-specific limits are changed on the "
            "chair (recorded with who and why)"
        )
        self.messages: dict[str, QLabel] = {
            key: _message_label(f"msg-{key}")
            for key in ("mrn", "weight", "weight_date", "dose", "volume", "duration")
        }

        form = QFormLayout()
        form.addRow("Patient MRN / code", self.mrn)
        form.addRow("", self.messages["mrn"])
        form.addRow("Name / initials", self.patient_name)
        form.addRow("", self.patient_status)
        form.addRow("Weight", self.weight)
        form.addRow("", self.messages["weight"])
        form.addRow("Weighed on", self.weight_date)
        form.addRow("", self.messages["weight_date"])
        form.addRow("Dose", self.dose)
        form.addRow("", self.messages["dose"])
        form.addRow("Total dose", self.total)
        form.addRow("Bag volume", self.volume)
        form.addRow("", self.messages["volume"])
        form.addRow("Infusion duration", self.duration)
        form.addRow("", self.messages["duration"])
        form.addRow("Pump rate", self.rate)
        form.addRow("Route", self.route)
        form.addRow("Pump / port", self.pump)
        form.addRow("Monitor", self.monitor)
        form.addRow("Alarm limits", self.profile)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Start session")
        self.ok_button.setObjectName("startSessionButton")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        #: The second column: session type, esketamine dose and lot, REMS questions (issue 17).
        self.intake_form = IntakeForm(today)
        self.form = form
        columns = QHBoxLayout()
        columns.addLayout(form, 1)
        columns.addSpacing(16)
        columns.addWidget(self.intake_form, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(columns)
        layout.addWidget(self.buttons)

        # The patient lookup waits for a pause in typing: one query, not one per key.
        self._lookup = QTimer(self)
        self._lookup.setSingleShot(True)
        self._lookup.setInterval(250)
        self._lookup.timeout.connect(self.look_up_patient)
        self.mrn.textChanged.connect(self._lookup.start)
        self.mrn.editingFinished.connect(self.look_up_patient)
        for spin in (self.weight, self.dose, self.volume, self.duration):
            spin.valueChanged.connect(self.validate)
        self.weight_date.dateChanged.connect(self.validate)
        self.mrn.textChanged.connect(self.validate)
        self.intake_form.changed.connect(self.validate)
        self.validate()

    # -- reading the form ----------------------------------------------------------------------
    def weight_measured_on(self) -> date:
        """The weight's date as a ``date``."""
        d = self.weight_date.date()
        return date(d.year(), d.month(), d.day())

    def plan(self) -> SessionPlan:
        """The form as a plan for :meth:`ChairService.new_session`."""
        intake = self.intake_form
        esketamine = intake.kind() is SessionType.ESKETAMINE
        return SessionPlan(
            mrn=self.mrn.text().strip(),
            display_name=self.patient_name.text().strip(),
            weight_kg=round(self.weight.value(), 1),
            weight_measured_on=self.weight_measured_on(),
            dose_mg_per_kg=round(self.dose.value(), 3),
            volume_ml=self.volume.value(),
            infusion_min=self.duration.value(),
            route=self.route.currentText(),
            pump=self.pump.text().strip(),
            profile=self.profile.currentText(),
            session_type=intake.kind(),
            esketamine_dose_mg=intake.dose_mg() if esketamine else 0.0,
            lot=intake.lot.text().strip() if esketamine else "",
            intake=intake.intake(),
        )

    # -- slots ---------------------------------------------------------------------------------
    def look_up_patient(self) -> None:
        """Ask the patient register for the MRN, on the database worker: a slow or hung
        database must not freeze the screen while the nurse types (issue 12 item 9).
        The answer fills in what is known (:meth:`show_patient`)."""
        self._lookup.stop()
        mrn = self.mrn.text().strip()
        if not mrn:
            self.lookup_pending = None
            self.show_patient(mrn, None)
            return
        if self.lookup_pending == mrn:
            return
        self.lookup_pending = mrn
        self.patient_status.setText(f"looking up {mrn} ...")
        self.patient_status.setStyleSheet(OK_STYLE)
        repository = self.repository
        self.tasks.submit(
            lambda: repository.patient(mrn),
            lambda found: self._on_lookup_answered(mrn, found),
            lambda err: self._on_lookup_failed(mrn, err),
        )

    def _on_lookup_answered(self, mrn: str, found: PatientRecord | None) -> None:
        if not isValid(self) or self.lookup_pending != mrn:
            return  # closed, or the nurse typed on: a newer lookup is coming
        self.lookup_pending = None
        if mrn == self.mrn.text().strip():
            self.show_patient(mrn, found)

    def _on_lookup_failed(self, mrn: str, err: BaseException) -> None:
        if not isValid(self) or self.lookup_pending != mrn:
            return
        self.lookup_pending = None
        self.existing = None
        reason = str(getattr(err, "orig", None) or err).splitlines()[0]
        self.patient_status.setText(f"patient register unavailable ({reason})")
        self.patient_status.setStyleSheet("color: #ffb300;")

    def show_patient(self, mrn: str, found: PatientRecord | None) -> None:
        """Show the register's answer for ``mrn`` and fill in what is known."""
        self.existing = found
        if found is None:
            self.patient_status.setText(
                "new patient: registered when the session starts" if mrn else ""
            )
            self.patient_status.setStyleSheet(OK_STYLE)
        else:
            if not self.patient_name.text().strip():
                self.patient_name.setText(found.display_name)
            weighed = ""
            if found.weight_kg is not None and found.weight_measured_on is not None:
                self.weight.setValue(found.weight_kg)
                d = found.weight_measured_on
                self.weight_date.setDate(QDate(d.year, d.month, d.day))
                weighed = f"; last weight {found.weight_kg:g} kg on {d.isoformat()}"
            self.patient_status.setText(f"existing patient {found.display_name or mrn}{weighed}")
            self.patient_status.setStyleSheet("color: #3ddc84;")
        self.intake_form.set_patient(found)
        self.validate()

    def validate(self) -> PlanCheck:
        """Re-check the form, show the inline messages and the computed values."""
        plan = self.plan()
        for widget in IV_ONLY_ROWS:  # an esketamine session has no bag, pump or mg/kg
            self.form.setRowVisible(getattr(self, widget), not plan.esketamine)
        self.total.setText(
            f"{plan.dose_mg:g} mg  ({plan.dose_mg_per_kg:g} mg/kg x {plan.weight_kg:g} kg)"
        )
        self.rate.setText(
            f"{plan.rate_ml_per_h:g} mL/h  ({plan.volume_ml:g} mL over {plan.infusion_min:g} min)"
        )
        check = check_plan(
            mrn=plan.mrn,
            weight_kg=plan.weight_kg,
            weight_measured_on=plan.weight_measured_on,
            dose_mg_per_kg=plan.dose_mg_per_kg,
            volume_ml=plan.volume_ml,
            infusion_min=plan.infusion_min,
            today=self.today,
            policy=self.policy,
        )
        if plan.esketamine:  # the IV fields are hidden: only the patient's are checked
            check = PlanCheck(
                {k: v for k, v in check.errors.items() if k in PATIENT_FIELDS},
                {k: v for k, v in check.warnings.items() if k in PATIENT_FIELDS},
            )
        intake_errors = self.intake_form.errors()
        self.intake_form.show_errors(intake_errors)
        self.intake_form.message.setStyleSheet(ERROR_STYLE)
        if intake_errors:
            check = PlanCheck({**check.errors, "intake": "; ".join(intake_errors)}, check.warnings)
        for key, label in self.messages.items():
            text = check.errors.get(key) or check.warnings.get(key)
            label.setVisible(bool(text))
            label.setText(text or "")
            label.setStyleSheet(ERROR_STYLE if key in check.errors else WARNING_STYLE)
        self.ok_button.setEnabled(check.ok)
        self.check = check
        return check

    def accept(self) -> None:
        """Close only with a valid form (Enter must not bypass the check)."""
        if self.validate().ok:
            super().accept()


class GateDialog(GuardedDialog):
    """A physician's review (elevated baseline) or override (blocked gate) before the start.

    The decision is the physician's, not the nurse's: the record stores the physician's name
    as the author and the reason (clinical.md b1).
    """

    def __init__(self, gate: GateAssessment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gateDialog")
        self.setStyleSheet(DIALOG_STYLE)
        self.override = gate.verdict is GateVerdict.BLOCKED
        #: The physician's decision is on the record (a refused start keeps it, once).
        self.recorded = False
        title = "Physician override" if self.override else "Physician review"
        self.setWindowTitle(f"Pre-dose gate: {title.lower()}")
        verdict = "DO NOT START" if self.override else "PHYSICIAN REVIEW REQUIRED"
        text = QLabel(
            f"<b>{verdict}</b><br>"
            + "<br>".join(gate.reasons)
            + (
                "<br><br>Take a baseline NIBP (NIBP now, F9) or have a physician override "
                "with a reason."
                if self.override
                else "<br><br>A physician may agree to start; name and reason are recorded."
            )
        )
        text.setWordWrap(True)
        text.setStyleSheet(ERROR_STYLE if self.override else WARNING_STYLE)
        self.physician = QLineEdit()
        self.physician.setObjectName("physician")
        self.physician.setPlaceholderText("physician's name")
        self.reason = QLineEdit()
        self.reason.setObjectName("gateReason")
        self.reason.setPlaceholderText("reason (required)")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(f"Record {title.lower()} and start")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(text)
        form.addRow("Physician", self.physician)
        form.addRow("Reason", self.reason)
        form.addRow(buttons)
        for edit in (self.physician, self.reason):
            edit.textChanged.connect(self._on_text_changed)
        self._on_text_changed()

    def _on_text_changed(self) -> None:
        self.ok_button.setEnabled(
            bool(self.physician.text().strip() and self.reason.text().strip())
        )


class ReasonDialog(GuardedDialog):
    """Ask for the reason of a pause, stop or rate change (C 16), and the new rate if any."""

    def __init__(
        self,
        title: str,
        presets: tuple[str, ...],
        *,
        rate_ml_per_h: float | None = None,
        ok_text: str = "OK",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("reasonDialog")
        self.setStyleSheet(DIALOG_STYLE)
        self.setWindowTitle(title)
        self.reason = QComboBox()
        self.reason.setObjectName("reason")
        self.reason.setEditable(True)
        self.reason.addItems(["", *presets])
        self.reason.setPlaceholderText("reason (required)")
        self.rate: QDoubleSpinBox | None = None
        form = QFormLayout(self)
        if rate_ml_per_h is not None:
            self.rate = _spin(0.0, 1000.0, rate_ml_per_h, 5.0, 1, "mL/h")
            self.rate.setObjectName("newRate")
            form.addRow("New rate", self.rate)
        form.addRow("Reason", self.reason)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.reason.currentTextChanged.connect(self._on_reason_changed)
        self._on_reason_changed(self.reason.currentText())

    def reason_text(self) -> str:
        """The chosen or typed reason."""
        return self.reason.currentText().strip()

    def set_reason(self, text: str) -> None:
        """Fill in a reason (tests, and presets chosen by code)."""
        self.reason.setCurrentText(text)

    def _on_reason_changed(self, text: str) -> None:
        self.ok_button.setEnabled(bool(text.strip()))


#: Annotation choices: label -> (event kind, text prefix, score range or None).
ANNOTATIONS: dict[str, tuple[EventKind, str, tuple[float, float] | None]] = {
    "Nausea (0-10)": (EventKind.NAUSEA, "nausea", (0.0, 10.0)),
    "Vomiting": (EventKind.SYMPTOM, "vomiting", None),
    "Dissociation, CADSS-6 (0-24)": (EventKind.DISSOCIATION, "CADSS-6", (0.0, 24.0)),
    "Dissociation, rating (0-10)": (EventKind.DISSOCIATION, "dissociation 0-10", (0.0, 10.0)),
    "Sedation, MOAA/S (0-5)": (EventKind.SEDATION, "MOAA/S", (0.0, 5.0)),
    "Intervention (drug, O2, ...)": (EventKind.INTERVENTION, "", None),
    "Symptom": (EventKind.SYMPTOM, "", None),
    "Note": (EventKind.NOTE, "", None),
}
_NEEDS_TEXT = {EventKind.INTERVENTION, EventKind.NOTE}


class AnnotationDialog(GuardedDialog):
    """Time-stamp an observation on the session (clinical.md E 22-27)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("annotationDialog")
        self.setStyleSheet(DIALOG_STYLE)
        self.setWindowTitle("Annotate session")
        self.kind = QComboBox()
        self.kind.setObjectName("annotationKind")
        self.kind.addItems(list(ANNOTATIONS))
        self.score = _spin(0.0, 24.0, 0.0, 1.0, 0, "")
        self.score.setObjectName("score")
        self.text = QLineEdit()
        self.text.setObjectName("annotationText")
        self.text.setPlaceholderText("details (drug and dose for an intervention)")
        self.message = _message_label("annotationMessage")
        self.message.setStyleSheet(ERROR_STYLE)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Record")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("What", self.kind)
        form.addRow("Score", self.score)
        form.addRow("Details", self.text)
        form.addRow(self.message)
        form.addRow(buttons)
        self.kind.currentTextChanged.connect(self._update)
        self.text.textChanged.connect(self._update)
        self._update()

    def annotation(self) -> tuple[EventKind, str, float | None]:
        """(kind, text, score) for :meth:`ChairService.annotate`."""
        kind, prefix, scale = ANNOTATIONS[self.kind.currentText()]
        detail = self.text.text().strip()
        text = "; ".join(t for t in (prefix, detail) if t)
        return kind, text, self.score.value() if scale is not None else None

    def choose(self, label: str, *, score: float | None = None, text: str = "") -> None:
        """Fill the form (tests and quick keys)."""
        self.kind.setCurrentText(label)
        if score is not None:
            self.score.setValue(score)
        self.text.setText(text)

    def _update(self) -> None:
        kind, _prefix, scale = ANNOTATIONS[self.kind.currentText()]
        self.score.setEnabled(scale is not None)
        if scale is not None:
            self.score.setRange(*scale)
        missing = kind in _NEEDS_TEXT and not self.text.text().strip()
        self.message.setText("details are required" if missing else "")
        self.message.setVisible(missing)
        self.ok_button.setEnabled(not missing)


class DischargeDialog(GuardedDialog):
    """The discharge checklist (clinical.md F 29): close with every check, or end with a reason.

    Args:
        items: the policy's checklist item keys, in order.
        answered: answers recorded so far (a second attempt shows them).
        blocker: why the checklist cannot be answered yet (e.g. observation time left), or "".
        gate: the vital-sign discharge gate (issue 11 item 5); when it refuses, closing needs
            a physician's name and reason for the override.
        parent: Qt parent.
    """

    CLOSE = "close"
    SAVE = "save"
    END_EARLY = "end_early"

    def __init__(
        self,
        items: tuple[str, ...],
        *,
        answered: dict[str, bool],
        blocker: str,
        gate: DischargeGate | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("dischargeDialog")
        self.setWindowTitle("End of session: discharge checks")
        # A visible box on the dark theme (the default indicator is dark on dark).
        self.setStyleSheet(
            "QCheckBox { font-size: 15px; padding: 3px; }"
            " QCheckBox::indicator { width: 18px; height: 18px; border: 2px solid #7b8794;"
            " border-radius: 3px; background: #0b0f14; }"
            " QCheckBox::indicator:checked { background: #3ddc84; border-color: #3ddc84; }"
            " QCheckBox:disabled { color: #5c6670; } " + DIALOG_STYLE
        )
        self.action = ""
        self.checks: dict[str, QCheckBox] = {}
        layout = QVBoxLayout(self)
        self.blocker = QLabel(blocker)
        self.blocker.setObjectName("dischargeBlocker")
        self.blocker.setWordWrap(True)
        self.blocker.setStyleSheet(WARNING_STYLE)
        self.blocker.setVisible(bool(blocker))
        layout.addWidget(self.blocker)
        for item in items:
            box = QCheckBox(DISCHARGE_LABELS.get(item, item))
            box.setObjectName(f"check-{item}")
            box.setChecked(answered.get(item, False))
            box.setEnabled(not blocker)
            box.toggled.connect(self._update)
            self.checks[item] = box
            layout.addWidget(box)
        self._refused = False
        self.refusal = QLabel()
        self.refusal.setObjectName("dischargeRefusal")
        self.refusal.setWordWrap(True)
        self.refusal.setStyleSheet(ERROR_STYLE)
        self.override_physician = QLineEdit()
        self.override_physician.setObjectName("overridePhysician")
        self.override_physician.setPlaceholderText("physician overriding the refusal")
        self.override_reason = QLineEdit()
        self.override_reason.setObjectName("overrideReason")
        self.override_reason.setPlaceholderText("reason for the override (recorded and printed)")
        for widget in (self.refusal, self.override_physician, self.override_reason):
            widget.setVisible(False)
            layout.addWidget(widget)
            if isinstance(widget, QLineEdit):
                widget.textChanged.connect(self._update)
        self.note = QLineEdit()
        self.note.setObjectName("dischargeNote")
        self.note.setPlaceholderText("note (optional)")
        self.note.setEnabled(not blocker)
        layout.addWidget(self.note)
        self.close_button = QPushButton("Close session")
        self.close_button.setObjectName("closeSessionButton")
        self.save_button = QPushButton("Save checks")
        self.save_button.setObjectName("saveChecksButton")
        self.save_button.setEnabled(not blocker)
        self.reason = QLineEdit()
        self.reason.setObjectName("endReason")
        self.reason.setPlaceholderText("reason to end without all checks (declined, transfer...)")
        self.end_button = QPushButton("End session early")
        self.end_button.setObjectName("endEarlyButton")
        cancel = QPushButton("Cancel")
        row = QHBoxLayout()
        row.addWidget(self.close_button)
        row.addWidget(self.save_button)
        row.addStretch(1)
        row.addWidget(cancel)
        layout.addLayout(row)
        early = QHBoxLayout()
        early.addWidget(self.reason, 1)
        early.addWidget(self.end_button)
        layout.addLayout(early)
        self.close_button.clicked.connect(lambda: self._finish(self.CLOSE))
        self.save_button.clicked.connect(lambda: self._finish(self.SAVE))
        self.end_button.clicked.connect(lambda: self._finish(self.END_EARLY))
        cancel.clicked.connect(self.reject)
        self.reason.textChanged.connect(self._update)
        self._blocked = bool(blocker)
        self.set_gate(gate)

    def set_gate(self, gate: DischargeGate | None) -> None:
        """Show the gate's current answer (the chair calls this as vitals and alarms change)."""
        refused = gate is not None and not gate.passed and not self._blocked
        self._refused = refused
        text = "DISCHARGE REFUSED:\n- " + "\n- ".join(gate.reasons) if gate and refused else ""
        if self.refusal.text() != text:
            self.refusal.setText(text)
        for widget in (self.refusal, self.override_physician, self.override_reason):
            widget.setVisible(refused)
        self._update()

    def answers(self) -> dict[str, bool]:
        """Each item's tick."""
        return {item: box.isChecked() for item, box in self.checks.items()}

    def end_reason(self) -> str:
        """The reason to end without the full checklist."""
        return self.reason.text().strip()

    def override(self) -> tuple[str, str]:
        """(physician, reason) of an override of a refused gate ("" when none)."""
        if not self._refused:
            return "", ""
        return self.override_physician.text().strip(), self.override_reason.text().strip()

    def _update(self) -> None:
        all_passed = all(box.isChecked() for box in self.checks.values())
        overridden = all(self.override()) if self._refused else True
        self.close_button.setEnabled(not self._blocked and all_passed and overridden)
        self.close_button.setText(
            "Close session (physician override)" if self._refused else "Close session"
        )
        self.end_button.setEnabled(bool(self.end_reason()))

    def _finish(self, action: str) -> None:
        self.action = action
        self.accept()


class ResumeDialog(QDialog):
    """Offer to continue a session the console did not close (a crash or power cut)."""

    def __init__(self, chair: str, summary: SessionSummary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resumeDialog")
        self.setStyleSheet(DIALOG_STYLE)
        self.setWindowTitle(f"{chair}: unfinished session")
        self.resume = False
        started = summary.started_at.astimezone()
        patient = f"patient {summary.patient}" if summary.patient else "no patient"
        series = f", session {summary.series_number} of the series" if summary.series_number else ""
        text = QLabel(
            f"<b>{chair} has an unfinished session #{summary.id}</b><br>"
            f"{patient}{series}; phase <b>{summary.phase}</b>; started {started:%Y-%m-%d %H:%M}."
            "<br><br>The console stopped without closing it. Resume it (the gap without data is "
            "recorded) or start a new session (the old record is closed with a note)?<br>"
            "Monitoring continues meanwhile; nothing measured now is lost."
        )
        text.setWordWrap(True)
        self.resume_button = QPushButton(f"Resume session #{summary.id}")
        self.resume_button.setObjectName("resumeButton")
        self.new_button = QPushButton("Start new session")
        self.new_button.setObjectName("startNewButton")
        self.resume_button.setDefault(True)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.new_button)
        row.addWidget(self.resume_button)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(row)
        self.resume_button.clicked.connect(lambda: self._choose(True))
        self.new_button.clicked.connect(lambda: self._choose(False))
        # Esc must not leave the question unanswered with data held in memory.
        self.setWindowFlag(Qt.WindowType.WindowCloseButtonHint, False)

    def _choose(self, resume: bool) -> None:
        self.resume = resume
        self.accept()

    def reject(self) -> None:
        """Esc does nothing: the nurse must choose."""
