"""The production topology on one machine without Docker, all on 127.0.0.1.

    python deploy/topology.py up --dir DIR [--web-ports 8101,8102] [--pg-port 25432]
                                 [--replica-port 25433] [--pgbouncer-port 26432]
                                 [--no-pgbouncer] [--seed-demo] [--foreground]
    python deploy/topology.py down --dir DIR

`up` starts a PostgreSQL primary (initdb into DIR, wal_level=replica, replication from
127.0.0.1), migrates it, makes a streaming replica with `pg_basebackup -R` into a second
data directory on another port, starts Redis (rate limits), an SMTP sink that keeps every
message in a Maildir (DIR/mail), PgBouncer in transaction pooling in front of the primary,
two gunicorn web nodes (DATABASE_URL = PgBouncer, DATABASE_REPLICA_URL = the replica) and
two dispatchers (`flask --app wsgi scheduler`, straight to the primary: docs/topology.md).
It waits until each answers, writes DIR/topology.json and returns; the children keep
running on their own until `down`. As root, PostgreSQL runs as the `postgres` user.

The tests (tests/topology/) import this file and call `up()` / `down()` themselves.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "teletherapy"
SLOT = "topology_replica"
STATE = "state.json"
TOPOLOGY = "topology.json"


@dataclass
class Options:
    dir: Path
    web_ports: list[int] = field(default_factory=lambda: [8101, 8102])
    pg_port: int = 25432
    replica_port: int = 25433
    pgbouncer: bool = True  # the web nodes reach the primary through PgBouncer
    pgbouncer_port: int = 26432
    redis_port: int = 26379
    redis_url: str | None = None  # an existing Redis instead of starting one
    smtp_port: int = 21025
    workers: int = 2
    dispatchers: int = 2
    rate_limits: bool = True
    seed_demo: bool = False
    max_lag_seconds: float = 2.0
    durable: bool = True  # False: fsync off (tests; a crash of the machine loses the data)
    extra_env: dict[str, str] = field(default_factory=dict)


class TopologyError(RuntimeError):
    """A part did not start; the message says which and where its log is."""


# ---------------------------------------------------------------------------- helpers


def pg_bin(name: str) -> str:
    """A PostgreSQL server binary: beside `initdb` on PATH, else the newest under
    /usr/lib/postgresql (Debian keeps them off PATH)."""
    found = shutil.which("initdb")
    if found:
        candidate = Path(os.path.realpath(found)).parent / name
        if candidate.exists():
            return str(candidate)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    for folder in versions:
        if (folder / name).exists():
            return str(folder / name)
    raise TopologyError(f"PostgreSQL's {name} was not found (install postgresql)")


def pgbouncer_bin() -> str | None:
    """PgBouncer's binary (Debian puts it in /usr/sbin, off a user's PATH)."""
    return shutil.which("pgbouncer") or next(
        (str(p) for p in (Path("/usr/sbin/pgbouncer"),) if p.exists()), None
    )


def missing_binaries(*, pgbouncer: bool = True) -> list[str]:
    """What this machine lacks to run the topology (the tests skip or fail on it)."""
    missing = []
    if pgbouncer and pgbouncer_bin() is None:
        missing.append("pgbouncer")
    for name in ("initdb", "pg_ctl", "pg_basebackup"):
        try:
            pg_bin(name)
        except TopologyError:
            missing.append(name)
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    return missing


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _run(command: list[str], *, log: Path, env: dict[str, str] | None = None) -> None:
    with log.open("ab") as out:
        result = subprocess.run(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, check=False
        )
    if result.returncode != 0:
        raise TopologyError(
            f"{' '.join(command[:6])} failed (exit {result.returncode}); see {log}{_tail(log)}"
        )


def _tail(log: Path, lines: int = 25) -> str:
    """The log's last lines, for the error: CI prints the error, not the files it names."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    kept = text.splitlines()[-lines:]
    return "\n--- last lines of " + log.name + " ---\n" + "\n".join(kept) if kept else ""


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(what: str, ready: Any, *, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    where = f"; see {log}{_tail(log)}" if log else ""
    raise TopologyError(f"{what} was not ready within {timeout:.0f} s{where}")


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return loaded


def _save_state(options: Options, state: dict[str, Any]) -> None:
    (options.dir / STATE).write_text(json.dumps(state, indent=2))


def database_url(port: int, database: str = DATABASE) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


# ---------------------------------------------------------------------------- PostgreSQL


def _pg_base(options: Options) -> Path:
    """Where the data directories go: DIR/pg, unless the postgres user cannot reach DIR
    (pytest's temporary folders are private to root), then a folder of its own in /tmp."""
    base = options.dir / "pg"
    if os.geteuid() != 0:
        base.mkdir(parents=True, exist_ok=True)
        return base
    reachable = subprocess.run(
        ["runuser", "-u", "postgres", "--", "test", "-w", str(options.dir)], check=False
    )
    if reachable.returncode != 0:
        base = Path(tempfile.mkdtemp(prefix="tt-topology-pg-"))
    base.mkdir(parents=True, exist_ok=True)
    shutil.chown(base, "postgres", "postgres")
    return base


def _pg_conf(data: Path, settings: dict[str, str]) -> None:
    """Append settings (the last occurrence of a setting wins)."""
    lines = [f"{key} = {value}" for key, value in settings.items()]
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("\n# deploy/topology.py\n" + "\n".join(lines) + "\n")


def pg_ctl(data: Path, action: str, *, logs: Path, extra: Sequence[str] = ()) -> None:
    """pg_ctl as the postgres user; the server's own log sits beside its data directory
    (the postgres user may not reach DIR), linked from DIR/logs."""
    command = [pg_bin("pg_ctl"), "-D", str(data), "-w", "-t", "60"]
    if action == "start":
        server_log = data.parent / f"{data.name}.log"
        command += ["-l", str(server_log)]
        link = logs / server_log.name
        if not link.is_symlink() and not link.exists():
            link.symlink_to(server_log)
    _run(_as_postgres([*command, *extra, action]), log=logs / f"{data.name}.ctl.log")


def _postmaster_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def start_primary(options: Options, base: Path, logs: Path) -> Path:
    data = base / "primary"
    if data.exists():
        shutil.rmtree(data)
    _run(
        _as_postgres(
            [
                pg_bin("initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        ),
        log=logs / "initdb.log",
    )
    _pg_conf(
        data,
        {
            "listen_addresses": "'127.0.0.1'",
            "port": str(options.pg_port),
            "unix_socket_directories": f"'{base}'",
            "wal_level": "replica",
            "max_wal_senders": "5",
            "max_replication_slots": "5",
            "hot_standby": "on",
            # Two nodes x workers x (primary + replica pools) + dispatchers + psql: see
            # docs/topology.md for the sizing.
            "max_connections": "100",
            "fsync": "on" if options.durable else "off",
            "full_page_writes": "on" if options.durable else "off",
        },
    )
    (data / "pg_hba.conf").write_text(
        "# deploy/topology.py: loopback only, trusted (a local topology, not a server)\n"
        "local all all trust\n"
        "host all all 127.0.0.1/32 trust\n"
        "host replication all 127.0.0.1/32 trust\n"
    )
    pg_ctl(data, "start", logs=logs)
    import psycopg

    with psycopg.connect(database_url(options.pg_port, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
        for statement in database_settings(DATABASE):
            conn.execute(statement)
    return data


def database_settings(database: str) -> list[str]:
    """The startup options the app sends on a direct connection (settings.engine_options),
    as the database's own defaults: a connection through PgBouncer cannot send them."""
    timeout_ms = int(os.environ.get("TELETHERAPY_DATABASE_STATEMENT_TIMEOUT_MS", "5000"))
    return [
        f'ALTER DATABASE "{database}" SET statement_timeout = {timeout_ms}',
        f"ALTER DATABASE \"{database}\" SET TimeZone = 'UTC'",
        f'ALTER DATABASE "{database}" SET jit = off',
    ]


def pgbouncer_sizes(options: Options) -> dict[str, int]:
    """A sync worker serves one request and holds at most two primary connections at once
    (the request's session and a staleness check's, or an in-person search's count of
    "allow online sessions", which starts after the check): two server connections per worker
    can never leave a worker waiting on another's idle transaction. Clients: every
    worker's whole SQLAlchemy pool (2 + 2) and a few for psql and the admin console."""
    workers = len(options.web_ports) * options.workers
    return {"default_pool_size": 2 * workers, "max_client_conn": 4 * workers + 10}


def pgbouncer_ini(options: Options, folder: Path) -> Path:
    """Transaction pooling in front of the primary, loopback and trust like the rest."""
    auth = folder / "userlist.txt"
    auth.write_text('"postgres" ""\n')
    sizes = pgbouncer_sizes(options)
    ini = folder / "pgbouncer.ini"
    ini.write_text(
        "; deploy/topology.py\n"
        "[databases]\n"
        f"{DATABASE} = host=127.0.0.1 port={options.pg_port} dbname={DATABASE}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {options.pgbouncer_port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {auth}\n"
        "admin_users = postgres\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {sizes['default_pool_size']}\n"
        f"max_db_connections = {sizes['default_pool_size']}\n"
        f"max_client_conn = {sizes['max_client_conn']}\n"
        "reserve_pool_size = 0\n"
        # A request waiting longer than this for a server connection fails (503).
        "query_wait_timeout = 30\n"
        "server_reset_query =\n"
        "log_connections = 0\n"
        "log_disconnections = 0\n"
    )
    if os.geteuid() == 0:
        for path in (folder, auth, ini):
            shutil.chown(path, "postgres", "postgres")
    return ini


def start_pgbouncer(
    options: Options, base: Path, logs: Path, children: dict[str, subprocess.Popen[bytes]]
) -> None:
    """PgBouncer refuses to run as root: as the postgres user, like the servers."""
    binary = pgbouncer_bin()
    if binary is None:
        raise TopologyError("pgbouncer was not found (install pgbouncer, or --no-pgbouncer)")
    folder = base / "pgbouncer"
    folder.mkdir(exist_ok=True)
    ini = pgbouncer_ini(options, folder)
    children["pgbouncer"] = _spawn(
        _as_postgres([binary, str(ini)]), log=logs / "pgbouncer.log", env=dict(os.environ)
    )


def start_replica(options: Options, base: Path, logs: Path) -> Path:
    """A streaming replica: pg_basebackup -R (standby.signal and primary_conninfo written
    for us) with a replication slot, so the primary keeps the WAL the replica still needs."""
    data = base / "replica"
    if data.exists():
        shutil.rmtree(data)
    _run(
        _as_postgres(
            [
                pg_bin("pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(options.pg_port),
                "-U",
                "postgres",
                "-D",
                str(data),
                "-R",
                "-X",
                "stream",
                "-C",
                "-S",
                SLOT,
                "--checkpoint=fast",
                "--no-sync",
            ]
        ),
        log=logs / "basebackup.log",
    )
    _pg_conf(data, {"port": str(options.replica_port)})
    start_replica_server(data, logs)
    return data


def start_replica_server(data: Path, logs: Path) -> None:
    """Start (or start again) the replica and wait until it streams from the primary."""
    pg_ctl(data, "start", logs=logs)
    port = _conf_port(data)
    import psycopg

    def streaming() -> bool:
        try:
            with psycopg.connect(database_url(port, "postgres"), connect_timeout=2) as conn:
                row = conn.execute("SELECT status FROM pg_stat_wal_receiver").fetchone()
                return row is not None and row[0] == "streaming"
        except psycopg.Error:
            return False

    _wait("the replica's streaming", streaming, timeout=60, log=data.parent / "replica.log")


def _conf_port(data: Path) -> int:
    port = None
    for line in (data / "postgresql.conf").read_text().splitlines():
        if line.strip().startswith("port ="):
            port = int(line.split("=", 1)[1].split("#", 1)[0].strip())
    assert port is not None, "postgresql.conf names no port"
    return port


def stop_postgres(data: Path, logs: Path, *, mode: str = "fast") -> None:
    if (data / "postmaster.pid").exists():
        pg_ctl(data, "stop", logs=logs, extra=["-m", mode])


# ---------------------------------------------------------------------------- processes


def _spawn(command: list[str], *, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A child in its own session: it outlives `up` and Ctrl-C in the shell that ran it."""
    out = log.open("ab")
    try:
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
    finally:
        out.close()


def app_env(
    options: Options, *, replica: bool, pool: tuple[int, int] = (2, 2), pooled: bool = False
) -> dict[str, str]:
    """The environment of every app process: production settings, loopback peers.
    `pooled`: the primary through PgBouncer (the web nodes)."""
    env = {k: v for k, v in os.environ.items() if k != "TELETHERAPY_SQLALCHEMY_DATABASE_URI"}
    secret = options.dir / "secret_key"
    if not secret.exists():
        secret.write_text(secrets.token_urlsafe(48))
        secret.chmod(0o600)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
            "TELETHERAPY_ENV": "production",
            "TELETHERAPY_SECRET_KEY": secret.read_text().strip(),
            "DATABASE_URL": database_url(options.pg_port),
            "TELETHERAPY_RATELIMIT_STORAGE_URI": redis_url(options),
            "TELETHERAPY_MAIL_URL": f"smtp://127.0.0.1:{options.smtp_port}",
            "TELETHERAPY_PUBLIC_URL": f"http://127.0.0.1:{options.web_ports[0]}",
            # Sync workers serve one request at a time: a few connections each; a dispatcher
            # runs up to five jobs at once (docs/topology.md).
            "TELETHERAPY_SQLALCHEMY_ENGINE_OPTIONS": json.dumps(
                {"pool_size": pool[0], "max_overflow": pool[1]}
            ),
        }
    )
    if not options.rate_limits:
        env["TELETHERAPY_RATELIMIT_ENABLED"] = "false"
    env.pop("DATABASE_POOLER", None)
    env.pop("TELETHERAPY_DATABASE_POOLER", None)
    if pooled:
        env["DATABASE_URL"] = database_url(options.pgbouncer_port)
        env["DATABASE_POOLER"] = "pgbouncer"
    env.pop("DATABASE_REPLICA_URL", None)
    if replica:
        env["DATABASE_REPLICA_URL"] = database_url(options.replica_port)
        env["TELETHERAPY_DATABASE_REPLICA_MAX_LAG_SECONDS"] = str(options.max_lag_seconds)
    env.update(options.extra_env)
    return env


def redis_url(options: Options) -> str:
    return options.redis_url or f"redis://127.0.0.1:{options.redis_port}/0"


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _flask(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "wsgi", *args]


# ---------------------------------------------------------------------------- up / down


def up(options: Options) -> dict[str, Any]:
    """Start everything, wait until it answers, write DIR/topology.json and return it."""
    options.dir = options.dir.resolve()
    options.dir.mkdir(parents=True, exist_ok=True)
    if _load(options.dir / STATE).get("pids"):
        down(options.dir)  # what an earlier run left behind
    logs = options.dir / "logs"
    logs.mkdir(exist_ok=True)
    state: dict[str, Any] = {"pids": {}, "data": {}}
    try:
        _up(options, logs, state)
    except BaseException:
        _save_state(options, state)
        down(options.dir)
        raise
    topology = {
        "primary_url": database_url(options.pg_port),
        "replica_url": database_url(options.replica_port),
        # What the web nodes use for the primary: PgBouncer, or the primary itself.
        "web_database_url": database_url(
            options.pgbouncer_port if options.pgbouncer else options.pg_port
        ),
        "pgbouncer": options.pgbouncer,
        "web": [f"http://127.0.0.1:{port}" for port in options.web_ports],
        "redis_url": redis_url(options),
        "mail_dir": str(options.dir / "mail"),
        "pids": state["pids"],
        "logs": str(logs),
        "data": state["data"],
    }
    (options.dir / TOPOLOGY).write_text(json.dumps(topology, indent=2))
    return topology


def _up(options: Options, logs: Path, state: dict[str, Any]) -> None:
    base = _pg_base(options)
    state["pg_base"] = str(base)
    state["data"]["primary"] = str(base / "primary")
    _save_state(options, state)
    primary = start_primary(options, base, logs)
    state["pids"]["postgres_primary"] = _postmaster_pid(primary)
    _save_state(options, state)
    children: dict[str, subprocess.Popen[bytes]] = {}
    if options.redis_url is None:
        children["redis"] = _spawn(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(options.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(options.dir),
            ],
            log=logs / "redis.log",
            env=dict(os.environ),
        )
    if options.pgbouncer:
        start_pgbouncer(options, base, logs, children)
    mail = options.dir / "mail"
    for folder in ("tmp", "new", "cur"):  # a Maildir (the handler only makes a missing one)
        (mail / folder).mkdir(parents=True, exist_ok=True)
    children["smtp"] = _spawn(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{options.smtp_port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(mail),
        ],
        log=logs / "smtp.log",
        env=dict(os.environ),
    )
    # The nodes load the app (seconds) while the schema and the replica are made: `up`
    # returns only once both are there and every node answers.
    web_env = app_env(options, replica=True, pooled=options.pgbouncer)
    for port in options.web_ports:
        children[f"web-{port}"] = _spawn(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(options.workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--access-logfile",
                "-",
                "wsgi:app",
            ],
            log=logs / f"web-{port}.log",
            env=web_env,
        )
    migrate_env = app_env(options, replica=False)
    _run(_flask("db", "upgrade"), log=logs / "migrate.log", env=migrate_env)
    if options.seed_demo:
        # seed-demo is refused in production: this one command runs as development.
        _run(
            _flask("seed-demo"),
            log=logs / "seed.log",
            env={**migrate_env, "TELETHERAPY_ENV": "development"},
        )
    dispatch_env = app_env(options, replica=False, pool=(5, 5))
    for number in range(1, options.dispatchers + 1):
        children[f"dispatcher-{number}"] = _spawn(
            _flask("scheduler"), log=logs / f"dispatcher-{number}.log", env=dispatch_env
        )
    state["pids"].update({name: child.pid for name, child in children.items()})
    state["data"]["replica"] = str(base / "replica")
    _save_state(options, state)
    replica = start_replica(options, base, logs)
    state["pids"]["postgres_replica"] = _postmaster_pid(replica)
    _save_state(options, state)
    _wait_for_children(options, logs, children)


def _wait_for_children(
    options: Options, logs: Path, children: dict[str, subprocess.Popen[bytes]]
) -> None:
    def alive(name: str) -> bool:
        code = children[name].poll()
        if code is not None:
            log = logs / (name + ".log")
            raise TopologyError(f"{name} exited with {code}; see {log}{_tail(log)}")
        return True

    if "pgbouncer" in children:
        _wait(
            "pgbouncer",
            lambda: alive("pgbouncer") and _port_open(options.pgbouncer_port),
            timeout=20,
        )
    if "redis" in children:
        _wait("redis", lambda: alive("redis") and _port_open(options.redis_port), timeout=20)
    _wait("smtp", lambda: alive("smtp") and _port_open(options.smtp_port), timeout=30)
    for port in options.web_ports:
        name = f"web-{port}"
        log = logs / (name + ".log")
        _wait(name, lambda n=name, p=port: alive(n) and _healthy(p), timeout=90, log=log)
    for name in children:
        alive(name)  # the dispatchers started (they bind no port: still running is the sign)


def _signal(pid: int, *, quick: bool) -> None:
    """Signal the child's process group (gunicorn's workers with it).

    `quick`: SIGINT, gunicorn's quick shutdown (SIGTERM lets idle sync workers sit in
    their wait for seconds)."""
    sig = signal.SIGINT if quick else signal.SIGTERM
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, sig)


def _gone(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return True
    except ChildProcessError:  # not our child (started by an earlier `up`)
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _terminate(pids: dict[str, int], *, timeout: float = 15.0) -> None:
    """Signal every child at once, wait for them together, then SIGKILL what is left."""
    for name, pid in pids.items():
        _signal(pid, quick=name.startswith("web-"))
    deadline = time.monotonic() + timeout
    waiting = set(pids.values())
    while waiting and time.monotonic() < deadline:
        waiting = {pid for pid in waiting if not _gone(pid)}
        time.sleep(0.05)
    for pid in waiting:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def down(directory: Path) -> None:
    """Stop everything `up` started in DIR (what it recorded in DIR/state.json)."""
    directory = directory.resolve()
    state = _load(directory / STATE)
    logs = directory / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    pids: dict[str, int | None] = state.get("pids", {})
    _terminate({n: pid for n, pid in pids.items() if pid and not n.startswith("postgres")})
    for key in ("replica", "primary"):
        data = state.get("data", {}).get(key)
        if data and Path(data).exists():
            try:
                stop_postgres(Path(data), logs, mode="fast")
            except TopologyError:
                stop_postgres(Path(data), logs, mode="immediate")
    base = state.get("pg_base")
    if base and not Path(base).is_relative_to(directory):
        shutil.rmtree(base, ignore_errors=True)
    state["pids"] = {}
    (directory / STATE).write_text(json.dumps(state, indent=2))
    (directory / TOPOLOGY).unlink(missing_ok=True)


# ---------------------------------------------------------------------------- command line


def _ports(value: str) -> list[int]:
    return [int(p) for p in value.split(",") if p.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start the topology and wait until it answers")
    start.add_argument("--dir", type=Path, required=True)
    start.add_argument("--web-ports", type=_ports, default=[8101, 8102])
    start.add_argument("--pg-port", type=int, default=25432)
    start.add_argument("--replica-port", type=int, default=25433)
    start.add_argument("--pgbouncer-port", type=int, default=26432)
    start.add_argument(
        "--no-pgbouncer", action="store_true", help="web nodes straight to the primary"
    )
    start.add_argument("--redis-port", type=int, default=26379)
    start.add_argument("--redis-url", help="use this Redis instead of starting one")
    start.add_argument("--smtp-port", type=int, default=21025)
    start.add_argument("--workers", type=int, default=2, help="gunicorn workers per node")
    start.add_argument("--dispatchers", type=int, default=2)
    start.add_argument("--max-lag-seconds", type=float, default=2.0)
    start.add_argument("--no-rate-limits", action="store_true", help="e.g. for a load test")
    start.add_argument("--no-fsync", action="store_true", help="faster, loses data on a crash")
    start.add_argument("--seed-demo", action="store_true", help="run `flask seed-demo` first")
    start.add_argument(
        "--foreground", action="store_true", help="stay until Ctrl-C, then stop everything"
    )
    stop = commands.add_parser("down", help="stop what `up` started in DIR")
    stop.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "down":
        down(args.dir)
        print(f"topology in {args.dir} stopped")
        return 0
    options = Options(
        dir=args.dir,
        web_ports=args.web_ports,
        pg_port=args.pg_port,
        replica_port=args.replica_port,
        pgbouncer=not args.no_pgbouncer,
        pgbouncer_port=args.pgbouncer_port,
        redis_port=args.redis_port,
        redis_url=args.redis_url,
        smtp_port=args.smtp_port,
        workers=args.workers,
        dispatchers=args.dispatchers,
        rate_limits=not args.no_rate_limits,
        seed_demo=args.seed_demo,
        max_lag_seconds=args.max_lag_seconds,
        durable=not args.no_fsync,
    )
    try:
        topology = up(options)
    except TopologyError as exc:
        print(f"topology: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(topology, indent=2))
    if not args.foreground:
        return 0
    print("Running; Ctrl-C stops everything.", flush=True)
    # Ctrl-C, even when started from a shell that ignores SIGINT in background jobs; SIGTERM
    # (make killed, a CI timeout) stops everything the same way.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        down(options.dir)
        print("topology stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
