"""The provisioning operations of a smartphone JPKI applet, defined abstractly, and the kit's command set
as one encoding of them.

No public specification fixes the APDUs a TSM personalises the JPKI applet with; the seeds fix what must
happen (seed 004 pp.15-18, 21-26; docs/spec/system.md). :class:`ProvisioningAdapter` is that "what": read
the SE identification ID, commit (the app asks the SE for S = H[R] before it signs the application), generate
the key pair on the chip, read the public key and R, store a certificate, set, block and (the app) unblock
with a temporary PIN, delete the keys and certificates. A vendor whose applet encodes them otherwise writes
an adapter and names it in the profile (``ixit.provisioning.adapter: module:Class``, or the name of an
entry point of the group ``jpkikit.provisioning_adapters``); the conformance tests (conformance/
provisioning) drive the SE only through it. :class:`KitCommandSet` is the adapter of the kit's own command
set (docs/provisioning-commands.md).

Errors: an operation the SE refuses raises :class:`Refused` (a non-conformance where the test expected it
to work; the expected outcome where the test checks a refusal); an answer that does not parse raises
:class:`~jpkikit.vocab.jpki.provisioning.SeAnswerError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.errors import NonConformance
from jpkikit.host.card_session import exchange
from jpkikit.host.link import Transport
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.secrets import Secret
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.jpki import provisioning as prov
from jpkikit.vocab.scp03.keys import StaticKeys

SLOTS = ("auth", "sign")
#: RESET RETRY COUNTER P2: 80 + SFI of the PIN EF (auth 0018, sign 001B; docs/spec/jpki-applet.md, file map).
PIN_P2 = {"auth": 0x98, "sign": 0x9B}


class Refused(NonConformance):
    """The SE refused a provisioning operation. ``sw`` is its status word; ``tries_left`` the temporary PIN
    tries an unblock with a wrong temporary PIN leaves (None when the SE does not say)."""

    def __init__(self, operation: str, sw: int, tries_left: int | None = None) -> None:
        super().__init__(f"the SE refused {operation} with {sw:04X}")
        self.operation, self.sw, self.tries_left = operation, sw, tries_left


@dataclass(frozen=True)
class ProvisioningTarget:
    """Where the operations go: the JPKI applet, the SD whose key set opens SCP03 through it, the level."""

    jpki_aid: bytes
    sd_aid: bytes | None
    keys: StaticKeys
    level: int


@dataclass(frozen=True)
class PublicKeyAndR:
    public_key: rsa.RSAPublicKey
    r: bytes


class ProvisioningAdapter(ABC):
    """One applet's encoding of the provisioning operations, on one link. ``options`` are the profile's
    ``ixit.provisioning.options`` (anything the vendor's adapter needs)."""

    #: A short name for traces and reports.
    name: ClassVar[str] = "adapter"
    #: The commands of this encoding whose data field carries a secret (temporary PIN, PIN): (proprietary
    #: class, INS) -> what; the seam adds them to the tracer's redaction table (jpkikit.vocab.commands).
    secret_commands: ClassVar[dict[tuple[bool, int], str]] = {}

    def __init__(self, link: Transport, target: ProvisioningTarget, options: Mapping[str, Any] | None = None):
        self.link = link
        self.target = target
        self.options = dict(options or {})
        #: The plain data of every answer to a TSM-side operation, as the SE sent it (PROV-KEY-02 looks for
        #: key material in them).
        self.answers: list[bytes] = []

    # -- the app's operations (no secure channel: the app holds no SCP03 keys) -------------------------

    @abstractmethod
    def commit(self, slot: str) -> bytes:
        """Seed 004 p.15 (before ①②): the SE draws R for ``slot`` and answers S = H[R]."""

    @abstractmethod
    def unblock(self, kind: str, temp: Secret | bytes, new: Secret | bytes) -> None:
        """Seed 004 p.17 ㉛-㉟: unblock the ``kind`` PIN with the temporary PIN, setting the new PIN."""

    # -- the TSM's operations (under SCP03 with the target's key set, at ``level``) ---------------------

    @abstractmethod
    def open(self, level: int | None = None) -> None:
        """Select the applet and open the secure channel at ``level`` (default: the target's; 0: select
        only, no secure channel, so that the operations go unprotected)."""

    def close(self) -> None:  # noqa: B027 (an optional hook: an encoding without sessions does nothing)
        """End the secure channel (the next open starts a new session)."""

    @abstractmethod
    def read_se_id(self) -> bytes:
        """Seed 004 p.15 ⑥⑦, p.18 ⑦⑧."""

    @abstractmethod
    def generate_key(self, slot: str) -> None:
        """Step ⑰: a key pair generated on the chip for ``slot``, after a commit."""

    @abstractmethod
    def read_public_key(self, slot: str) -> PublicKeyAndR:
        """Step ⑰/⑱: the public key of the pair generated last for ``slot``, and the R of its commitment."""

    @abstractmethod
    def store_certificate(self, slot: str, der: bytes, ca: bool = False) -> None:
        """Steps ㉑㉒: the slot's certificate (or, ``ca``, its CA certificate)."""

    @abstractmethod
    def set_temp_pin(self, slot: str, temp: Secret | bytes) -> None:
        """Seed 004 p.17 ㉔㉕."""

    @abstractmethod
    def block_pin(self, slot: str) -> None:
        """Seed 004 p.17 ㉖㉗."""

    @abstractmethod
    def delete_keys(self, slot: str | None = None) -> None:
        """Seed 004 p.25 ⑥: keys and certificates of ``slot`` (None: every slot)."""


class ApduAdapter(ProvisioningAdapter):
    """An adapter that speaks APDUs: the app's commands in plain after SELECT of the JPKI applet, the TSM's
    under the target's SCP03 session (``layer``), every answer kept."""

    def __init__(self, link: Transport, target: ProvisioningTarget, options: Mapping[str, Any] | None = None):
        super().__init__(link, target, options)
        self.layer = Scp03Layer(link, target.keys, sd_aid=target.sd_aid)

    def _plain(self, command: CommandApdu) -> ResponseApdu:
        return ResponseApdu.parse(exchange(self.link.transmit, command.to_bytes()))

    def _select(self) -> None:
        r = self._plain(CommandApdu(0x00, 0xA4, 0x04, 0x0C, self.target.jpki_aid))
        if r.sw != 0x9000:
            raise Refused("SELECT of the JPKI applet", r.sw)

    def _send(self, what: str, command: CommandApdu) -> ResponseApdu:
        r = ResponseApdu.parse(exchange(self.layer.transmit, command.to_bytes(), fix_le=False))
        self.answers.append(r.data)
        if r.sw != 0x9000:
            raise Refused(what, r.sw)
        return r


class KitCommandSet(ApduAdapter):
    """The kit's provisioning command set (docs/provisioning-commands.md, jpkikit.vocab.jpki.provisioning)."""

    name = "kit command set"

    def __init__(self, link: Transport, target: ProvisioningTarget, options: Mapping[str, Any] | None = None):
        super().__init__(link, target, options)
        self._generated: dict[str, PublicKeyAndR] = {}

    def commit(self, slot: str) -> bytes:
        self._select()
        r = self._plain(prov.commit(prov.SLOT_NAMES[slot]))
        if r.sw != 0x9000:
            raise Refused("COMMIT", r.sw)
        return r.data

    def unblock(self, kind: str, temp: Secret | bytes, new: Secret | bytes) -> None:
        self._select()
        r = self._plain(prov.unblock_pin(PIN_P2[kind], temp, new))
        if r.sw != 0x9000:
            tries = r.sw & 0x0F if r.sw & 0xFFF0 == 0x63C0 else None
            raise Refused("RESET RETRY COUNTER with the temporary PIN", r.sw, tries)

    def open(self, level: int | None = None) -> None:
        self.layer.end()
        self._select()
        if level != 0:
            self.layer.open(self.target.level if level is None else level)

    def close(self) -> None:
        self.layer.end()

    def read_se_id(self) -> bytes:
        return self._send("GET SE ID", prov.get_se_id()).data

    def generate_key(self, slot: str) -> None:
        r = self._send("GENERATE KEY", prov.generate_key(prov.SLOT_NAMES[slot]))
        generated = prov.parse_generated_key(r.data)
        self._generated[slot] = PublicKeyAndR(generated.public_key, generated.r)

    def read_public_key(self, slot: str) -> PublicKeyAndR:
        if slot not in self._generated:
            raise Refused(f"reading the {slot} public key (no key generated in this session)", 0x6985)
        return self._generated[slot]

    def store_certificate(self, slot: str, der: bytes, ca: bool = False) -> None:
        for command in prov.put_certificate(prov.SLOT_NAMES[slot], der, ca=ca):
            self._send("PUT CERTIFICATE", command)

    def set_temp_pin(self, slot: str, temp: Secret | bytes) -> None:
        from jpkikit.secrets import reveal_bytes

        self._send("SET TEMPORARY PIN", prov.set_temp_pin(prov.SLOT_NAMES[slot], reveal_bytes(temp)))

    def block_pin(self, slot: str) -> None:
        self._send("BLOCK PIN", prov.block_pin(prov.SLOT_NAMES[slot]))

    def delete_keys(self, slot: str | None = None) -> None:
        self._send("DELETE KEYS", prov.delete_keys(prov.SLOT_NAMES[slot] if slot else prov.ALL_SLOTS))
