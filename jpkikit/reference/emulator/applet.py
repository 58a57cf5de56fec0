"""The base class of the emulator's card applications, and what the runtime hands them per command."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.sw import SW

if TYPE_CHECKING:
    from jpkikit.reference.emulator.runtime import Card


#: Data-less responses by status word, made once: ResponseApdu is immutable, and most commands end in one.
_BARE: dict[int, ResponseApdu] = {}


def reply(sw: int = SW.OK, data: bytes = b"") -> ResponseApdu:
    if data:
        return ResponseApdu(bytes(data), int(sw))
    bare = _BARE.get(sw)
    if bare is None:
        bare = _BARE[sw] = ResponseApdu(b"", int(sw))
    return bare


@dataclass
class Context:
    """What an applet sees of one command: the card, the logical channel, and that channel's session.

    ``session`` is transient (ISO 7816-4 §7.1: current EF, security status) and is cleared when the applet
    is deselected on that channel or the card is reset.
    """

    card: Card
    channel: int
    session: dict[str, Any] = field(default_factory=dict)


class Applet:
    """A card application. Subclasses override ``select``, ``deselect`` and ``process``.

    Persistent data lives in ``self.data`` (a JSON-serialisable dict); the runtime saves it with the card
    state after every command that changed it.
    """

    #: The name the state file and a personality's applet types know the class by.
    type_name: ClassVar[str] = "applet"
    #: A GlobalPlatform security domain (GPCS §7), and the Issuer Security Domain among them.
    is_security_domain: ClassVar[bool] = False
    is_issuer: ClassVar[bool] = False
    #: GP "multi-selectable": may be selected on several logical channels at once.
    multiselectable: ClassVar[bool] = True

    def __init__(self, aid: bytes, data: dict[str, Any] | None = None, **params: Any) -> None:
        self.aid = bytes(aid)
        self.params = params
        self.data: dict[str, Any] = data if data is not None else self.initial_data()

    def initial_data(self) -> dict[str, Any]:
        """Persistent data at installation."""
        return {}

    def select(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        """SELECT by DF name reached this applet (the runtime has already made it current)."""
        return reply()

    def deselect(self, ctx: Context) -> None:
        """Another selection, a channel close or a reset takes this applet off ``ctx.channel``."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        return reply(SW.INS_NOT_SUPPORTED)
