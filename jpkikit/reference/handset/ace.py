"""The Access Control Enforcer as Android's SecureElement service has it (AOSP
security/AccessControlEnforcer.java;
SEAC v1.1; docs/spec/globalplatform.md, "Rule resolution on the device" and "Android enforcement").

- Initialisation tries the ARA-M (ara.AraController) and, on a UICC, then the ARF (arf.ArfController). No
ARA-M
  on an eSE: full access until API 29, deny all from API 30; a UICC with neither: deny all; an ARA-M that does
  not work (no refresh tag, rules that do not parse, GET DATA errors): deny all. An I/O error or no free
  channel
  leaves the ACE to be initialised again at the next open call (the app gets IOException or null).
- An open call reads the refresh tag first (except right after initialisation) and takes the app's access from
  the rule cache: the app's SHA-1 and SHA-256 certificate hashes, in that order per signing certificate.
- ``check_command`` applies the channel's access to each transmitted command (APDU filters: header AND mask).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from jpkikit.reference.apps import AppIdentity
from jpkikit.reference.handset.ara import AraController
from jpkikit.reference.handset.arf import ArfController
from jpkikit.reference.handset.errors import AccessControlError, MissingResource
from jpkikit.reference.handset.rules import A, AccessRuleCache, ChannelAccess
from jpkikit.vocab.gp import seac
from jpkikit.vocab.omapi.errors import NoSuchElementError, OmapiIOError, SecurityError

if TYPE_CHECKING:
    from jpkikit.reference.handset.channel import Channel
    from jpkikit.reference.handset.terminal import Terminal

TAG = "SecureElement-AccessControlEnforcer"


class AccessControlEnforcer:
    """One per terminal (reader)."""

    ara_class: type[AraController] = AraController
    arf_class: type[ArfController] = ArfController
    cache_class: type[AccessRuleCache] = AccessRuleCache

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.android = terminal.android
        self.cache = self.cache_class(terminal.android)
        self.ara: AraController | None = None
        self.arf: ArfController | None = None
        self.use_ara = True
        self.use_arf = False
        self.full_access = False
        self.no_rule_found = False
        self.rules_read = False
        self.initial = ChannelAccess()
        self.deny_reason = ""

    @property
    def uicc(self) -> bool:
        return self.terminal.uicc

    @property
    def default_access_control_aid(self) -> bytes:
        return self.ara.aid if self.ara is not None else seac.ARAM_AID

    def reset(self) -> None:
        self.cache.reset()
        self.ara = None
        self.arf = None

    def _security_profile(self) -> None:
        """readSecurityProfile (a user build): ARA and ARF, no full access; ARF only on a UICC; an eSE gets
        full access without rules until API 29."""
        self.use_ara = True
        self.use_arf = self.uicc
        self.full_access = not self.uicc and self.android.ese_full_access_without_rules

    def initialize(self) -> None:
        status = True
        deny = ""
        self.initial = ChannelAccess.allowed()
        self._security_profile()
        self.no_rule_found = False
        if self.use_ara:
            if self.ara is None:
                self.ara = self.ara_class(self.cache, self.terminal)
            try:
                self.ara.initialize()
                self.use_arf = False
                self.full_access = False
            except (OmapiIOError, MissingResource):
                raise
            except NoSuchElementError as exc:
                self.use_ara = False
                deny = str(exc)
                if not self.use_arf:
                    self.no_rule_found = True  # the ARA-M may be installed later
                    status = self.full_access
            except Exception as exc:
                self.use_ara = False
                deny = str(exc)
                if self.uicc:
                    if not self.use_arf:
                        self.full_access = False
                        status = False
                else:  # an ARA-M that does not work: everything is denied
                    self.use_arf = False
                    self.full_access = False
                    status = False
        if self.use_arf:
            if self.arf is None:
                self.arf = self.arf_class(self.cache, self.terminal)
            try:
                self.arf.initialize()
                self.full_access = False
            except (OmapiIOError, MissingResource):
                raise
            except NoSuchElementError as exc:
                self.use_arf = False
                deny = str(exc)
                self.no_rule_found = True
                status = self.full_access
            except Exception as exc:
                self.use_arf = False
                deny = str(exc)
                self.full_access = False
                status = False
        if not self.use_arf and not self.use_ara and not self.full_access:
            self.initial = ChannelAccess.denied(deny)
        self.deny_reason = deny
        self.rules_read = status

    # -- decisions --------------------------------------------------------------------------------------

    def set_up_channel_access(
        self, aid: bytes | None, app: AppIdentity, check_refresh_tag: bool
    ) -> ChannelAccess:
        if self.initial.access == A.DENIED:
            raise AccessControlError(f"{TAG} access denied: {self.initial.reason}")
        access: ChannelAccess | None = None
        if self.use_ara or self.use_arf:
            access = self._channel_access(aid, app, check_refresh_tag)
        if access is None or (access.apdu != A.ALLOWED and not access.use_filter):
            if self.full_access:
                access = self.initial
            else:
                raise AccessControlError(f"{TAG}no APDU access allowed! ({access.reason if access else ''})")
        access = access.copy()
        access.package = app.package or app.name
        return access

    def hashes(self, app: AppIdentity) -> tuple[bytes, ...]:
        """The app's certificate hashes the ACE computes: SHA-1 then SHA-256 (SHA-1 only before API 29)."""
        return tuple(h for h in app.cert_hashes() if len(h) == 20 or self.android.sha256_hashes)

    def _channel_access(self, aid: bytes | None, app: AppIdentity, check_refresh_tag: bool) -> ChannelAccess:
        hashes = self.hashes(app)
        if not hashes:
            raise AccessControlError("Application certificates are invalid or do not exist.")
        if check_refresh_tag:
            self.update_rules_if_needed()
        return self.access_rule(aid, hashes)

    def access_rule(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess:
        found = self.cache.find(aid, hashes) if self.rules_read else None
        return found if found is not None else ChannelAccess.denied("no access rule found!")

    def update_rules_if_needed(self) -> None:
        if self.use_ara and self.ara is not None:
            try:
                self.ara.initialize()
                self.use_arf = False
                self.full_access = False
            except (OmapiIOError, MissingResource):
                raise
            except Exception:
                raise AccessControlError(f"No ARA applet found in {self.terminal.name}") from None
        elif self.use_arf and self.arf is not None:
            try:
                self.arf.initialize()
            except (OmapiIOError, MissingResource):
                raise
            except Exception:
                raise AccessControlError(f"No ARF found in {self.terminal.name}") from None

    def check_command(self, channel: Channel, command: bytes) -> None:
        """AOSP checkCommand: SecurityException unless the channel's access allows this command."""
        ca = channel.access
        if ca is None:
            raise SecurityError(f"{TAG}Channel access not set")
        reason = ca.reason or "Unspecified"
        if ca.access != A.ALLOWED:
            raise SecurityError(f"{TAG}{reason}")
        if ca.use_filter:
            if not ca.filters:
                raise SecurityError(f"{TAG}Access Rule not available:{reason}")
            if any(f.matches(command[:4]) for f in ca.filters):
                return
            raise SecurityError(f"{TAG}Access Rule does not match: {reason}")
        if ca.apdu != A.ALLOWED:
            raise SecurityError(f"{TAG}APDU access NOT allowed")

    def is_nfc_event_allowed(self, aid: bytes, apps: Sequence[AppIdentity | None]) -> list[bool]:
        if not (self.use_ara or self.use_arf):
            return [self.full_access for _ in apps]
        out = []
        for app in apps:
            if app is None or not self.hashes(app):
                out.append(False)  # the package is not installed
                continue
            out.append(self.access_rule(aid, self.hashes(app)).nfc == A.ALLOWED)
        return out

    def check_carrier_privilege(self, app: AppIdentity, check_refresh_tag: bool) -> bool:
        if not (self.use_ara or self.use_arf):
            return False
        if check_refresh_tag:
            try:
                self.update_rules_if_needed()
            except (OmapiIOError, MissingResource):
                raise AccessControlError(f"Access-Control not found in {self.terminal.name}") from None
        if not self.rules_read:
            return False
        return self.cache.check_carrier_privilege(app.package or "", self.hashes(app))
