"""The start dialog's second column (issue 17): the session type, the esketamine dose and lot,
and the REMS form's start-of-session questions (concomitant medications, healthcare setting,
the patient's date of birth and sex).

Kept apart from :mod:`console.ui.session_dialogs` (long already): it only collects and checks;
:class:`~console.domain.esketamine.SessionIntake` and the session lifecycle have the last word.
Every medication starts unanswered ("-"): a silent default "No" on a REMS form would be a
false statement nobody made.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from console.domain.esketamine import (
    CONCOMITANT_MEDICATIONS,
    DEVICE_MG,
    DOSES_MG,
    SETTING_TYPES,
    SEXES,
    EsketamineRuleError,
    SessionIntake,
    SessionType,
)
from console.services.record_access import PatientRecord

#: The unanswered choice of every combo box.
UNANSWERED = "-"
#: Short labels of the medications (the grid is two columns at 1366x768).
MEDICATION_SHORT: dict[str, str] = {
    "benzodiazepines": "Benzodiazepines",
    "non_benzodiazepine_sedative_hypnotics": "Non-benzo sedative hypnotics",
    "psychostimulants": "Psychostimulants",
    "maois": "MAOIs",
    "opioids": "Opioids",
}


def _combo(name: str, items: list[str]) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    combo.addItems(items)
    return combo


class IntakeForm(QWidget):
    """Session type, esketamine dose and lot, and the REMS start questions.

    Signals:
        changed: any answer changed (the dialog re-validates).
    """

    changed = Signal()

    def __init__(self, today: date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("intakeForm")
        self.today = today
        self.session_type = _combo("sessionType", [t.label for t in SessionType])
        self.esketamine_dose = _combo(
            "esketamineDose", [f"{d:g} mg ({round(d / DEVICE_MG)} devices)" for d in DOSES_MG]
        )
        self.lot = QLineEdit()
        self.lot.setObjectName("lot")
        self.lot.setPlaceholderText("lot number of the devices")
        self.date_of_birth = QLineEdit()
        self.date_of_birth.setObjectName("dateOfBirth")
        self.date_of_birth.setPlaceholderText("YYYY-MM-DD")
        self.sex = _combo("sex", [UNANSWERED, *SEXES])
        self.setting_name = QLineEdit()
        self.setting_name.setObjectName("settingName")
        self.setting_name.setPlaceholderText("healthcare setting name")
        self.setting_type = _combo("settingType", [UNANSWERED, *SETTING_TYPES])
        self.medications = {
            key: _combo(f"med-{key}", [UNANSWERED, "No", "Yes"]) for key in CONCOMITANT_MEDICATIONS
        }
        self.message = QLabel()
        self.message.setObjectName("msg-intake")
        self.message.setWordWrap(True)
        self.message.setVisible(False)

        top = QFormLayout()
        top.addRow("Session type", self.session_type)
        self.esketamine_box = QGroupBox("Esketamine (28 mg devices, 5 min apart)")
        esk = QFormLayout(self.esketamine_box)
        esk.addRow("Dose", self.esketamine_dose)
        esk.addRow("Lot", self.lot)
        self.esketamine_box.setVisible(False)
        patient = QGroupBox("Patient and setting")
        who = QFormLayout(patient)
        who.addRow("Date of birth", self.date_of_birth)
        who.addRow("Sex", self.sex)
        who.addRow("Setting", self.setting_name)
        who.addRow("Setting type", self.setting_type)
        meds = QGroupBox("Concomitant medications")
        grid = QGridLayout(meds)
        for i, (key, combo) in enumerate(self.medications.items()):
            combo.setToolTip(CONCOMITANT_MEDICATIONS[key])
            grid.addWidget(QLabel(MEDICATION_SHORT[key]), i, 0)
            grid.addWidget(combo, i, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.esketamine_box)
        layout.addWidget(patient)
        layout.addWidget(meds)
        layout.addWidget(self.message)
        layout.addStretch(1)

        self.session_type.currentIndexChanged.connect(self._on_type_changed)
        for combo in (
            self.esketamine_dose,
            self.sex,
            self.setting_type,
            *self.medications.values(),
        ):
            combo.currentIndexChanged.connect(self.changed)
        for edit in (self.lot, self.date_of_birth, self.setting_name):
            edit.textChanged.connect(self.changed)

    # -- reading -------------------------------------------------------------------------------
    def kind(self) -> SessionType:
        """The chosen session type."""
        return list(SessionType)[self.session_type.currentIndex()]

    def dose_mg(self) -> float:
        """The chosen esketamine dose (mg)."""
        return DOSES_MG[self.esketamine_dose.currentIndex()]

    def birth_date(self) -> date | None:
        """The date of birth typed, None when empty.

        Raises:
            EsketamineRuleError: text that is not a YYYY-MM-DD date.
        """
        text = self.date_of_birth.text().strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise EsketamineRuleError(f"date of birth {text!r}: write it as YYYY-MM-DD") from None

    def intake(self) -> SessionIntake:
        """The answers (unchecked; a date of birth that does not parse is left out)."""
        answers = {"No": False, "Yes": True}
        try:
            born = self.birth_date()
        except EsketamineRuleError:
            born = None
        sex = self.sex.currentText()
        setting_type = self.setting_type.currentText()
        return SessionIntake(
            session_type=self.kind(),
            medications={k: answers.get(c.currentText()) for k, c in self.medications.items()},
            setting_name=self.setting_name.text().strip(),
            setting_type="" if setting_type == UNANSWERED else setting_type,
            date_of_birth=born,
            sex=None if sex == UNANSWERED else sex,
        )

    def errors(self) -> list[str]:
        """What blocks the start, in plain words (shown under the form)."""
        out: list[str] = []
        try:
            self.birth_date()
        except EsketamineRuleError as err:
            out.append(str(err))
        try:
            self.intake().validated(self.today)
        except EsketamineRuleError as err:
            out.append(str(err))
        if self.kind() is SessionType.ESKETAMINE and not self.lot.text().strip():
            out.append("enter the lot number of the devices")
        return out

    def show_errors(self, errors: list[str]) -> None:
        """Show (or hide) the messages under the form."""
        self.message.setText("; ".join(errors))
        self.message.setVisible(bool(errors))

    def set_patient(self, found: PatientRecord | None) -> None:
        """Fill in what the register knows of the patient (date of birth, sex)."""
        if found is None:
            return
        if found.date_of_birth is not None and not self.date_of_birth.text().strip():
            self.date_of_birth.setText(found.date_of_birth.isoformat())
        if found.sex in SEXES and self.sex.currentText() == UNANSWERED:
            self.sex.setCurrentText(found.sex)

    def _on_type_changed(self) -> None:
        self.esketamine_box.setVisible(self.kind() is SessionType.ESKETAMINE)
        self.changed.emit()


__all__ = ["MEDICATION_SHORT", "UNANSWERED", "IntakeForm"]
