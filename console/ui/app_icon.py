"""The application's icon and its desktop identity, from the files shipped in the wheel.

The icon is drawn once, as ``resources/icons/infusion-console.svg``; the 256 px PNG beside it is
rendered from the SVG with Qt (:func:`render_png`, ``python -m console.ui.app_icon`` rewrites
it) for desktops and window managers that want a bitmap.  ``tests/console/ui/test_app_icon.py``
fails when the PNG no longer matches its SVG.

The same name, ``infusion-console``, is the icon's theme name and the desktop entry's file
name (``resources/desktop/infusion-console.desktop``), so a desktop that installed the entry
(``infusion-console desktop-entry --install``) matches the running window to it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from devices.resources import resource_path

#: The icon's theme name and the desktop entry's basename.
ICON_NAME = "infusion-console"
#: The size of the shipped PNG.
PNG_SIZE = 256


def svg_path() -> Path:
    """The shipped SVG icon."""
    return resource_path("icons", f"{ICON_NAME}.svg")


def png_path() -> Path:
    """The shipped PNG icon, rendered from the SVG."""
    return resource_path("icons", f"{ICON_NAME}.png")


def app_icon() -> QIcon:
    """The window icon: the SVG for every size, the PNG where a bitmap is asked for."""
    icon = QIcon(str(svg_path()))
    icon.addFile(str(png_path()), QSize(PNG_SIZE, PNG_SIZE))
    return icon


def install_app_icon(app: QGuiApplication) -> None:
    """Give every window of ``app`` the icon, and tie the app to its desktop entry."""
    app.setWindowIcon(app_icon())
    app.setDesktopFileName(ICON_NAME)


def render_png(svg: Path, size: int = PNG_SIZE) -> QImage:
    """``svg`` drawn at ``size`` x ``size`` pixels on a transparent background."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    """Rewrite the PNG in the checkout from its SVG (after the SVG was edited)."""
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    assert app is not None
    if not render_png(svg_path()).save(str(png_path()), b"PNG"):
        sys.stderr.write(f"cannot write {png_path()}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
