"""A local PostgreSQL + PostGIS server for the server store: ``chemearth db start``.

:class:`Cluster` keeps one PostgreSQL cluster in a folder (by default ``<home>/postgres``)::

    <folder>/cluster.json    the superuser's and the chemearth role's passwords, the port (0600)
    <folder>/data/           the cluster (initdb: UTF8, locale C, scram-sha-256 everywhere)
    <folder>/socket/         the server's unix socket
    <folder>/postgres.log    the server's log
    <folder>/.lock           held while the cluster is made, started or stopped

The server listens on 127.0.0.1 only. On its first start it gets the login role
``chemearth`` and the database ``chemearth`` owned by it, with PostGIS enabled, so that
``CHEMEARTH_STORE=$(chemearth db url)`` is all a deployment needs.

The binaries are Debian's (``postgresql`` and ``postgresql-15-postgis-3``), found with
``pg_config --bindir`` or under ``/usr/lib/postgresql/<newest>/bin``. PostgreSQL refuses to
run as root: as root, ``initdb``, ``pg_ctl`` and the server run as an unprivileged OS user
(``CHEMEARTH_DB_USER``, else ``postgres``) through ``runuser``, and the folder belongs to that
user, so every folder above it must be traversable by that user. Administration (roles,
databases, extensions) is done over TCP with ``psql`` as the superuser.

Examples
--------
>>> from pathlib import Path
>>> Cluster(Path("/srv/chemearth/postgres")).data_dir
PosixPath('/srv/chemearth/postgres/data')
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from chemearth.config import Settings, db_os_user
from chemearth.errors import StoreError

__all__ = [
    "DATABASE",
    "DEBIAN_PACKAGES",
    "ROLE",
    "SUPERUSER",
    "Cluster",
    "ClusterStatus",
    "default_folder",
    "find_bindir",
]

#: The login role and the database a started cluster serves (``url()``).
ROLE = "chemearth"
DATABASE = "chemearth"

#: The cluster's superuser (used for roles, databases and extensions only).
SUPERUSER = "chemearth_admin"

#: What to install on Debian for a local server.
DEBIAN_PACKAGES = "postgresql postgresql-15-postgis-3"

#: Where Debian installs each PostgreSQL major version (``<root>/<major>/bin``).
DEBIAN_ROOT = Path("/usr/lib/postgresql")

#: Seconds to wait for the server to accept connections (or to stop).
TIMEOUT = 60

_INSTALL = (
    f"install Debian's packages ({DEBIAN_PACKAGES}): "
    f"apt-get install -y {DEBIAN_PACKAGES} (`make test` and `make demo` do), "
    "or use any PostgreSQL 15+ server with PostGIS 3 through its postgresql:// URL"
)
_BINARIES = ("initdb", "pg_ctl", "postgres", "psql")


def default_folder() -> Path:
    """``<home>/postgres``, home being the store folder (``CHEMEARTH_HOME``)."""
    return Settings.from_env().home / "postgres"


def _has_binaries(d: Path) -> bool:
    return all((d / b).is_file() and os.access(d / b, os.X_OK) for b in _BINARIES)


def find_bindir(major: str | None = None) -> Path:
    """The folder of PostgreSQL's server binaries.

    With ``major``, only that version's (Debian's ``/usr/lib/postgresql/<major>/bin``, or the
    one ``pg_config`` names if it is that version). Without, ``pg_config --bindir``, then the
    newest version under ``/usr/lib/postgresql``, then the folder of ``initdb`` on the PATH.
    """
    candidates: list[Path] = []
    if major is not None:
        candidates.append(DEBIAN_ROOT / major / "bin")
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 timeout=30, check=True).stdout.strip()
            if out:
                candidates.append(Path(out))
    if DEBIAN_ROOT.is_dir():
        versions = sorted((p for p in DEBIAN_ROOT.iterdir() if re.fullmatch(r"\d+", p.name)),
                          key=lambda p: int(p.name), reverse=True)
        candidates += [p / "bin" for p in versions]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for d in candidates:
        if _has_binaries(d) and (major is None or _major_of(d) == major):
            return d
    if major is not None:
        raise StoreError(f"the cluster was made by PostgreSQL {major}, whose binaries are not "
                         f"installed: install Debian's postgresql-{major} (and "
                         f"postgresql-{major}-postgis-3)")
    raise StoreError(f"PostgreSQL is not installed (no initdb, pg_ctl, postgres and psql in "
                     f"`pg_config --bindir` or {DEBIAN_ROOT}/<version>/bin): {_INSTALL}")


def _version_of(bindir: Path) -> str:
    """``15.18`` for ``postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)``."""
    try:
        out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True,
                             text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise StoreError(f"{bindir / 'postgres'} --version failed: {exc}") from None
    m = re.search(r"\(PostgreSQL\)\s+(\d+(?:\.\d+)?)", out)
    if not m:
        raise StoreError(f"cannot read the PostgreSQL version from {out.strip()!r}")
    return m.group(1)


def _major_of(bindir: Path) -> str:
    return _version_of(bindir).split(".")[0]


def _sharedir(bindir: Path, major: str) -> Path:
    pg_config = bindir / "pg_config"
    if pg_config.is_file():
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True,
                                 timeout=30, check=True).stdout.strip()
            if out:
                return Path(out)
    return Path("/usr/share/postgresql") / major


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or f"({path} is empty)"


def _port_is_free(port: int) -> bool:
    """Whether PostgreSQL could listen on the port (it sets SO_REUSEADDR, so connections of
    an earlier server in TIME_WAIT do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ident(name: str) -> str:
    """A quoted SQL identifier."""
    if not name or "\0" in name or len(name.encode()) > 63:
        raise StoreError(f"{name!r} is not a valid PostgreSQL name (1 to 63 bytes)")
    return '"' + name.replace('"', '""') + '"'


#: The role of desktop GIS users, granted the views of public datasets by the store.
READER_ROLE = "chemearth_reader"


def _literal(text: str) -> str:
    """A quoted SQL string (standard_conforming_strings is on)."""
    return "'" + text.replace("'", "''") + "'"


def _clean_env() -> dict[str, str]:
    """This process's environment without the ``PG*`` variables that would redirect libpq."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


@dataclass(frozen=True)
class ClusterStatus:
    """What ``chemearth db status`` shows."""

    folder: Path
    data_dir: Path
    initialized: bool
    running: bool
    pid: int | None
    port: int | None
    version: str | None

    def __str__(self) -> str:
        if not self.initialized:
            return f"no cluster in {self.folder} (`chemearth db start` makes one)"
        state = f"running (pid {self.pid})" if self.running else "not running"
        lines = [
            f"PostgreSQL {self.version or '?'} {state}",
            f"data:  {self.data_dir}",
            f"port:  {self.port if self.port is not None else '-'} (127.0.0.1)",
        ]
        return "\n".join(lines)


class Cluster:
    """A PostgreSQL cluster kept in ``folder`` (default: ``<home>/postgres``).

    Parameters
    ----------
    folder : Path, optional
        The cluster's folder; made when missing.
    bindir : Path, optional
        PostgreSQL's binaries (default: :func:`find_bindir`, the version that made the cluster).
    timeout : float
        Seconds to wait for the server to start or stop.
    """

    def __init__(self, folder: Path | str | None = None, bindir: Path | None = None,
                 timeout: float = TIMEOUT) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()
        self.folder = Path(os.path.abspath(self.folder))
        self.data_dir = self.folder / "data"
        self.socket_dir = self.folder / "socket"
        self.log_file = self.folder / "postgres.log"
        self.config_file = self.folder / "cluster.json"
        self.timeout = timeout
        self._bindir = bindir
        self._version: str | None = None

    def __repr__(self) -> str:
        return f"Cluster({str(self.folder)!r})"

    # ------------------------------------------------------------------ binaries and user

    @property
    def bindir(self) -> Path:
        """PostgreSQL's binaries: those of the version that made the cluster."""
        if self._bindir is None:
            pg_version = self.data_dir / "PG_VERSION"
            major = pg_version.read_text().strip() if pg_version.is_file() else None
            self._bindir = find_bindir(major)
        return self._bindir

    @property
    def version(self) -> str:
        """The version of the binaries (``15.18``)."""
        if self._version is None:
            self._version = _version_of(self.bindir)
        return self._version

    def _check_postgis(self) -> None:
        major = self.version.split(".")[0]
        control = _sharedir(self.bindir, major) / "extension" / "postgis.control"
        if not control.is_file():
            raise StoreError(f"PostGIS is not installed for PostgreSQL {major} (no {control}): "
                             f"install Debian's package postgresql-{major}-postgis-3 "
                             f"(apt-get install -y postgresql-{major}-postgis-3)")

    @property
    def os_user(self) -> str | None:
        """The OS user the server runs as when chemearth runs as root, else None (this one)."""
        if os.geteuid() != 0:
            return None
        user = db_os_user() or "postgres"
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise StoreError(
                f"the OS user {user!r} that runs PostgreSQL does not exist: install Debian's "
                "postgresql package (it makes the user postgres) or set CHEMEARTH_DB_USER to "
                "an unprivileged user"
            ) from None
        if entry.pw_uid == 0:
            raise StoreError(f"PostgreSQL refuses to run as root: CHEMEARTH_DB_USER={user!r} "
                             "must name an unprivileged user")
        return user

    def _run(self, args: list[str], *, as_db_user: bool = True, timeout: float | None = None,
             env: dict[str, str] | None = None, new_session: bool = False,
             ) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL binary (as the database's OS user when we are root)."""
        cmd = [str(self.bindir / args[0]), *args[1:]]
        user = self.os_user if as_db_user else None
        if user is not None:
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            if not Path(runuser).is_file():
                raise StoreError("runuser is not installed (Debian's util-linux): it runs "
                                 "PostgreSQL as an unprivileged user when chemearth runs as root")
            cmd = [runuser, "-u", user, "--", *cmd]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False,
                                  timeout=timeout or self.timeout + 30, cwd=self.folder,
                                  env=env if env is not None else _clean_env(),
                                  stdin=subprocess.DEVNULL, start_new_session=new_session)
        except subprocess.TimeoutExpired:
            raise StoreError(f"`{' '.join(args[:2])}` took over {timeout or self.timeout} s; "
                             f"the log ({self.log_file}) ends:\n{_tail(self.log_file)}") from None

    def _chown(self, path: Path) -> None:
        user = self.os_user
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _check_traversable(self) -> None:
        """Every existing folder above ``folder`` must let the server's user through."""
        user = self.os_user
        if user is None:
            return
        entry = pwd.getpwnam(user)
        groups = set(os.getgrouplist(user, entry.pw_gid))
        for d in reversed(self.folder.parents):
            if not d.exists():
                break
            st = d.stat()
            if st.st_uid == entry.pw_uid:
                ok = bool(st.st_mode & stat.S_IXUSR)
            elif st.st_gid in groups:
                ok = bool(st.st_mode & stat.S_IXGRP)
            else:
                ok = bool(st.st_mode & stat.S_IXOTH)
            if not ok:
                raise StoreError(
                    f"the PostgreSQL cluster in {self.folder} runs as the OS user {user!r}, "
                    f"which cannot enter {d} (mode {stat.filemode(st.st_mode)}, owner uid "
                    f"{st.st_uid}): put the cluster elsewhere (--home or CHEMEARTH_HOME, e.g. "
                    f"/srv/chemearth) or let it through (chmod o+x {d})"
                )

    # ---------------------------------------------------------------------- settings file

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file() and self.config_file.is_file()

    def _settings(self) -> dict[str, object]:
        try:
            loaded = json.loads(self.config_file.read_text())
        except FileNotFoundError:
            raise StoreError(f"no PostgreSQL cluster in {self.folder}: run `chemearth db start`"
                             ) from None
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.config_file} is unreadable: {exc}") from None
        if not isinstance(loaded, dict):
            raise StoreError(f"{self.config_file} is not a JSON object")
        return loaded

    def _save_settings(self, settings: dict[str, object]) -> None:
        tmp = self.config_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(settings, f, indent=2)
        os.chmod(tmp, 0o600)
        self._chown(tmp)
        os.replace(tmp, self.config_file)

    def _password(self, key: str) -> str:
        value = self._settings().get(key)
        if not isinstance(value, str) or not value:
            raise StoreError(f"{self.config_file} has no {key}")
        return value

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One init, start or stop of this cluster at a time."""
        lock = self.folder / ".lock"
        with lock.open("a") as f:
            self._chown(lock)
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    # ------------------------------------------------------------------------- lifecycle

    def _make_folder(self) -> None:
        self._check_traversable()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot make the cluster folder {self.folder}: {exc}") from None
        self._check_traversable()  # also the folders just made (under a strict umask)
        os.chmod(self.folder, 0o700)
        self._chown(self.folder)

    def init(self) -> None:
        """Make the cluster (initdb), unless there is one: UTF8, locale C, scram-sha-256, the
        superuser :data:`SUPERUSER` with a generated password, kept in ``cluster.json``."""
        self._check_postgis()  # also: is PostgreSQL installed?
        self._make_folder()
        with self._locked():
            if self.initialized:
                return
            if self.data_dir.exists():  # never made by init() alone: never deleted
                raise StoreError(
                    f"{self.data_dir} exists but {self.config_file} (its passwords) does not: "
                    "move the folder away to make a new cluster"
                )
            staging = self.folder / "data.init"  # renamed to data/ once complete
            shutil.rmtree(staging, ignore_errors=True)  # an init that did not finish
            settings: dict[str, object] = {
                "superuser": SUPERUSER,
                "superuser_password": secrets.token_urlsafe(24),
                "role": ROLE,
                "password": secrets.token_urlsafe(24),
                "port": None,
                "provisioned": False,
            }
            pwfile = self.folder / ".initdb-password"
            fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"{settings['superuser_password']}\n")
            self._chown(pwfile)
            try:
                proc = self._run(["initdb", "-D", str(staging), "-U", SUPERUSER,
                                  f"--pwfile={pwfile}", "--auth=scram-sha-256",
                                  "--encoding=UTF8", "--locale=C"], timeout=300)
            finally:
                pwfile.unlink(missing_ok=True)
            if proc.returncode != 0:
                shutil.rmtree(staging, ignore_errors=True)
                raise StoreError(f"initdb failed in {staging}:\n"
                                 f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
            self.socket_dir.mkdir(exist_ok=True)
            os.chmod(self.socket_dir, 0o700)
            self._chown(self.socket_dir)
            # one unix socket path is at most 107 bytes: without room, TCP only
            sockets = str(self.socket_dir) if len(str(self.socket_dir)) <= 80 else ""
            with (staging / "postgresql.conf").open("a") as f:
                f.write("\n# chemearth db start\n"
                        "listen_addresses = '127.0.0.1'\n"
                        f"unix_socket_directories = {_literal(sockets)}\n")
            self._save_settings(settings)
            staging.rename(self.data_dir)

    def start(self, port: int | None = None) -> ClusterStatus:
        """Start the server (making the cluster first if need be), unless it runs.

        It listens on 127.0.0.1 on ``port``, else on the port it had before (a free one
        if that is taken now, or the first time). On the first start the role
        :data:`ROLE` and the database :data:`DATABASE` with PostGIS are made.
        """
        if port is not None and not self.initialized and not _port_is_free(port):
            raise StoreError(f"port {port} of 127.0.0.1 is taken by another program")
        self.init()
        with self._locked():
            now = self.status()
            if now.running:
                if port is not None and port != now.port:
                    raise StoreError(f"the cluster in {self.folder} already runs on port "
                                     f"{now.port}: `chemearth db stop` it first")
            else:
                self._start_server(port)
            self._provision()
            return self.status()

    def _start_server(self, port: int | None) -> None:
        settings = self._settings()
        remembered = settings.get("port")
        if port is not None and not _port_is_free(port):
            raise StoreError(f"port {port} of 127.0.0.1 is taken by another program")
        tries = 1 if port is not None else 3
        for attempt in range(tries):
            if port is not None:
                chosen = port
            elif isinstance(remembered, int) and attempt == 0 and _port_is_free(remembered):
                chosen = remembered
            else:
                chosen = _free_port()
            mark = self.log_file.stat().st_size if self.log_file.exists() else 0
            proc = self._run(
                ["pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file),
                 "-w", "-t", str(int(self.timeout)), "-o", f"-p {chosen}"],
                new_session=True,  # the server outlives this process and its terminal
            )
            if proc.returncode == 0:
                settings["port"] = chosen
                self._save_settings(settings)
                return
            log = self._log_since(mark)
            if port is None and "could not bind" in log and attempt + 1 < tries:
                continue  # another program took the free port meanwhile: try another
            raise StoreError(
                f"PostgreSQL did not start in {self.data_dir} (port {chosen}, waited up to "
                f"{int(self.timeout)} s): {(proc.stderr or proc.stdout).strip()}\n"
                f"the log ({self.log_file}) ends:\n{_tail(self.log_file)}"
            )

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_file.open("rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self) -> bool:
        """Stop the server (fast shutdown: open sessions are ended). False if it was not
        running."""
        if not self.initialized:
            return False
        with self._locked():
            if not self.status().running:
                return False
            proc = self._run(["pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast",
                              "-w", "-t", str(int(self.timeout))])
            if proc.returncode != 0:
                raise StoreError(f"PostgreSQL did not stop in {self.data_dir}: "
                                 f"{(proc.stderr or proc.stdout).strip()}\n"
                                 f"the log ({self.log_file}) ends:\n{_tail(self.log_file)}")
            return True

    def status(self) -> ClusterStatus:
        """Whether the server runs, its pid, port and version."""
        if not self.initialized:
            return ClusterStatus(self.folder, self.data_dir, False, False, None, None, None)
        proc = self._run(["pg_ctl", "status", "-D", str(self.data_dir)])
        running = proc.returncode == 0
        pid: int | None = None
        port: int | None = None
        if running:
            with contextlib.suppress(OSError, ValueError, IndexError):
                lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
                pid, port = int(lines[0]), int(lines[3])
        if port is None:
            remembered = self._settings().get("port")
            port = remembered if isinstance(remembered, int) else None
        return ClusterStatus(self.folder, self.data_dir, True, running, pid, port, self.version)

    # ----------------------------------------------------------------- URLs and databases

    def _port(self) -> int:
        st = self.status()
        if not st.initialized:
            raise StoreError(f"no PostgreSQL cluster in {self.folder}: run `chemearth db start`")
        if st.port is None:
            raise StoreError(f"the cluster in {self.folder} has never run: "
                             "run `chemearth db start`")
        return st.port

    def url(self, database: str = DATABASE) -> str:
        """``postgresql://chemearth:<password>@127.0.0.1:<port>/<database>``."""
        port = self._port()
        return (f"postgresql://{ROLE}:{quote(self._password('password'), safe='')}"
                f"@127.0.0.1:{port}/{quote(database, safe='')}")

    def admin_url(self, database: str = "postgres") -> str:
        """The superuser's URL (administration only: roles, databases, extensions)."""
        port = self._port()
        return (f"postgresql://{SUPERUSER}:{quote(self._password('superuser_password'), safe='')}"
                f"@127.0.0.1:{port}/{quote(database, safe='')}")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser (``psql``); its unaligned output."""
        env = {**_clean_env(), "PGPASSWORD": self._password("superuser_password"),
               "PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "chemearth db"}
        proc = self._run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                          "-h", "127.0.0.1", "-p", str(self._port()), "-U", SUPERUSER,
                          "-d", database, "-c", sql], as_db_user=False, env=env)
        if proc.returncode != 0:
            raise StoreError(f"PostgreSQL refused {sql.split(maxsplit=1)[0]} … in database "
                             f"{database!r}: {proc.stderr.strip()}")
        return proc.stdout

    def _exists(self, catalogue: str, column: str, name: str) -> bool:
        return self.psql(f"SELECT 1 FROM {catalogue} WHERE {column} = {_literal(name)}"
                         ).strip() == "1"

    def create_database(self, name: str, owner: str = ROLE, template: str | None = None,
                        ) -> None:
        """Make the database ``name`` (owned by ``owner``) with PostGIS, unless it exists;
        enable PostGIS in it either way.

        A ``template`` database that has PostGIS already (and no session open) makes this
        quicker than the default, an empty ``template0``.
        """
        if not self._exists("pg_database", "datname", name):
            self.psql(f"CREATE DATABASE {_ident(name)} OWNER {_ident(owner)} "
                      f"ENCODING 'UTF8' TEMPLATE {_ident(template or 'template0')}")
        self.psql("CREATE EXTENSION IF NOT EXISTS postgis", database=name)

    def drop_database(self, name: str) -> None:
        """Drop the database ``name`` if it exists, ending its sessions."""
        self.psql(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")

    def _provision(self) -> None:
        """The role :data:`ROLE` and the database :data:`DATABASE` with PostGIS, once."""
        settings = self._settings()
        if settings.get("provisioned"):
            return
        password = _literal(self._password("password"))
        if self._exists("pg_roles", "rolname", ROLE):
            self.psql(f"ALTER ROLE {_ident(ROLE)} LOGIN PASSWORD {password}")
        else:
            self.psql(f"CREATE ROLE {_ident(ROLE)} LOGIN PASSWORD {password}")
        if not self._exists("pg_roles", "rolname", READER_ROLE):
            # desktop GIS users' role (docs/deploy.md); the store's role may not create roles
            self.psql(f"CREATE ROLE {_ident(READER_ROLE)} NOLOGIN")
        self.create_database(DATABASE)
        settings["provisioned"] = True
        self._save_settings(settings)

