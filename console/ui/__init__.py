"""Widgets: the only package that imports QtWidgets and pyqtgraph."""
