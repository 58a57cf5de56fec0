"""The language of a run's reports and Allure results: ``ja`` or ``en``.

One rule, used by ``jpkikit certify`` (the Allure results), ``jpkikit report`` and ``jpkikit campaign``:
the ``--lang`` given, else the profile's ``ixit.report.lang``, else the locale (``LC_ALL``, then
``LC_MESSAGES``, then ``LANG``: a value starting with
``ja``, such as ``ja_JP.UTF-8``, means Japanese), else English.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from jpkikit.errors import KitError

LANGS = ("ja", "en")
DEFAULT = "en"


def locale_lang(environ: Mapping[str, str] | None = None) -> str:
    """``ja`` when the locale is Japanese, else ``en``. The first of LC_ALL, LC_MESSAGES, LANG that is set
    decides (POSIX precedence)."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "ja" if value.lower().startswith("ja") else DEFAULT
    return DEFAULT


def resolve_lang(given: str | None, environ: Mapping[str, str] | None = None, profile: Any = None) -> str:
    """The language of a report: ``given`` (checked), else ``profile``'s ixit.report.lang, else the
    locale's."""
    if given:
        if given not in LANGS:
            raise KitError(f"unknown report language {given!r}; expected one of {', '.join(LANGS)}")
        return given
    report = getattr(getattr(profile, "ixit", None), "report", None)
    if report is not None and report.lang:
        return str(report.lang)
    return locale_lang(environ)
