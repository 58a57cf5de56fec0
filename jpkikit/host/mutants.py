"""The mutant library: named, documented rewrites of the wire, each a plausible fault of a device, written
against the specifications' commands and status words only (docs/mutation.md lists them with what each
is expected to break).

Each mutant's :class:`~jpkikit.host.mutation.MutantSpec` names the requirement IDs it contradicts and
whether the suite is expected to kill it. Nothing is registered by the side effect of an import: the
library is the tuple :data:`LIBRARY`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from jpkikit.host.mutation import (
    IU_I_OFFSET,
    MANAGE_CHANNEL_CLOSE,
    SELECT_BY_NAME,
    SELECT_EF,
    Context,
    Exchange,
    Mutant,
    MutantError,
    MutantSpec,
    Param,
)
from jpkikit.vocab.gp import seac
from jpkikit.vocab.gp.constants import GpIns
from jpkikit.vocab.iso7816.apdu import CommandApdu, cla_secure_messaging
from jpkikit.vocab.iso7816.ins import Ins
from jpkikit.vocab.iso7816.sw import SW, retries_left
from jpkikit.vocab.jpki.card import EF_TOKEN_INFO, LABEL_LENGTH, JpkiIns
from jpkikit.vocab.scp03.levels import I_PSEUDO_RANDOM
from jpkikit.vocab.scp03.session import is_error_sw

# -- helpers on raw answers -------------------------------------------------------------------------------


def sw_of(response: bytes) -> int:
    return int.from_bytes(response[-2:], "big")


def answer(data: bytes, sw: int) -> bytes:
    return bytes(data) + sw.to_bytes(2, "big")


def _interindustry(apdu: CommandApdu | None, ins: int) -> bool:
    return apdu is not None and not apdu.cla & 0x80 and apdu.ins == ins


def _proprietary(apdu: CommandApdu | None, ins: int) -> bool:
    return apdu is not None and bool(apdu.cla & 0x80) and apdu.ins == ins


def _select(apdu: CommandApdu | None, p1: int) -> bool:
    return _interindustry(apdu, Ins.SELECT) and apdu is not None and apdu.p1 == p1


def _verify_with_data(apdu: CommandApdu | None) -> bool:
    return _interindustry(apdu, Ins.VERIFY) and apdu is not None and bool(apdu.data)


def _signature(apdu: CommandApdu | None) -> bool:
    return _proprietary(apdu, JpkiIns.COMPUTE_DIGITAL_SIGNATURE)


class StatusWordSwap(Mutant):
    """Answers of ``status`` to commands :meth:`concerns` accepts become ``to`` (with no data)."""

    status: frozenset[int] = frozenset()
    to: int = SW.OK

    def concerns(self, x: Exchange) -> bool:
        return True

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        if sw_of(response) in self.status and self.concerns(x):
            return answer(b"", self.to)
        return response


# -- identity ---------------------------------------------------------------------------------------------


class Identity(Mutant):
    spec = MutantSpec(
        "identity",
        "the unit unchanged",
        "Every command is forwarded and every answer returned as the unit gave it. The baseline of a "
        "mutation run: through it the suite must give no fail.",
        breaks=(),
        expect="survives",
        why="the unit itself: the baseline every other mutant is measured against",
    )


# -- ISO/IEC 7816-4 ---------------------------------------------------------------------------------------


class SelectAbsentAidOk(StatusWordSwap):
    spec = MutantSpec(
        "select-absent-aid-ok",
        "SELECT of an absent application answers 9000",
        "SELECT by DF name (00 A4 04 ..) that the unit answers 6A82 (file or application not found) is "
        "answered 9000: a card that never says an application is missing.",
        breaks=("ISO-SEL-02",),
    )
    status = frozenset({SW.FILE_NOT_FOUND})

    def concerns(self, x: Exchange) -> bool:
        return _select(x.apdu, SELECT_BY_NAME)


class SelectReturnsFci(Mutant):
    spec = MutantSpec(
        "select-fci-despite-p2-0c",
        "SELECT with P2=0C returns an FCI",
        "A successful SELECT by DF name with P2=0C (no response data asked, ISO/IEC 7816-4 §11.1.1) is "
        "answered with an FCI template 6F {84 <AID>} and 9000.",
        breaks=("ISO-SEL-01",),
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        apdu = x.apdu
        if _select(apdu, SELECT_BY_NAME) and apdu and apdu.p2 == 0x0C and response == answer(b"", SW.OK):
            name = bytes((0x84, len(apdu.data))) + apdu.data
            return answer(bytes((0x6F, len(name))) + name, SW.OK)
        return response


class UnknownInsAnswers6E00(StatusWordSwap):
    spec = MutantSpec(
        "unknown-ins-6e00",
        "an unknown instruction answers 6E00",
        "6D00 (instruction not supported) becomes 6E00 (class not supported): the wrong one of two close "
        "status words, as a dispatcher that checks the class last would answer.",
        breaks=("ISO-ERR-01",),
    )
    status = frozenset({SW.INS_NOT_SUPPORTED})
    to = SW.CLA_NOT_SUPPORTED


class InvalidClaAnswers6D00(StatusWordSwap):
    spec = MutantSpec(
        "invalid-cla-6d00",
        "an invalid class answers 6D00",
        "6E00 (class not supported) becomes 6D00 (instruction not supported).",
        breaks=("ISO-ERR-02",),
    )
    status = frozenset({SW.CLA_NOT_SUPPORTED})
    to = SW.INS_NOT_SUPPORTED


class WrongLengthAnswers6A87(StatusWordSwap):
    spec = MutantSpec(
        "wrong-length-6a87",
        "a length error answers 6A87",
        "6700 (wrong length) becomes 6A87 (Nc inconsistent with P1-P2), wherever the unit gives it.",
        breaks=("ISO-ERR-03", "JPKI-PIN-02", "JPKI-PIN-08", "JPKI-SIG-03"),
    )
    status = frozenset({SW.WRONG_LENGTH})
    to = SW.LC_INCONSISTENT_WITH_P1P2


class MalformedApduOk(Mutant):
    spec = MutantSpec(
        "malformed-apdu-ok",
        "a malformed APDU answers 9000",
        "A command whose bytes are not a valid APDU (ISO/IEC 7816-4 §5.1: an Lc that does not match the "
        "data, two bytes after the header starting 00) is answered 9000 whatever the unit said.",
        breaks=("ISO-ERR-03", "ISO-ERR-04"),
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        return answer(b"", SW.OK) if x.apdu is None else response


class ChannelOverflowOk(Mutant):
    spec = MutantSpec(
        "channel-overflow-ok",
        "MANAGE CHANNEL open never refuses",
        "A MANAGE CHANNEL open the unit refuses (no channel left) is answered 9000 with a channel number "
        "(parameter `number`).",
        breaks=("ISO-CH-01",),
        params={"number": Param(19, "the channel number the answer hands out")},
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        apdu = x.apdu
        opening = _interindustry(apdu, Ins.MANAGE_CHANNEL) and apdu is not None and apdu.p1 == 0x00
        if opening and is_error_sw(sw_of(response)):
            return answer(bytes((self.params["number"],)), SW.OK)
        return response


class ClosedChannelAnswers(StatusWordSwap):
    spec = MutantSpec(
        "closed-channel-answers",
        "a command on a closed channel answers 9000",
        "6881 (logical channel not supported) becomes 9000: a closed or never opened channel seems to work.",
        breaks=("ISO-CH-03",),
    )
    status = frozenset({SW.LOGICAL_CHANNEL_NOT_SUPPORTED})


class BasicChannelCloses(Mutant):
    spec = MutantSpec(
        "basic-channel-closes",
        "closing the basic channel answers 9000",
        "MANAGE CHANNEL close of channel 0 (00 70 80 00), which the unit refuses, is answered 9000.",
        breaks=("ISO-CH-04",),
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        apdu = x.apdu
        closing0 = (
            _interindustry(apdu, Ins.MANAGE_CHANNEL)
            and apdu is not None
            and (apdu.p1, apdu.p2) == (MANAGE_CHANNEL_CLOSE, 0)
        )
        return answer(b"", SW.OK) if closing0 and is_error_sw(sw_of(response)) else response


# -- the JPKI application: files --------------------------------------------------------------------------


class SelectAbsentEfOk(StatusWordSwap):
    spec = MutantSpec(
        "select-absent-ef-ok",
        "SELECT of an absent EF answers 9000",
        "SELECT by file identifier (00 A4 02 0C) that the unit answers 6A82 is answered 9000.",
        breaks=("JPKI-EF-01",),
    )
    status = frozenset({SW.FILE_NOT_FOUND})

    def concerns(self, x: Exchange) -> bool:
        return _select(x.apdu, SELECT_EF)


class EfSelectAnswersLate(Mutant):
    spec = MutantSpec(
        "ef-select-answers-late",
        "SELECT EF answers come one command late",
        "Every SELECT by file identifier gets the status word the unit gave to the previous one (9000 for "
        "the first after a reset): 9000 and 6A82 reach the host out of order, as from a response queue "
        "one entry behind.",
        breaks=("JPKI-EF-01",),
    )

    def __init__(self, params: Mapping[str, object] | None = None, context: Context | None = None) -> None:
        super().__init__(params, context)
        self.previous = answer(b"", SW.OK)

    def reset(self) -> None:
        self.previous = answer(b"", SW.OK)

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        if _select(x.apdu, SELECT_EF):
            late, self.previous = self.previous, response
            return late
        return response


def _read_binary(apdu: CommandApdu | None) -> bool:
    return _interindustry(apdu, Ins.READ_BINARY)


class TokenLabelReplaced(Mutant):
    spec = MutantSpec(
        "token-label-replaced",
        "the token label is another one",
        "READ BINARY of EF 0006 (token information) returns another label in its first 32 bytes "
        "(parameter `label`, space padded).",
        breaks=("JPKI-TOK-01",),
        params={"label": Param("JPKIAPMUTANTTOKEN", "the label the unit seems to carry", str)},
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        apdu = x.apdu
        if not (_read_binary(apdu) and x.channel.ef == EF_TOKEN_INFO and sw_of(response) == SW.OK):
            return response
        assert apdu is not None
        offset = ((apdu.p1 & 0x7F) << 8) | apdu.p2
        label = str(self.params["label"]).encode("ascii")[:LABEL_LENGTH].ljust(LABEL_LENGTH, b" ")
        data = bytearray(response[:-2])
        for i in range(len(data)):
            if offset + i < LABEL_LENGTH:
                data[i] = label[offset + i]
        return answer(bytes(data), SW.OK)


class ProtectedEfReadable(Mutant):
    spec = MutantSpec(
        "protected-ef-readable",
        "a protected EF reads as zeros without its PIN",
        "READ BINARY that the unit refuses with 6982 (security status not satisfied) is answered with Ne "
        "zero bytes and 9000: the access rule seems to be missing.",
        breaks=("JPKI-EF-03", "JPKI-EF-04", "JPKI-PIN-05"),
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        apdu = x.apdu
        if _read_binary(apdu) and sw_of(response) == SW.SECURITY_STATUS_NOT_SATISFIED:
            assert apdu is not None
            return answer(bytes(min(apdu.ne or 256, 256)), SW.OK)
        return response


class ReadPastEndOk(StatusWordSwap):
    spec = MutantSpec(
        "read-past-end-ok",
        "READ BINARY past the end answers 9000",
        "READ BINARY at or past the end of the EF, which the unit answers 6B00, is answered 9000 with no "
        "data.",
        breaks=("JPKI-EF-06",),
    )
    status = frozenset({SW.WRONG_P1P2})

    def concerns(self, x: Exchange) -> bool:
        return _read_binary(x.apdu)


# -- the JPKI application: PINs ---------------------------------------------------------------------------


class VerifyCounterKept(Mutant):
    spec = MutantSpec(
        "verify-counter-kept",
        "a wrong VERIFY does not show the counter going down",
        "A wrong VERIFY that the unit answers 63Cx is answered with the count the unit showed before it "
        "(63Cx kept): the try is spent, the answer hides it.",
        breaks=("JPKI-PIN-01", "JPKI-PIN-03"),
    )

    def exchange(self, x: Exchange) -> bytes:
        key = x.wire.pin_key(x.apdu)
        before = x.wire.tries.get(key)
        response = x.forward()
        left = retries_left(sw_of(response))
        if _verify_with_data(x.apdu) and left is not None:
            kept = before if before is not None else min(left + 1, 15)
            return answer(b"", 0x63C0 | kept)
        return response


class RetryQueryFull(Mutant):
    spec = MutantSpec(
        "retry-query-full",
        "the retry query always shows a full counter",
        "VERIFY with no data (the retry query, case 1) that the unit answers 63Cx is answered with the "
        "largest count the unit has shown for that PIN: spent tries never show.",
        breaks=("JPKI-PIN-01", "JPKI-PIN-03"),
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        apdu = x.apdu
        query = _interindustry(apdu, Ins.VERIFY) and apdu is not None and not apdu.data and apdu.ne is None
        most = x.wire.most_tries.get(x.wire.pin_key(apdu))
        if query and retries_left(sw_of(response)) is not None and most is not None:
            return answer(b"", 0x63C0 | most)
        return response


class FirstWrongPinAccepted(Mutant):
    spec = MutantSpec(
        "first-wrong-pin-accepted",
        "the first wrong PIN is accepted",
        "A wrong VERIFY on a full counter (the unit answers 63C(max-1)) is answered 9000. Only the first "
        "try: the suite's own restoring VERIFYs keep seeing the truth.",
        breaks=("JPKI-PIN-01", "JPKI-PIN-03"),
    )

    def exchange(self, x: Exchange) -> bytes:
        most = x.wire.most_tries.get(x.wire.pin_key(x.apdu))
        response = x.forward()
        left = retries_left(sw_of(response))
        if _verify_with_data(x.apdu) and left is not None and most is not None and left == most - 1:
            return answer(b"", SW.OK)
        return response


class PinOffByOne(Mutant):
    spec = MutantSpec(
        "pin-counter-off-by-one",
        "a wrong VERIFY reports one try fewer than are left",
        "A wrong VERIFY that the unit answers 63Cx (x >= 1) is answered 63C(x-1).",
        breaks=("JPKI-PIN-03",),
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        left = retries_left(sw_of(response))
        if _verify_with_data(x.apdu) and left:
            return answer(b"", 0x63C0 | (left - 1))
        return response


class ChangeWithoutVerifyOk(StatusWordSwap):
    spec = MutantSpec(
        "change-without-verify-ok",
        "CHANGE REFERENCE DATA without VERIFY answers 9000",
        "CHANGE REFERENCE DATA that the unit refuses with 6982 (the PIN was not verified) is answered 9000 "
        "(the PIN is not changed).",
        breaks=("JPKI-PIN-06",),
    )
    status = frozenset({SW.SECURITY_STATUS_NOT_SATISFIED})

    def concerns(self, x: Exchange) -> bool:
        return _interindustry(x.apdu, Ins.CHANGE_REFERENCE_DATA)


# -- the JPKI application: signatures ---------------------------------------------------------------------


class SignatureCorrupted(Mutant):
    spec = MutantSpec(
        "signature-corrupted",
        "the last byte of every signature is wrong",
        "COMPUTE DIGITAL SIGNATURE (80 2A 00 80) answered 9000: the last byte of the signature is flipped.",
        breaks=("JPKI-SIG-01", "JPKI-SIG-03", "JPKI-CH-01"),
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        if _signature(x.origin) and sw_of(response) == SW.OK and len(response) > 2:
            return response[:-3] + bytes((response[-3] ^ 0x01,)) + response[-2:]
        return response


class SignatureWithoutVerify(Mutant):
    spec = MutantSpec(
        "signature-without-verify",
        "signing without VERIFY answers a signature",
        "COMPUTE DIGITAL SIGNATURE that the unit refuses with 6982 is answered 9000 with bytes the length "
        "of the last signature the unit gave (256 before any).",
        breaks=("JPKI-SIG-02", "JPKI-PIN-05"),
    )

    def __init__(self, params: Mapping[str, object] | None = None, context: Context | None = None) -> None:
        super().__init__(params, context)
        self.length = 256

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        if not _signature(x.apdu):
            return response
        if sw_of(response) == SW.OK and len(response) > 2:
            self.length = len(response) - 2
        elif sw_of(response) == SW.SECURITY_STATUS_NOT_SATISFIED:
            return answer(b"\x01" + bytes(self.length - 1), SW.OK)
        return response


# -- the link: lengths, 61xx and 6Cxx, a dead or slow unit ------------------------------------------------


class Truncated(Mutant):
    spec = MutantSpec(
        "truncated",
        "answers are cut after n bytes",
        "Every answer with more than `n` data bytes is cut to its first `n` bytes, status word kept (a "
        "buffer too small for the card's own claims).",
        breaks=("JPKI-EF-05", "JPKI-EF-07", "JPKI-SIG-01", "ISO-EXT-01"),
        params={"n": Param(128, "data bytes kept")},
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        n = self.params["n"]
        if len(response) - 2 > n:
            return response[:n] + response[-2:]
        return response


class Swallows61xx(Mutant):
    spec = MutantSpec(
        "swallows-61xx",
        "61xx becomes 9000",
        "An answer 61xx (xx more bytes waiting, ISO/IEC 7816-3 §12.2) becomes 9000 with the data it had: "
        "the waiting bytes are never offered.",
        breaks=("GP-SCP-01",),
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        return response[:-2] + b"\x90\x00" if response[-2] == 0x61 else response


class Wrong6CxxTwice(Mutant):
    spec = MutantSpec(
        "6cxx-twice",
        "READ BINARY answers 6Cxx, and 6Cxx again to the corrected command",
        "Every READ BINARY is answered 6Cxx with xx its own Le, without reaching the unit, so the command "
        "re-issued with Le = xx is answered 6Cxx again (ISO/IEC 7816-3 §12.2 expects the data).",
        breaks=("JPKI-EF-02", "JPKI-EF-05", "JPKI-TOK-01"),
    )

    def exchange(self, x: Exchange) -> bytes:
        apdu = x.apdu
        if _read_binary(apdu) and apdu is not None and apdu.ne is not None and apdu.ne <= 256:
            return answer(b"", 0x6C00 | (apdu.ne & 0xFF))
        return x.forward()


class DeadAfter(Mutant):
    spec = MutantSpec(
        "dead-after-k",
        "every command after the k-th answers 6F00",
        "From command k+1 on (counted from the proxy's start, across resets) nothing reaches the unit and "
        "every command is answered 6F00 (no precise diagnosis): an applet that crashed.",
        breaks=("JPKI-EF-01", "JPKI-PIN-03", "JPKI-SIG-01"),
        params={
            "k": Param(
                30,
                "commands answered normally first (30: past the kit's pre-flight, inside its read-back of "
                "the unit, where nothing is spent)",
            )
        },
        hazard="the unit stays as it was at command k; with a k inside a test, as that test left it (a PIN "
        "try spent, a PIN changed): the run's read-back between mutants finds it",
    )

    def exchange(self, x: Exchange) -> bytes:
        if x.index > self.params["k"]:
            return answer(b"", SW.NO_PRECISE_DIAGNOSIS)
        return x.forward()


class SlowSignature(Mutant):
    spec = MutantSpec(
        "slow-signature",
        "the n-th signature comes after the host's timeout",
        "The n-th COMPUTE DIGITAL SIGNATURE is forwarded and its answer held back `seconds` (default: the "
        "host's transport timeout plus 2 s); everything else is unchanged.",
        breaks=(),
        expect="survives",
        scope=("test_signature_verifies_with_the_certificate",),
        timed=True,
        why="a device that does not answer in time gets inconclusive, never fail "
        "(docs/certification.md): the suite must not kill this mutant, only report it",
        params={
            "n": Param(1, "which signature is slow"),
            "seconds": Param(None, "delay (default: timeout + 2)", float),
        },
    )

    def __init__(self, params: Mapping[str, object] | None = None, context: Context | None = None) -> None:
        super().__init__(params, context)
        self.signatures = 0

    def exchange(self, x: Exchange) -> bytes:
        response = x.forward()
        if _signature(x.apdu):
            self.signatures += 1
            if self.signatures == self.params["n"]:
                seconds = self.params["seconds"]
                x.sleep(seconds if seconds is not None else self.context.timeout + 2)
        return response


class MuteFromSignature(Mutant):
    spec = MutantSpec(
        "mute-from-signature",
        "the unit stops answering at the first signature",
        "From the first COMPUTE DIGITAL SIGNATURE on, nothing reaches the unit and nothing is answered "
        "(the device hangs; resets still reach it).",
        breaks=(),
        expect="survives",
        scope=("test_signature_verifies_with_the_certificate",),
        timed=True,
        why="a hung device gets inconclusive, not fail; the mutation run ends it at the per-mutant "
        "deadline and goes on with the next mutant",
    )

    def __init__(self, params: Mapping[str, object] | None = None, context: Context | None = None) -> None:
        super().__init__(params, context)
        self.mute = False

    def exchange(self, x: Exchange) -> bytes:
        if self.mute or _signature(x.apdu):
            self.mute = True
            x.sleep(math.inf)  # until the proxy is stopped
            return answer(b"", SW.NO_PRECISE_DIAGNOSIS)
        return x.forward()


# -- GlobalPlatform SCP03 ---------------------------------------------------------------------------------


def _rmac(x: Exchange, response: bytes) -> int:
    """Length of the R-MAC ``response`` carries (0: none): a successful answer in an R-MAC session."""
    length = x.wire.rmac_length(x.apdu)
    sw = sw_of(response)
    if not length or is_error_sw(sw) or sw >> 8 == 0x61 or len(response) - 2 < length:
        return 0
    return length


class RmacCorrupted(Mutant):
    spec = MutantSpec(
        "rmac-corrupted",
        "the R-MAC of protected answers is wrong",
        "In an SCP03 session with R-MAC (EXTERNAL AUTHENTICATE P1 b5 set), the last byte of the R-MAC of "
        "every successful answer to a secured command is flipped (Amd D §6.2.5).",
        breaks=("GP-SCP-01",),
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        if _rmac(x, response):
            return response[:-3] + bytes((response[-3] ^ 0x01,)) + response[-2:]
        return response


class RmacMissing(Mutant):
    spec = MutantSpec(
        "rmac-missing",
        "protected answers come without R-MAC",
        "In an SCP03 session with R-MAC, the R-MAC (8 bytes in S8 mode, 16 in S16) is cut from every "
        "successful answer to a secured command.",
        breaks=("GP-SCP-01",),
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        if length := _rmac(x, response):
            return response[: -2 - length] + response[-2:]
        return response


class RmacOnErrors(Mutant):
    spec = MutantSpec(
        "rmac-on-errors",
        "error answers carry an R-MAC",
        "In an SCP03 session with R-MAC, an error answer (not 9000, 62xx, 63xx) to a secured command gets "
        "an R-MAC's length of bytes before its status word; Amd D §6.2.5 says error answers carry none.",
        breaks=("GP-SCP-12",),
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        length = x.wire.rmac_length(x.apdu)
        if length and is_error_sw(sw_of(response)) and sw_of(response) >> 8 != 0x61 and len(response) == 2:
            return bytes(length) + response
        return response


class BadCryptogramAccepted(StatusWordSwap):
    spec = MutantSpec(
        "bad-cryptogram-accepted",
        "EXTERNAL AUTHENTICATE with a wrong host cryptogram answers 9000",
        "EXTERNAL AUTHENTICATE that the unit refuses with 6300 (authentication of the host cryptogram "
        "failed) is answered 9000.",
        breaks=("GP-SCP-02",),
    )
    status = frozenset({SW.VERIFICATION_FAILED})

    def concerns(self, x: Exchange) -> bool:
        return _proprietary(x.apdu, GpIns.EXTERNAL_AUTHENTICATE)


class UnknownKvn6A80(StatusWordSwap):
    spec = MutantSpec(
        "unknown-kvn-6a80",
        "INITIALIZE UPDATE for an unknown key set answers 6A80",
        "INITIALIZE UPDATE that the unit answers 6A88 (referenced data not found) is answered 6A80.",
        breaks=("GP-SCP-06",),
    )
    status = frozenset({SW.REFERENCED_DATA_NOT_FOUND})
    to = SW.WRONG_DATA

    def concerns(self, x: Exchange) -> bool:
        return _proprietary(x.apdu, GpIns.INITIALIZE_UPDATE)


class KeyVersionMisreported(Mutant):
    spec = MutantSpec(
        "key-version-misreported",
        "INITIALIZE UPDATE names another key version",
        "The key version number in every INITIALIZE UPDATE answer (Amd D Table 7-2) is one more than the "
        "unit's.",
        breaks=("GP-SCP-01",),
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        kvn = IU_I_OFFSET - 2
        if _proprietary(x.apdu, GpIns.INITIALIZE_UPDATE) and sw_of(response) == SW.OK and len(response) > kvn:
            data = bytearray(response)
            data[kvn] = (data[kvn] + 1) & 0x7F
            return bytes(data)
        return response


class SequenceCounterFrozen(Mutant):
    spec = MutantSpec(
        "sequence-counter-frozen",
        "the SCP03 sequence counter never moves",
        "With pseudo-random card challenges (i b5 set), every INITIALIZE UPDATE answer reports the "
        "sequence counter of the first answer of that key version (Amd D §6.2.2.1 increments it each "
        "time).",
        breaks=("GP-SCP-08", "GP-SCP-01"),
    )

    def __init__(self, params: Mapping[str, object] | None = None, context: Context | None = None) -> None:
        super().__init__(params, context)
        self.first: dict[int, bytes] = {}

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        apdu = x.apdu
        if not (_proprietary(apdu, GpIns.INITIALIZE_UPDATE) and sw_of(response) == SW.OK):
            return response
        data = response[:-2]
        if len(data) <= IU_I_OFFSET or not data[IU_I_OFFSET] & I_PSEUDO_RANDOM:
            return response
        kvn = data[IU_I_OFFSET - 2]
        counter = self.first.setdefault(kvn, data[-3:])
        return data[:-3] + counter + response[-2:]


class SecuredRefusalHidden(StatusWordSwap):
    spec = MutantSpec(
        "secured-refusal-hidden",
        "a secured command the unit refuses answers 9000",
        "A command with secure messaging (CLA SM bits) that the unit answers 6982 (a bad C-MAC, a replay, "
        "no session) is answered 9000.",
        breaks=("GP-SCP-03", "GP-SCP-04", "GP-SCP-07"),
    )
    status = frozenset({SW.SECURITY_STATUS_NOT_SATISFIED})

    def concerns(self, x: Exchange) -> bool:
        return x.apdu is not None and cla_secure_messaging(x.apdu.cla)


# -- the ARA-M ---------------------------------------------------------------------------------------------


def _get_data(apdu: CommandApdu | None, tag: int) -> bool:
    return _proprietary(apdu, GpIns.GET_DATA) and apdu is not None and (apdu.p1 << 8 | apdu.p2) == tag


class RefreshTagUnstable(Mutant):
    spec = MutantSpec(
        "refresh-tag-unstable",
        "the ARA-M refresh tag changes at every read",
        "GET DATA [Refresh tag] (DF20) answers: the last byte of the tag goes up by one at every read "
        "although the rules do not change.",
        breaks=("ARAM-REF-01",),
    )

    def __init__(self, params: Mapping[str, object] | None = None, context: Context | None = None) -> None:
        super().__init__(params, context)
        self.reads = 0

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        if _get_data(x.apdu, seac.T_REFRESH) and sw_of(response) == SW.OK and len(response) > 2:
            self.reads += 1
            last = (response[-3] + self.reads) & 0xFF
            return response[:-3] + bytes((last,)) + response[-2:]
        return response


class AccessRuleAltered(Mutant):
    spec = MutantSpec(
        "access-rule-altered",
        "GET DATA [All] returns a rule set one bit off",
        "The last byte of every GET DATA [All] (FF40) answer is flipped, so the last access rule is "
        "another than the one stored.",
        breaks=("ARAM-ALL-01", "ARAM-NEXT-01"),
    )

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        if _get_data(x.apdu, seac.T_ALL) and sw_of(response) == SW.OK and len(response) > 2:
            return response[:-3] + bytes((response[-3] ^ 0x01,)) + response[-2:]
        return response


# -- the library ------------------------------------------------------------------------------------------

LIBRARY: tuple[type[Mutant], ...] = (
    Identity,
    SelectAbsentAidOk,
    SelectReturnsFci,
    UnknownInsAnswers6E00,
    InvalidClaAnswers6D00,
    WrongLengthAnswers6A87,
    MalformedApduOk,
    ChannelOverflowOk,
    ClosedChannelAnswers,
    BasicChannelCloses,
    SelectAbsentEfOk,
    EfSelectAnswersLate,
    TokenLabelReplaced,
    ProtectedEfReadable,
    ReadPastEndOk,
    VerifyCounterKept,
    RetryQueryFull,
    FirstWrongPinAccepted,
    PinOffByOne,
    ChangeWithoutVerifyOk,
    SignatureCorrupted,
    SignatureWithoutVerify,
    Truncated,
    Swallows61xx,
    Wrong6CxxTwice,
    DeadAfter,
    SlowSignature,
    MuteFromSignature,
    RmacCorrupted,
    RmacMissing,
    RmacOnErrors,
    BadCryptogramAccepted,
    UnknownKvn6A80,
    KeyVersionMisreported,
    SequenceCounterFrozen,
    SecuredRefusalHidden,
    RefreshTagUnstable,
    AccessRuleAltered,
)
IDENTITY = Identity.spec.id
BY_ID: dict[str, type[Mutant]] = {m.spec.id: m for m in LIBRARY}


def mutant_class(mutant_id: str) -> type[Mutant]:
    try:
        return BY_ID[mutant_id]
    except KeyError:
        raise MutantError(f"no mutant {mutant_id!r}; the library has: {', '.join(BY_ID)}") from None


def make(
    mutant_id: str, params: Mapping[str, object] | None = None, context: Context | None = None
) -> Mutant:
    return mutant_class(mutant_id)(params, context)


def select(ids: str) -> list[type[Mutant]]:
    """``all``, or a comma-separated list of IDs (the identity is always included, first)."""
    if ids.strip() == "all":
        return list(LIBRARY)
    chosen = [mutant_class(i.strip()) for i in ids.split(",") if i.strip()]
    if not chosen:
        raise MutantError("--mutants names no mutant")
    return [Identity, *(m for m in dict.fromkeys(chosen) if m is not Identity)]
