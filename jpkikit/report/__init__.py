"""Certification: requirement coverage, verdict aggregation, Allure integration, the certification report,
the signed evidence bundle, and the declared-versus-observed probe.

Modules: ``coverage`` (static gate: every requirement has a test or a waiver), ``verdicts`` (per-requirement
and per-profile verdicts), ``results`` (reading a results directory back), ``allure`` (categories, links,
environment), ``certreport`` (Markdown/HTML/JSON/PDF report) with ``i18n`` (its fixed texts in Japanese
and English), ``claims`` (the ICS as tables), ``charts`` (SVG per area), ``exchanges`` (the decisive APDU
exchanges of a deviation) and ``pdf`` (WeasyPrint), ``bundle`` (evidence bundle, Ed25519), ``probe``
(ATR, CPLC, card recognition data, token label, ARA-M, SCP03 levels versus the profile).
"""
