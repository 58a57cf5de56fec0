"""The reference handset's internal outcomes that are not OMAPI exceptions (AOSP's own Java exceptions inside
the SecureElement service): they decide what the app gets, as AOSP decides it."""

from __future__ import annotations


class MissingResource(Exception):
    """java.util.MissingResourceException: no logical channel for the ACE (the app's open call returns null),
    or a basic channel refused on a UICC."""


class AccessControlError(Exception):
    """java.security.AccessControlException inside the ACE: the app gets SecurityException."""


class NotAvailable(Exception):
    """The OMAPI call does not exist on the handset's Android API level (the agent answers
    ``unsupported``)."""
