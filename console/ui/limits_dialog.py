"""Change one alarm limit for this patient during the session, with a reason.

Every change goes through the alarm engine's validation (low above high, outside the
physiological range, wrong unit: refused with the engine's message, nothing changes) and is
recorded with who, when, why, and the old and new values (clinical.md H; issue "Threshold
flagging": per-patient overrides and changes during a session).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.domain.alarm_rules import LimitError, LimitRule
from console.domain.alarms import METRIC_LABELS
from console.services.chair_service import ChairService


def _describe(rule: LimitRule) -> str:
    return f"{METRIC_LABELS[rule.metric]} {rule.describe()}"


class LimitsDialog(QDialog):
    """The limits in force, and one edit at a time."""

    def __init__(self, service: ChairService, user: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Alarm limits - {service.settings.chair_name}")
        self.service = service
        self.user = user
        self.rules: list[LimitRule] = list(service.policy.rules)
        self.table = QTableWidget(len(self.rules), 4)
        self.table.setObjectName("limitsTable")
        self.table.setHorizontalHeaderLabels(["Parameter", "Side", "Limit", "Priority"])
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, rule in enumerate(self.rules):
            cells = (
                METRIC_LABELS[rule.metric],
                rule.direction.value,
                rule.describe(),
                rule.priority.label,
            )
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.value = QDoubleSpinBox()
        self.value.setObjectName("limitValue")
        self.value.setRange(0.0, 300.0)
        self.value.setDecimals(0)
        self.reason = QLineEdit()
        self.reason.setObjectName("limitReason")
        self.reason.setPlaceholderText(
            "why (required), e.g. 'physician order: hypertensive history'"
        )
        self.message = QLabel()
        self.message.setObjectName("limitMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #ff8a65; font-weight: 600;")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Apply | QDialogButtonBox.StandardButton.Close
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("New limit", self.value)
        form.addRow("Reason", self.reason)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Profile in force: {service.pipeline.engine.profile.name}"))
        layout.addWidget(self.table)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.table.currentCellChanged.connect(self._on_table_current_cell_changed)
        if self.rules:
            self.table.selectRow(0)
        self.resize(560, 520)

    @property
    def selected(self) -> LimitRule | None:
        """The limit being edited."""
        row = self.table.currentRow()
        return self.rules[row] if 0 <= row < len(self.rules) else None

    def select(self, rule: LimitRule) -> None:
        """Select ``rule``'s row (tests and shortcuts)."""
        self.table.selectRow(self.rules.index(rule))

    def apply(self) -> bool:
        """Apply the edit; False (with the reason shown) when refused."""
        rule = self.selected
        if rule is None:
            self.message.setText("Choose the limit to change.")
            return False
        reason = self.reason.text().strip()
        if not reason:
            self.message.setText("A reason is required: it is stored with the change.")
            return False
        try:
            self.service.alarms.override_limit(
                rule.metric,
                rule.direction,
                rule.priority,
                float(self.value.value()),
                user=self.user,
                reason=reason,
            )
        except LimitError as err:
            self.message.setText(f"Refused: {err}")
            return False
        self.message.setStyleSheet("color: #3ddc84; font-weight: 600;")
        self.message.setText(
            f"Changed {_describe(rule)} to {self.value.value():g}; recorded by {self.user}."
        )
        self.accept()
        return True

    def _on_table_current_cell_changed(self, row: int, *_args: int) -> None:
        if 0 <= row < len(self.rules):
            self.value.setValue(self.rules[row].limit)
