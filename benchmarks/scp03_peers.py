"""SCP03 host-side cost per command, the kit against yubikit's SCP03 host and against a floor.

Every figure is the host's own work on one 16-byte command at security level 33 (C-MAC, C-DECRYPTION,
R-MAC, R-ENCRYPTION; Amd D §6.2.4-§6.2.7), AES-128, S8, measured over a whole session of ``N`` commands
(the session's set-up included, so a context built once per session is paid for):

- wrap: the command encrypted and MACed (kit: ``Scp03Session.wrap_command``; yubikit: ``ScpState.encrypt``,
  the APDU formatted, ``ScpState.mac`` -- the wrap half of its ``ScpProcessor.send_apdu``);
- floor: the same calls written straight, with the ECB, CBC and CMAC contexts keyed once per session;
- full path: wrap, the card's answer, unwrap (kit: ``Scp03Layer.transmit`` over a transport; yubikit:
  ``ScpProcessor.send_apdu`` over a delegate). The card's answers were recorded beforehand from the kit's
  card side (``Scp03Session.unwrap_command``/``wrap_response``) for each host, and are replayed, so no card
  work is timed; every replayed answer passes the host's R-MAC check and decryption.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from jpkikit.host.link import Transport
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.scp03 import Mode, SessionKeys, StaticKeys
from jpkikit.vocab.scp03.session import Scp03Session

LEVEL = 0x33
KEY_ENC, KEY_MAC = bytes(range(0x40, 0x50)), bytes(range(0x50, 0x60))
SESSION = SessionKeys(bytes(range(0x10, 0x20)), bytes(range(0x20, 0x30)), bytes(range(0x30, 0x40)))
DATA = bytes(range(16))  # the 16-byte command data
ANSWER = bytes(range(0xA0, 0xB0))  # the 16-byte response data
HEADER = (0x80, 0xE2, 0x90, 0x00)  # STORE DATA, a command every SCP03 session carries
N = 500  # commands per session


def per_op(run: Callable[[], None], repeats: int) -> list[float]:
    """µs per command of ``repeats`` sessions of N commands each."""
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        out.append((time.perf_counter() - start) / N * 1e6)
    return out


# -- wrap ---------------------------------------------------------------------------------------------------


def kit_wrap() -> None:
    session = Scp03Session(SESSION, Mode.S8, LEVEL)
    apdu = CommandApdu(*HEADER, DATA)
    for _ in range(N):
        session.wrap_command(apdu)


def kit_wrap_bytes() -> None:
    """The wrap the kit's host layer makes (Scp03Layer.transmit): straight to the wire bytes, as yubikit."""
    session = Scp03Session(SESSION, Mode.S8, LEVEL)
    apdu = CommandApdu(*HEADER, DATA)
    for _ in range(N):
        session.wrap_command_bytes(apdu)


def yubikit_wrap() -> None:
    from yubikit.core.smartcard import ShortApduFormatter
    from yubikit.core.smartcard.scp import ScpState
    from yubikit.core.smartcard.scp import SessionKeys as YkSessionKeys

    state = ScpState(YkSessionKeys(SESSION.s_enc, SESSION.s_mac, SESSION.s_rmac))
    formatter = ShortApduFormatter()
    cla, ins, p1, p2 = HEADER
    for _ in range(N):  # ScpProcessor.send_apdu up to the delegate call
        data = state.encrypt(DATA)
        apdu = formatter.format_apdu(cla | 0x04, ins, p1, p2, data + b"\0" * 8, 0)
        data + state.mac(apdu[:-8])


def floor_wrap() -> None:
    """The same steps as a wrap, every context keyed once per session: ICV = AES(S-ENC, counter),
    CBC with that ICV (first block xored by hand into a running CBC context), CMAC from a keyed template."""
    zero = b"\x00" * 16
    ecb = Cipher(algorithms.AES(SESSION.s_enc), modes.ECB()).encryptor()
    cbc = Cipher(algorithms.AES(SESSION.s_enc), modes.CBC(zero)).encryptor()
    mac = CMAC(algorithms.AES(SESSION.s_mac))
    last, chain = zero, zero
    cla, ins, p1, p2 = HEADER
    padded = DATA + b"\x80" + b"\x00" * 15
    for counter in range(1, N + 1):
        icv = ecb.update(counter.to_bytes(16, "big"))
        x = int.from_bytes(padded[:16], "big") ^ int.from_bytes(icv, "big") ^ int.from_bytes(last, "big")
        enc = cbc.update(x.to_bytes(16, "big") + padded[16:])
        last = enc[-16:]
        c = mac.copy()
        c.update(chain + bytes((cla | 0x04, ins, p1, p2, len(enc) + 8)) + enc)
        chain = c.finalize()
        bytes((cla | 0x04, ins, p1, p2, len(enc) + 8)) + enc + chain[:8]


