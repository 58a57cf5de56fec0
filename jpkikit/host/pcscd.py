"""Helpers around the PC/SC daemon (pcsc-lite ``pcscd``): is it up, start it, restart it.

Facts this relies on (pcsc-lite 1.9.9, Debian 12, checked on the kit's CI image):

* Without systemd, ``pcscd`` (no ``-f``) daemonises and creates ``/run/pcscd`` with ``pcscd.comm`` (the
  client socket) and ``pcscd.pid`` itself. It answers clients a few ms after the parent returns, so we
  poll until a PC/SC context can be established.
* After ``kill -9`` it leaves ``pcscd.pid`` / ``pcscd.comm`` behind and a new ``pcscd`` then refuses to
  start ("Another pcscd seems to be running") while the old pid is still a zombie (PID 1 in containers
  often does not reap), so stale files are removed before starting.
* With systemd, ``pcscd.socket`` starts the daemon on the first client connection.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from smartcard import scard

from jpkikit.errors import DeviceUnreachable, TransportError
from jpkikit.host.pcsc import PCSCD_HINT, run_bounded

IPC_DIR = Path("/run/pcscd")
PID_FILE = IPC_DIR / "pcscd.pid"
COMM_SOCKET = IPC_DIR / "pcscd.comm"
_SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def _probe() -> None:
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult & 0xFFFFFFFF != scard.SCARD_S_SUCCESS:
        raise DeviceUnreachable(scard.SCardGetErrorMessage(hresult))
    scard.SCardReleaseContext(context)


def daemon_running(timeout: float = 2.0) -> bool:
    """True when pcscd answers: a PC/SC context can be established within ``timeout`` seconds."""
    try:
        run_bounded(_probe, timeout=timeout, what="SCardEstablishContext")
    except TransportError:
        return False
    return True


def pcscd_binary() -> str | None:
    """Path of the ``pcscd`` executable, also looked for in sbin directories not on a user's PATH."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *_SBIN_DIRS])
    return shutil.which("pcscd", path=path)


def _pid_state(pid: int) -> str | None:
    """The process state letter from /proc (``Z`` = zombie), or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[0]


def _alive(pid: int) -> bool:
    return _pid_state(pid) not in (None, "Z", "X")


def _daemon_pid() -> int | None:
    """The pid in pcscd's pid file (pcsc-lite 1.9.9 writes the pid, a newline and a NUL), or None."""
    try:
        match = re.match(rb"\s*(\d+)", PID_FILE.read_bytes())
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _remove_stale_files() -> None:
    """Remove the pid file and socket of a pcscd that is gone (never those of a live daemon)."""
    pid = _daemon_pid()
    if pid is not None and _alive(pid):
        return
    if daemon_running():  # a daemon we cannot identify still owns the socket: leave it alone
        return
    for path in (PID_FILE, COMM_SOCKET):
        path.unlink(missing_ok=True)


def _wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _require_start_rights(why: str) -> str:
    binary = pcscd_binary()
    if binary is None:
        raise DeviceUnreachable(f"{why}, and pcscd is not installed; install it: apt-get install pcscd")
    if os.geteuid() != 0:
        raise DeviceUnreachable(f"{why}, and only root can start pcscd; {PCSCD_HINT}")
    return binary


def _start(binary: str, timeout: float) -> None:
    _remove_stale_files()
    # The daemonising form: pcscd outlives the kit and owns no pipe of ours (a '-f' child would die with
    # us or block on a full stdout pipe). It logs to syslog, so tell the user how to see why it failed.
    try:
        done = subprocess.run([binary], capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DeviceUnreachable(f"could not start {binary}: {exc}") from exc
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        raise DeviceUnreachable(
            f"{binary} exited with status {done.returncode}{': ' + output if output else ''}; "
            f"run '{binary} -f -d' to see why"
        )
    if not _wait_until(daemon_running, timeout):
        raise DeviceUnreachable(f"started {binary} but it did not answer within {timeout:g} s")


def ensure_daemon(start: bool = False, timeout: float = 10.0) -> None:
    """Return when pcscd answers; start it first if ``start`` and we may (root, binary installed).

    Raises DeviceUnreachable with the command to run otherwise.
    """
    if daemon_running():
        return
    if not start:
        raise DeviceUnreachable(f"pcscd is not running; {PCSCD_HINT}")
    _start(_require_start_rights("pcscd is not running"), timeout)


def stop_daemon(timeout: float = 10.0) -> None:
    """Stop the pcscd named in its pid file (SIGTERM, then SIGKILL); no-op when none is running."""
    pid = _daemon_pid()
    if pid is None or not _alive(pid):
        if daemon_running():
            raise DeviceUnreachable(f"pcscd answers but {PID_FILE} names no live process; stop it yourself")
        _remove_stale_files()
        return
    try:
        os.kill(pid, signal.SIGTERM)
        if not _wait_until(lambda: not _alive(pid), timeout):
            os.kill(pid, signal.SIGKILL)
            _wait_until(lambda: not _alive(pid), timeout)
    except ProcessLookupError:
        pass
    except PermissionError as exc:
        raise DeviceUnreachable(f"not allowed to stop pcscd (pid {pid}); run as root") from exc
    _remove_stale_files()


def restart_daemon(timeout: float = 10.0) -> None:
    """Stop pcscd if it runs, start it again and wait until it answers (root only)."""
    binary = _require_start_rights("cannot restart pcscd")
    stop_daemon(timeout)
    _start(binary, timeout)
