"""The application icon: shipped, rendered from its SVG, and set on every window (issue 15)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from console.ui.app_icon import (
    ICON_NAME,
    PNG_SIZE,
    install_app_icon,
    png_path,
    render_png,
    svg_path,
)

pytestmark = pytest.mark.gui


def _mean_channel_difference(a: QImage, b: QImage) -> float:
    """Mean absolute difference of the RGBA channels, 0..255."""
    a = a.convertToFormat(QImage.Format.Format_RGBA8888)
    b = b.convertToFormat(QImage.Format.Format_RGBA8888)
    assert (a.width(), a.height()) == (b.width(), b.height())
    bytes_a, bytes_b = bytes(a.constBits()), bytes(b.constBits())
    return sum(abs(x - y) for x, y in zip(bytes_a, bytes_b, strict=True)) / len(bytes_a)


def test_the_png_is_the_svg_rendered_at_256_px(qapp: QApplication) -> None:
    shipped = QImage(str(png_path()))
    assert (shipped.width(), shipped.height()) == (PNG_SIZE, PNG_SIZE)
    # The same drawing, up to anti-aliasing differences between Qt releases; an edited SVG
    # whose PNG was not re-rendered (python -m console.ui.app_icon) differs far more.
    assert _mean_channel_difference(shipped, render_png(svg_path())) < 1.0
    blank = QImage(PNG_SIZE, PNG_SIZE, shipped.format())
    blank.fill(Qt.GlobalColor.transparent)
    assert _mean_channel_difference(shipped, blank) > 20  # the measure sees a drawing


def test_every_window_gets_the_icon(qapp: QApplication, qtbot: QtBot) -> None:
    before = qapp.windowIcon()
    try:
        install_app_icon(qapp)
        assert qapp.desktopFileName() == ICON_NAME
        window = QWidget()
        qtbot.addWidget(window)
        icon = window.windowIcon()
        assert not icon.isNull()
        drawn = icon.pixmap(64, 64).toImage()
        assert (drawn.width(), drawn.height()) == (64, 64)
        expected = render_png(svg_path(), 64)
        assert _mean_channel_difference(drawn, expected) < 2.0
    finally:
        qapp.setWindowIcon(before)
        qapp.setDesktopFileName("")
