"""Running instances of the app: start in the background, list, stop by PID, tail logs.

Each instance started by `deploy start` has <dir>/run/<port>.json (its PID record) and <dir>/run/<port>.log.
"""
from __future__ import annotations

import json
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from deploy import server
from deploy.config import DESCRIPTOR_NAME, HEALTH_TIMEOUT_S, RUN_DIR_NAME
from deploy.descriptor import read_version


class InstanceError(Exception):
    """An instance cannot be started, found or stopped; the message says why."""


@dataclass(frozen=True)
class Instance:
    """The PID record of one started app."""

    pid: int
    port: int
    host: str
    dir: str
    entry_point: str
    version: str | None
    started: float
    log: str
    proxy: int | None = None  # the port of the deployment's proxy this instance is a replica of


    @property
    def url(self) -> str:
        return server.base_url(self.host, self.port)


def run_dir(app_dir: Path) -> Path:
    return app_dir / RUN_DIR_NAME


def record_path(app_dir: Path, port: int) -> Path:
    return run_dir(app_dir) / f"{port}.json"


def log_path(app_dir: Path, port: int) -> Path:
    return run_dir(app_dir) / f"{port}.log"


def entry_point(app_dir: Path) -> str:
    """The entry point named by the folder's descriptor.json (app.py when there is none)."""
    path = app_dir / DESCRIPTOR_NAME
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))["runtime"]["entry_point"]
    return "app.py"


def records(app_dir: Path) -> list[Instance]:
    """Every PID record in <dir>/run/, by port."""
    found = []
    for path in run_dir(app_dir).glob("*.json"):
        try:
            found.append(Instance(**json.loads(path.read_text(encoding="utf-8"))))
        except (json.JSONDecodeError, TypeError) as exc:
            raise InstanceError(f"{path}: not a PID record written by `deploy start` ({exc}); delete it") from None
    return sorted(found, key=lambda i: i.port)


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def start(app_dir: Path, *, port: int | None = None, host: str = "127.0.0.1", wait: bool = True,
          timeout: float = HEALTH_TIMEOUT_S, env: dict[str, str] | None = None, proxy: int | None = None) -> Instance:
    """Start the app in app_dir in its own session on port (a free one when None) and record it; with wait,
    return once the health check answers (stopping the app again if it never does). env: variables set for
    the app; proxy: the deployment (proxy port) it serves behind."""
    app_dir = app_dir.resolve()
    entry = entry_point(app_dir)
    if not (app_dir / entry).is_file():
        raise InstanceError(f"{app_dir / entry} does not exist: --dir must be the project or an extracted package")
    port = port or server.free_port(host)
    if port_in_use(host, port):
        raise InstanceError(f"port {port} is already in use on {host}")
    log = log_path(app_dir, port)
    process = server.launch(app_dir, port, log, host=host, entry_point=entry, env=env)
    instance = Instance(pid=process.pid, port=port, host=host, dir=str(app_dir), entry_point=entry,
                        version=read_version(app_dir / entry), started=time.time(), log=str(log), proxy=proxy)
    record_path(app_dir, port).write_text(json.dumps(asdict(instance), indent=2) + "\n", encoding="utf-8")
    if wait:
        wait_started(instance, timeout)
    return instance


def wait_started(instance: Instance, timeout: float = HEALTH_TIMEOUT_S) -> None:
    """Wait for a just-started instance's health check; one that never answers is stopped and its record
    removed."""
    try:
        server.wait_healthy(instance.url, instance.pid, Path(instance.log), timeout)
    except server.ServerError:
        server.stop(instance.pid)
        record_path(Path(instance.dir), instance.port).unlink(missing_ok=True)
        raise


def state(instance: Instance) -> str:
    """"healthy", "starting" (our process, health check not answering yet) or "stale" (PID gone or reused)."""
    if not server.is_our_app(instance.pid, Path(instance.dir), instance.entry_point):
        return "stale"
    return "healthy" if server.healthy(instance.url) else "starting"


def status(app_dir: Path) -> list[dict]:
    """One row per recorded instance (version, port, PID, uptime, state); stale records are removed."""
    rows = []
    for instance in records(app_dir):
        current = state(instance)
        if current == "stale":
            record_path(app_dir, instance.port).unlink(missing_ok=True)
        rows.append(row(instance, current))
    return rows


def row(instance: Instance, current: str) -> dict:
    """The status of one instance as `deploy status --json` prints it."""
    return {"kind": "app", "version": instance.version, "port": instance.port, "pid": instance.pid,
            "url": instance.url, "healthy": current == "healthy", "state": current,
            "uptime_s": round(time.time() - instance.started), "proxy": instance.proxy, "dir": instance.dir,
            "log": instance.log}


def find(app_dir: Path, port: int) -> Instance | None:
    """The record of the instance on port in app_dir/run/ (None when there is none)."""
    return next((i for i in records(app_dir) if i.port == port), None)


def select(app_dir: Path, *, port: int | None = None, pid: int | None = None, everything: bool = False) -> list[Instance]:
    """The recorded instances a stop/logs request names; exactly one of port, pid, everything."""
    found = records(app_dir)
    if everything:
        return found
    chosen = [i for i in found if (port is not None and i.port == port) or (pid is not None and i.pid == pid)]
    if not chosen:
        what = f"port {port}" if port is not None else f"PID {pid}"
        raise InstanceError(f"no instance started by `deploy start` on {what} in {run_dir(app_dir)}")
    return chosen


def stop(app_dir: Path, *, port: int | None = None, pid: int | None = None, everything: bool = False) -> list[str]:
    """Stop the named instances gracefully (SIGTERM, then SIGKILL), each only after checking that its PID still
    runs our app in its folder; stale records are removed without signalling anything. Returns one line each."""
    lines = []
    for instance in select(app_dir, port=port, pid=pid, everything=everything):
        if server.is_our_app(instance.pid, Path(instance.dir), instance.entry_point):
            how = server.stop(instance.pid)
            lines.append(f"port {instance.port}: PID {instance.pid} {how}")
        else:
            lines.append(f"port {instance.port}: stale record (PID {instance.pid} no longer runs the app), "
                         f"removed; nothing signalled")
        record_path(app_dir, instance.port).unlink(missing_ok=True)
    return lines


def logs(app_dir: Path, *, port: int | None = None, lines: int = 50) -> str:
    """The last lines of an instance's log; port may be omitted when exactly one log exists."""
    if port is None:
        candidates = sorted(run_dir(app_dir).glob("*.log"))
        if len(candidates) != 1:
            ports = [p.stem for p in candidates]
            raise InstanceError(f"name one with --port: logs exist for ports {ports}" if ports
                                else f"no instance logs in {run_dir(app_dir)}")
        port = int(candidates[0].stem)
    path = log_path(app_dir, port)
    if not path.is_file():
        raise InstanceError(f"{path} does not exist")
    return server.tail(path, lines)
