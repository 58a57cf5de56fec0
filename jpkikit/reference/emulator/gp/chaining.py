"""GP command chaining (GPCS §11.1.5) of INSTALL, PUT KEY and STORE DATA: the chain state kept in the channel
session, shared by the security domain (security_domain.py) and card content management (content.py)."""

from __future__ import annotations

from jpkikit.errors import ApduError
from jpkikit.reference.emulator.applet import Context
from jpkikit.vocab.gp.constants import P1_MORE
from jpkikit.vocab.iso7816.apdu import CommandApdu

#: ctx.session keys of GP command chains in progress (GPCS §11.1.5): {"p1", "p2", "data" (hex)}
INSTALL_CHAIN, PUT_KEY_CHAIN = "install_chain", "put_key_chain"


def end_chains(ctx: Context) -> None:
    for key in (INSTALL_CHAIN, PUT_KEY_CHAIN):
        ctx.session.pop(key, None)


def chained_data(ctx: Context, key: str, apdu: CommandApdu) -> bytes | None:
    """GP command chaining (GPCS §11.1.5) of INSTALL and PUT KEY: a command with P1 b8 set ("more commands")
    is kept and answered 9000; the data fields of the chain concatenate into the data of the last command
    (P1 b8 clear, the other bits of P1 and P2 as in the first). Returns the whole data once the chain is
    complete, None while it goes on; a continuation with other P1 P2 abandons the chain (ApduError)."""
    chain = ctx.session.pop(key, None)
    if chain is not None and (chain["p1"] != apdu.p1 & 0x7F or chain["p2"] != apdu.p2):
        raise ApduError("GP command chain continued with other P1 P2")
    data = (bytes.fromhex(chain["data"]) if chain else b"") + apdu.data
    if apdu.p1 & P1_MORE:
        ctx.session[key] = {"p1": apdu.p1 & 0x7F, "p2": apdu.p2, "data": data.hex()}
        return None
    return data
