"""What the console reads at run time besides its code; in the wheel, ``infusion_resources``.

The repository keeps these files at its top, in ``resources/``; pyproject maps the directory to
the package ``infusion_resources``, so an installed console (editable or not) finds them with
``importlib.resources`` wherever it runs from.  Code reads them through :mod:`devices.resources`,
never by a path relative to its own source file.
"""
