"""Reports and exports built from the stored session record: PDF, FHIR R4 (R4B models), HTML.

``console.reports.pdf`` uses QtGui (QPdfWriter, QPainter, QTextDocument) and never QtWidgets,
so a headless export can run it; the other modules are Qt-free.
"""
