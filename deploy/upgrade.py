"""`python -m deploy upgrade --port P --from DIR_OR_ZIP`: replace a deployment's replicas with another version
without failing a request.

1. `prepare`: a folder is used as it is; a zip (a package of `deploy build`) is extracted safely into
   <deployment>/releases/<name>-<time>/.
2. `start_new`: as many replicas as run now, from that folder, on free ports; all must become healthy (else
   they are stopped and nothing else changes).
3. `switch`: the proxy's configuration sends every new call to the new replicas, and keeps the old ones only
   for the result streams of calls they hold; `nginx -s reload` (SIGHUP) lets nginx's old workers finish
   their connections. Once no old worker takes connections, and the calls they took last have had
   SWITCH_SETTLE_S to reach their replica, the old replicas are told to refuse joins of sessions they do
   not hold (the new configuration then gives those to the new replicas; the old one would answer 404).
4. `drain`: each old replica is asked (GET /ocr-studio/load) until it holds no call, twice in a row.
5. `stop_old`: SIGTERM, then SIGKILL after the stop timeout.
6. `finish`: the configuration without the old replicas, reloaded.
Each step is a line in the deployment log (logs/deployments.jsonl), then an outcome line.
"""
from __future__ import annotations

import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from deploy import instances, replicas, server
from deploy.config import DRAIN_TIMEOUT_S
from deploy.deploylog import DeployLog
from deploy.descriptor import read_version
from deploy.safezip import extract

DRAIN_POLL_S = 0.5
SWITCH_SETTLE_S = 1.0


def source_folder(dep: replicas.Deployment, source: Path) -> Path:
    """The folder the new replicas run from: source itself, or where its zip was extracted."""
    source = source.resolve()
    if source.is_dir():
        folder = source
    elif source.is_file():
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        folder = dep.path / "releases" / f"{source.stem}-{stamp}"
        extract(source, folder)
    else:
        raise replicas.DeploymentError(f"--from {source}: no such folder or zip")
    entry = instances.entry_point(folder)
    if not (folder / entry).is_file():
        raise replicas.DeploymentError(f"{folder} has no {entry}: not the project or an extracted package")
    return folder


def held_calls(port: int) -> int | None:
    """Calls an old replica still holds (None when it does not answer: nothing more to wait for)."""
    try:
        load = server.get_json(f"http://127.0.0.1:{port}/ocr-studio/load", timeout=3)
    except (OSError, ValueError):
        return None
    return int(load.get("events", 0)) + int(load.get("admitting", 0))


def mark_draining(port: int) -> str:
    """Tell an old replica to accept joins only for sessions it holds (serving/gate.py)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/ocr-studio/drain", data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return "draining" if answer.status == 200 else f"HTTP {answer.status}"
    except OSError as exc:
        return f"not answering ({exc})"


def drain(ports: list[int], timeout: float = DRAIN_TIMEOUT_S) -> dict[int, str]:
    """Wait until every port holds no call on two polls in a row; returns how each one ended."""
    deadline = time.monotonic() + timeout
    idle = {port: 0 for port in ports}
    ended: dict[int, str] = {}
    while len(ended) < len(ports):
        for port in ports:
            if port in ended:
                continue
            held = held_calls(port)
            idle[port] = idle[port] + 1 if not held else 0
            if held is None:
                ended[port] = "not answering"
            elif idle[port] >= 2:
                ended[port] = "drained"
            elif time.monotonic() > deadline:
                ended[port] = f"still holding {held} calls after {timeout:.0f} s"
        time.sleep(DRAIN_POLL_S)
    return ended


def upgrade(app_dir: Path, port: int, source: Path, log_path: Path) -> list[str]:
    """Run the steps above for the deployment on port; returns one line per step. Raises on failure (logged)."""
    dep = replicas.load(app_dir.resolve(), port)
    if dep is None or not replicas.proxy_running(dep):
        raise replicas.DeploymentError(f"no running deployment with a proxy on port {port}; "
                                       f"`deploy start --replicas N --port {port}` first")
    log = DeployLog(log_path, package=source.name)
    old = list(dep.replicas)
    lines: list[str] = []
    new: list[instances.Instance] = []
    try:
        with log.step("prepare") as detail:
            folder = source_folder(dep, source)
            version = read_version(folder / instances.entry_point(folder))
            detail.update(source=str(source), dir=str(folder), version=version, proxy_port=port)
        with log.step("start_new") as detail:
            new = replicas.start_replicas(dep, folder, max(1, len(old)), max(1, len(old)))
            detail.update(replicas=[i.port for i in new])
            lines.append(f"started {len(new)} replicas of {version}: ports {[i.port for i in new]}")
        with log.step("switch") as detail:
            dep.replicas, dep.draining = [replicas._ref(i) for i in new], dep.draining + old
            replicas.apply(dep)
            time.sleep(SWITCH_SETTLE_S)
            detail.update(generation=dep.generation, draining={str(r["port"]): mark_draining(r["port"]) for r in old})
            lines.append(f"proxy on port {port} sends new calls to {[i.port for i in new]} (nginx reloaded)")
        with log.step("drain") as detail:
            ended = drain([r["port"] for r in old])
            detail.update(replicas={str(p): how for p, how in ended.items()})
            lines.append("old replicas: " + ", ".join(f"{p} {how}" for p, how in ended.items()))
        with log.step("stop_old") as detail:
            stopped = [replicas.stop_replica(ref) for ref in old]
            detail.update(stopped=stopped)
            lines += stopped
        with log.step("finish") as detail:
            dep.draining = [r for r in dep.draining if r not in old]
            replicas.apply(dep)
            detail.update(generation=dep.generation)
    except Exception as exc:
        saved = replicas.load(app_dir.resolve(), port)
        if new and (saved is None or saved.replicas == old):
            for instance in new:  # the proxy never sent them anything: the deployment stays as it was
                replicas.stop_replica(replicas._ref(instance))
        log.outcome(False, deployed=None, failed_step=_last_step(log_path, log.run), error=str(exc),
                    proxy_port=port)
        raise
    log.outcome(True, deployed=version, version=version, proxy_port=port, replicas=[r["port"] for r in dep.replicas],
                work_dir=None)
    lines.append(f"upgraded the deployment on port {port} to {version}")
    return lines


def _last_step(log_path: Path, run: str) -> str | None:
    from deploy import deploylog
    steps = [line for line in deploylog.read(log_path) if line.get("run") == run and not line["ok"]]
    return steps[-1]["step"] if steps else None