# -- full host path (wrap, replayed answer, unwrap) ---------------------------------------------------------


def card_answers(wrapped: list[CommandApdu]) -> list[bytes]:
    """The kit's card side answering each wrapped command in turn (recorded once, replayed when timed)."""
    card = Scp03Session(SESSION, Mode.S8, LEVEL)
    answers = []
    for apdu in wrapped:
        card.unwrap_command(apdu)
        answers.append(card.wrap_response(ResponseApdu(ANSWER, 0x9000)).to_bytes())
    return answers


class Replay(Transport):
    description = "replayed card"

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = answers
        self.index = 0

    def transmit(self, command: bytes) -> bytes:
        answer = self.answers[self.index]
        self.index += 1
        return answer

    def reset(self, cold: bool = False) -> bytes:
        return b""

    @property
    def atr(self) -> bytes:
        return b""

    def close(self) -> None:
        pass


def kit_layer(inner: Transport) -> Scp03Layer:
    layer = Scp03Layer(inner, StaticKeys(KEY_ENC, KEY_MAC, KEY_ENC))
    layer.session = Scp03Session(SESSION, Mode.S8, LEVEL)
    return layer


def kit_answers() -> list[bytes]:
    session = Scp03Session(SESSION, Mode.S8, LEVEL)
    return card_answers([session.wrap_command(CommandApdu(*HEADER, DATA)) for _ in range(N)])


def kit_full(answers: list[bytes]) -> Callable[[], None]:
    command = CommandApdu(*HEADER, DATA).to_bytes()
    expected = ANSWER + b"\x90\x00"

    def run() -> None:
        layer = kit_layer(Replay(answers))
        for _ in range(N):
            if layer.transmit(command) != expected:
                raise AssertionError("kit host: replayed answer did not unwrap")

    return run


def yubikit_processor(answers: list[bytes] | None, record: list[CommandApdu] | None = None) -> object:
    from yubikit.core.smartcard import ScpProcessor, ShortApduFormatter
    from yubikit.core.smartcard.scp import ScpState
    from yubikit.core.smartcard.scp import SessionKeys as YkSessionKeys

    class Delegate:
        index = 0

        def send_apdu(self, cla: int, ins: int, p1: int, p2: int, data: bytes, le: int) -> tuple[bytes, int]:
            if record is not None:
                record.append(CommandApdu(cla, ins, p1, p2, data))
                return ANSWER + bytes(8), 0x9000  # ignored: only the commands are recorded
            assert answers is not None
            answer = answers[self.index]
            self.index += 1
            return answer[:-2], struct.unpack(">H", answer[-2:])[0]

    state = ScpState(YkSessionKeys(SESSION.s_enc, SESSION.s_mac, SESSION.s_rmac))
    # yubikit opens with enc_counter=1 after EXTERNAL AUTHENTICATE, as the kit's counter 0 + 1
    return ScpProcessor(Delegate(), ShortApduFormatter(), state)


def yubikit_answers() -> list[bytes]:
    from yubikit.core import BadResponseError

    record: list[CommandApdu] = []
    processor = yubikit_processor(None, record)
    for _ in range(N):
        try:
            processor.send_apdu(*HEADER, DATA, 0)  # type: ignore[attr-defined]
        except BadResponseError:
            pass  # the placeholder answer does not verify; only the commands matter here
    return card_answers(record)


def yubikit_full(answers: list[bytes]) -> Callable[[], None]:
    def run() -> None:
        processor = yubikit_processor(answers)
        for _ in range(N):
            resp, sw = processor.send_apdu(*HEADER, DATA, 0)  # type: ignore[attr-defined]
            if resp != ANSWER or sw != 0x9000:
                raise AssertionError("yubikit host: replayed answer did not unwrap")

    return run
