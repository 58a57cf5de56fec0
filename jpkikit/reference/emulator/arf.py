"""The PKCS#15 application holding the Access Rule Files of GP Secure Element Access Control (type
``pkcs15-arf``; docs/spec/uicc.md#the-access-rule-files): the ARF alternative to an ARA-M on a UICC, which an
Android handset reads when the UICC has no ARA-M (AOSP ArfController), and which the SIM design names for the
JPKI applet (seed 000 §4(3) 課題⑥: the ACE reads the access rules from the ARF of the SIM).

The layout is jpkikit.vocab.gp.arf's (one home for it, shared with the reference handset's ARF reader):

    ADF PKCS#15 (AID A000000063504B43532D3135, listed in EF DIR)
    ├── EF ODF   5031  A7 { 30 { 04 5207 } }                       -> EF DODF
    ├── EF DODF  5207  A1 { .. A1 { 30 { 06 1.2.840.114283.200.1.1  30 { 04 4300 } } } }  -> EF ACMF
    ├── EF ACMF  4300  30 { 04 <refresh tag, 8 bytes>  30 { 04 4310 } }                    -> EF ACRF
    ├── EF ACRF  4310  30 { A0 { 04 <AID> } | 81 00 | 82 00   30 { 04 4311.. } } ...      -> EF ACCF
    └── EF ACCF  4311.. 30 { [04 <SHA-1 of the app certificate>]  [A0 { APDU and NFC rules }] } ...

Files are selected by file identifier (00 A4 00 04|0C 02 <FID>) or by path (P1 08 / 09) with the
application selected, and read with READ BINARY; the SELECT answers an FCP template with the file size (80).
The terminal cannot write them (UPDATE BINARY: 6982): only the card issuer changes access rules.

Parameters: ``rules`` (JSON form, jpkikit.vocab.gp.seac) and ``refresh`` (the initial ACMF refresh tag, hex;
random when absent). Persistent data: ``rules`` and ``refresh``; :meth:`Pkcs15Arf.replace_rules` (the card
issuer's rule update, a test bed's path) draws a new refresh tag, as SEAC requires of every rule change.
"""

from __future__ import annotations

import os
from typing import Any

from jpkikit.reference.emulator.applet import Applet, Context, reply
from jpkikit.reference.emulator.uicc_fs import Df, Ef, FileSystem
from jpkikit.vocab.gp import arf, seac
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.sw import SW

PKCS15_FID = 0x7F50  # the DF the PKCS#15 application is also known by under the MF (ISO/IEC 7816-15)


class Pkcs15Arf(Applet):
    type_name = "pkcs15-arf"
    multiselectable = True

    def initial_data(self) -> dict[str, Any]:
        refresh = str(self.params.get("refresh") or os.urandom(8).hex().upper())
        return {"rules": list(self.params.get("rules", [])), "refresh": refresh}

    def rules(self) -> list[seac.Rule]:
        return [seac.rule_from_json(r) for r in self.data["rules"]]

    def replace_rules(self, rules: list[seac.Rule]) -> None:
        self.data["rules"] = [seac.rule_to_json(r) for r in rules]
        self.data["refresh"] = os.urandom(8).hex().upper()

    def files(self) -> dict[int, bytes]:
        return arf.files_for(self.rules(), bytes.fromhex(self.data["refresh"]))

    def tree(self) -> FileSystem:
        adf = Df(PKCS15_FID, name=self.aid)
        for fid, content in self.files().items():
            adf.add(Ef(fid, content))
        return FileSystem(adf)

    def select(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        fs = self.tree()
        fs.reset(ctx.session)
        ctx.session["arf.tree"] = fs
        return reply(SW.OK, fs.root.fcp())

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        fs = ctx.session.get("arf.tree")
        if not isinstance(fs, FileSystem):
            fs = ctx.session["arf.tree"] = self.tree()
            fs.reset(ctx.session)
        answer = fs.process(ctx.session, apdu)
        return answer if answer is not None else reply(SW.INS_NOT_SUPPORTED)
