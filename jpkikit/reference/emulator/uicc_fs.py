"""The UICC file system (ETSI TS 102 221 §8, §11.1; docs/spec/uicc.md#the-uicc-file-system): DFs and EFs
(transparent or linear fixed), selection by file identifier and by path, the FCP template, READ BINARY, READ
RECORD and STATUS. The terminal may read but never write these files: UPDATE BINARY / UPDATE RECORD are
refused with 6982 (their access conditions belong to the card issuer, §9, and are met only over the issuer's
remote file management, TS 102 226, which the kit does not model).

The MF of the UICC runtime (uicc.py) and the PKCS#15 application of the access rule files (arf.py) are both
trees of these nodes; the current DF and EF of a channel live in that channel's session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jpkikit.reference.emulator.applet import reply
from jpkikit.vocab.etsi import uicc
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.ins import Ins
from jpkikit.vocab.iso7816.sw import SW

CURRENT_DF, CURRENT_EF = "fs.df", "fs.ef"


@dataclass
class Ef:
    fid: int
    content: bytes = b""  # transparent
    records: list[bytes] | None = None  # linear fixed (all of one length)

    def fcp(self) -> bytes:
        if self.records is not None:
            length = len(self.records[0]) if self.records else 0
            return uicc.build_fcp(
                uicc.linear_descriptor(length, len(self.records)), self.fid, size=length * len(self.records)
            )
        return uicc.build_fcp(uicc.transparent_descriptor(), self.fid, size=len(self.content))


@dataclass
class Df:
    fid: int | None
    children: dict[int, Ef | Df] = field(default_factory=dict)
    name: bytes | None = None  # the AID of an ADF
    parent: Df | None = None

    def add(self, node: Ef | Df) -> Ef | Df:
        self.children[node.fid] = node  # type: ignore[index]
        if isinstance(node, Df):
            node.parent = self
        return node

    def fcp(self) -> bytes:
        return uicc.build_fcp(uicc.df_descriptor(), self.fid, df_name=self.name)


class FileSystem:
    """Commands on one file tree; ``root`` is the MF, or an ADF for an application's own files."""

    def __init__(self, root: Df) -> None:
        self.root = root

    # -- state per channel ---------------------------------------------------------------------------------

    def current_df(self, session: dict[str, Any]) -> Df:
        node = session.get(CURRENT_DF)
        return node if isinstance(node, Df) else self.root

    def reset(self, session: dict[str, Any]) -> None:
        session[CURRENT_DF], session[CURRENT_EF] = self.root, None

    # -- lookup ----------------------------------------------------------------------------------------------

    def find(self, session: dict[str, Any], fid: int) -> Ef | Df | None:
        """§8.4.1: from the current DF, its children, itself, its parent, the parent's children, the MF."""
        df = self.current_df(session)
        if fid == uicc.FID_MF and self.root.fid == uicc.FID_MF:
            return self.root
        if fid == df.fid:
            return df
        if fid in df.children:
            return df.children[fid]
        parent = df.parent
        if parent is not None and (fid == parent.fid or fid in parent.children):
            return parent if fid == parent.fid else parent.children[fid]
        return None

    def walk(self, start: Df, path: bytes) -> Ef | Df | None:
        if len(path) % 2 or not path:
            return None
        node: Ef | Df = start
        for i in range(0, len(path), 2):
            fid = int.from_bytes(path[i : i + 2], "big")
            if not isinstance(node, Df) or fid not in node.children:
                return None
            node = node.children[fid]
        return node

    # -- commands --------------------------------------------------------------------------------------------

    def process(self, session: dict[str, Any], apdu: CommandApdu) -> ResponseApdu | None:
        """The answer to a file-system command, or None when ``apdu`` is not one."""
        interindustry = not apdu.cla & 0x80
        if interindustry and apdu.ins == Ins.SELECT:
            return self.select(session, apdu)
        if interindustry and apdu.ins == Ins.READ_BINARY:
            return self.read_binary(session, apdu)
        if interindustry and apdu.ins == Ins.READ_RECORD:
            return self.read_record(session, apdu)
        if interindustry and apdu.ins in (uicc.UiccIns.UPDATE_BINARY, uicc.UiccIns.UPDATE_RECORD):
            return self.update(session, apdu)
        if not interindustry and apdu.ins == uicc.UiccIns.STATUS:
            return self.status(session, apdu)
        return None

    def select(self, session: dict[str, Any], apdu: CommandApdu) -> ResponseApdu:
        if apdu.p2 not in (uicc.Select.RETURN_FCP, uicc.Select.NO_DATA, 0x00):
            return reply(SW.INCORRECT_P1P2)
        node: Ef | Df | None
        if apdu.p1 == uicc.Select.BY_FID:
            if len(apdu.data) not in (0, 2):
                return reply(SW.WRONG_LENGTH)
            # no data: the MF (TS 102 221 §11.1.1.2), as its identifier 3F00 selects it
            fid = int.from_bytes(apdu.data, "big") if apdu.data else uicc.FID_MF
            node = self.find(session, fid)
        elif apdu.p1 == uicc.Select.PATH_FROM_MF:
            node = self.walk(self.root, apdu.data)
        elif apdu.p1 == uicc.Select.PATH_FROM_CURRENT:
            node = self.walk(self.current_df(session), apdu.data)
        elif apdu.p1 == uicc.Select.PARENT_DF:
            node = self.current_df(session).parent
        else:
            return reply(SW.INCORRECT_P1P2)
        if node is None:
            return reply(SW.FILE_NOT_FOUND)  # the current file stays (§11.1.1.2)
        if isinstance(node, Df):
            session[CURRENT_DF], session[CURRENT_EF] = node, None
        else:
            session[CURRENT_EF] = node
        if apdu.p2 == uicc.Select.NO_DATA:
            return reply()
        return reply(SW.OK, node.fcp())

    def _current_ef(self, session: dict[str, Any]) -> Ef | None:
        node = session.get(CURRENT_EF)
        return node if isinstance(node, Ef) else None

    def read_binary(self, session: dict[str, Any], apdu: CommandApdu) -> ResponseApdu:
        if apdu.data:
            return reply(SW.WRONG_LENGTH)
        if apdu.p1 & 0x80:
            return reply(SW.FUNCTION_NOT_SUPPORTED)  # no short file identifiers here
        ef = self._current_ef(session)
        if ef is None:
            return reply(SW.NO_CURRENT_EF)
        if ef.records is not None:
            return reply(SW.COMMAND_INCOMPATIBLE)
        offset = (apdu.p1 << 8) | apdu.p2
        if offset > len(ef.content) or (offset == len(ef.content) and ef.content):
            return reply(SW.WRONG_P1P2)
        return reply(SW.OK, ef.content[offset : offset + (apdu.ne or 256)])

    def read_record(self, session: dict[str, Any], apdu: CommandApdu) -> ResponseApdu:
        if apdu.data:
            return reply(SW.WRONG_LENGTH)
        ef = self._current_ef(session)
        if ef is None:
            return reply(SW.NO_CURRENT_EF)
        if ef.records is None:
            return reply(SW.COMMAND_INCOMPATIBLE)
        if apdu.p2 != uicc.RECORD_ABSOLUTE:
            return reply(SW.INCORRECT_P1P2)  # only absolute mode
        if not 1 <= apdu.p1 <= len(ef.records):
            return reply(SW.RECORD_NOT_FOUND)
        return reply(SW.OK, ef.records[apdu.p1 - 1][: apdu.ne or 256])

    def update(self, session: dict[str, Any], apdu: CommandApdu) -> ResponseApdu:
        if self._current_ef(session) is None:
            return reply(SW.NO_CURRENT_EF)
        return reply(SW.SECURITY_STATUS_NOT_SATISFIED)  # the issuer's files: never written by the terminal

    def status(self, session: dict[str, Any], apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 not in (0x00, 0x01, 0x02) or apdu.p2 not in (0x00, 0x0C):
            return reply(SW.INCORRECT_P1P2)
        if apdu.p2 == 0x0C:
            return reply()
        return reply(SW.OK, self.current_df(session).fcp())
