"""Deployments: N replicas of the app behind one nginx proxy (deploy/proxy.py), started, replaced, listed
and stopped together.

A deployment on proxy port P lives in <dir>/run/deployments/P/: deployment.json (proxy PID, the replicas and
the folders they run from), nginx.conf, nginx.pid, error.log, access.log, instances.html/.json (the page the
proxy serves at /instances), uploads/ (the upload folder all replicas share) and logs/<replica port>/ (each
replica's requests.log and errors.log). Each replica is also an ordinary instance with its PID record in
<its folder>/run/<port>.json, marked with the proxy port.
"""
from __future__ import annotations

import html
import json
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from deploy import instances, proxy, server
from deploy.config import HEALTH_TIMEOUT_S

DEPLOYMENTS = "deployments"


class DeploymentError(Exception):
    """A deployment cannot be started, found, changed or stopped; the message says why."""


@dataclass
class Deployment:
    """The record of one proxy and its replicas ({"port", "dir", "pid"} each)."""

    port: int
    host: str
    folder: str
    proxy_pid: int | None = None
    replicas: list[dict] = field(default_factory=list)
    draining: list[dict] = field(default_factory=list)
    generation: str = ""
    started: float = 0.0

    @property
    def path(self) -> Path:
        return Path(self.folder)

    @property
    def url(self) -> str:
        return server.base_url(self.host, self.port)

    def save(self) -> None:
        (self.path / "deployment.json").write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")


def folder(app_dir: Path, port: int) -> Path:
    return instances.run_dir(app_dir) / DEPLOYMENTS / str(port)


def load(app_dir: Path, port: int) -> Deployment | None:
    path = folder(app_dir, port) / "deployment.json"
    if not path.is_file():
        return None
    try:
        return Deployment(**json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError) as exc:
        raise DeploymentError(f"{path}: not a deployment record written by `deploy start` ({exc}); delete it") from None


def all_deployments(app_dir: Path) -> list[Deployment]:
    base = instances.run_dir(app_dir) / DEPLOYMENTS
    ports = sorted(int(p.name) for p in base.glob("*") if p.name.isdigit() and (p / "deployment.json").is_file())
    return [d for d in (load(app_dir, port) for port in ports) if d is not None]


def proxy_running(dep: Deployment) -> bool:
    return dep.proxy_pid is not None and proxy.is_our_proxy(dep.proxy_pid, dep.path)


def replica_env(dep: Deployment, port: int, count: int) -> dict[str, str]:
    """What every replica of a deployment shares (the upload folder) and what it has of its own (its logs,
    and a share of the cores for OCR unless OCR_THREADS is set)."""
    env = {"GRADIO_TEMP_DIR": str(dep.path / "uploads"), "OCR_STUDIO_SHARED_UPLOADS": "1",
           "OCR_STUDIO_LOG_DIR": str(dep.path / "logs" / str(port))}
    if "OCR_THREADS" not in os.environ:
        env["OCR_THREADS"] = str(max(1, (os.cpu_count() or 1) // count))
    return env


def start_replicas(dep: Deployment, source: Path, count: int, total: int) -> list[instances.Instance]:
    """Start count replicas from source on free ports, all at once, and wait until every one is healthy
    (all are stopped again when one is not). total: replicas the deployment will have (for OCR_THREADS)."""
    started: list[instances.Instance] = []
    try:
        for _ in range(count):
            port = server.free_port()
            started.append(instances.start(source, port=port, host="127.0.0.1", wait=False, proxy=dep.port,
                                           env=replica_env(dep, port, total)))
        for instance in started:
            instances.wait_started(instance, HEALTH_TIMEOUT_S)
    except (instances.InstanceError, server.ServerError):
        for instance in started:
            server.stop(instance.pid)
            instances.record_path(Path(instance.dir), instance.port).unlink(missing_ok=True)
        raise
    return started


def _ref(instance: instances.Instance) -> dict:
    return {"port": instance.port, "dir": instance.dir, "pid": instance.pid}


def replica_state(ref: dict) -> tuple[instances.Instance | None, str]:
    """(record, "healthy" / "starting" / "down") of one replica; the record of a dead one is removed."""
    instance = instances.find(Path(ref["dir"]), ref["port"])
    if instance is None:
        return None, "down"
    current = instances.state(instance)
    if current == "stale":
        instances.record_path(Path(ref["dir"]), ref["port"]).unlink(missing_ok=True)
        return instance, "down"
    return instance, current


def apply(dep: Deployment) -> None:
    """Write the proxy's configuration and instances page for the deployment's replicas, then start nginx or
    reload it; returns once the proxy serves the new configuration."""
    dep.generation = uuid.uuid4().hex[:12]
    text = proxy.render(dep.path, port=dep.port, host=dep.host, replicas=[r["port"] for r in dep.replicas],
                        draining=[r["port"] for r in dep.draining], generation=dep.generation)
    write_instances_page(dep)
    proxy.write(dep.path, text)
    if proxy_running(dep):
        proxy.reload(dep.path, dep.proxy_pid, dep.port, dep.generation)
    else:
        dep.proxy_pid = proxy.start(dep.path, dep.port, dep.generation)
    dep.save()


def start(app_dir: Path, *, port: int, replicas: int, host: str = "127.0.0.1") -> tuple[Deployment, list[str]]:
    """`deploy start --replicas N --port P`: a new deployment, or, when one runs on P, replicas started to
    replace those that are down (the proxy is reconfigured without them)."""
    if replicas < 1:
        raise DeploymentError("--replicas must be at least 1")
    app_dir = app_dir.resolve()
    dep = load(app_dir, port)
    if dep is not None and proxy_running(dep):
        alive = [r for r in dep.replicas if replica_state(r)[1] != "down"]
        gone = [r["port"] for r in dep.replicas if r not in alive]
        new = start_replicas(dep, app_dir, max(0, replicas - len(alive)), replicas) if len(alive) < replicas else []
        dep.replicas = alive + [_ref(i) for i in new]
        apply(dep)
        lines = [f"replica on port {p} was down: removed from the proxy" for p in gone]
        lines += [f"replica started: version {i.version} on {i.url} (PID {i.pid})" for i in new]
        return dep, lines or [f"deployment on port {port} already has {len(alive)} healthy replicas"]
    if dep is not None:  # its proxy is gone: its replicas are stopped and the deployment started afresh
        for ref in dep.replicas + dep.draining:
            stop_replica(ref)
    if instances.port_in_use(host, port):
        raise DeploymentError(f"port {port} is already in use on {host}")
    path = folder(app_dir, port)
    path.mkdir(parents=True, exist_ok=True)
    dep = Deployment(port=port, host=host, folder=str(path), started=time.time())
    started = start_replicas(dep, app_dir, replicas, replicas)
    dep.replicas = [_ref(i) for i in started]
    try:
        apply(dep)
    except proxy.ProxyError:
        for instance in started:
            instances.stop(Path(instance.dir), port=instance.port)
        raise
    lines = [f"replica: version {i.version} on {i.url} (PID {i.pid})" for i in started]
    return dep, lines + [f"proxy: nginx on {dep.url} (PID {dep.proxy_pid}), config {dep.path / 'nginx.conf'}"]


def stop_replica(ref: dict) -> str:
    try:
        return instances.stop(Path(ref["dir"]), port=ref["port"])[0]
    except instances.InstanceError:
        return f"port {ref['port']}: not running"


def stop(app_dir: Path, port: int) -> list[str]:
    """Stop the proxy on port (gracefully), then every replica of the deployment; the record is removed."""
    dep = load(app_dir.resolve(), port)
    if dep is None:
        raise DeploymentError(f"no deployment with a proxy on port {port} in {instances.run_dir(app_dir)}")
    lines = []
    if proxy_running(dep):
        lines.append(f"proxy port {port}: nginx PID {dep.proxy_pid} {proxy.stop(dep.proxy_pid)}")
    else:
        lines.append(f"proxy port {port}: not running")
    lines += [stop_replica(ref) for ref in dep.replicas + dep.draining]
    shutil.rmtree(dep.path / "uploads", ignore_errors=True)  # the replicas leave it (serving/uploads.py)
    (dep.path / "deployment.json").unlink(missing_ok=True)
    return lines


def rows(app_dir: Path) -> list[dict]:
    """`deploy status --json`: every deployment's proxy and replicas, then the other recorded instances."""
    app_dir = app_dir.resolve()
    out, seen = [], set()
    for dep in all_deployments(app_dir):
        running = proxy_running(dep)
        members = []
        for role, refs in (("replica", dep.replicas), ("draining", dep.draining)):
            for ref in refs:
                instance, current = replica_state(ref)
                seen.add((str(Path(ref["dir"]).resolve()), ref["port"]))
                if instance is not None:
                    members.append({**instances.row(instance, current), "role": role})
                else:
                    members.append({"kind": "app", "version": None, "port": ref["port"], "pid": ref["pid"],
                                    "url": server.base_url("127.0.0.1", ref["port"]), "healthy": False,
                                    "state": "down", "uptime_s": None, "proxy": dep.port, "dir": ref["dir"],
                                    "log": None, "role": role})
        versions = sorted({m["version"] for m in members if m["version"] and m["role"] == "replica"})
        out.append({"kind": "proxy", "port": dep.port, "pid": dep.proxy_pid, "version": ", ".join(versions) or None,
                    "url": dep.url, "healthy": running and proxy.generation(dep.port) == dep.generation,
                    "state": "healthy" if running else "down",
                    "uptime_s": round(time.time() - dep.started), "replicas": [r["port"] for r in dep.replicas],
                    "draining": [r["port"] for r in dep.draining], "config": str(dep.path / "nginx.conf"),
                    "log": str(dep.path / "access.log")})
        out += members
    out += [r for r in instances.status(app_dir) if (str(Path(r["dir"]).resolve()), r["port"]) not in seen]
    return out


def endpoints(info: dict) -> dict[str, dict]:
    """The named endpoints of a /gradio_api/info answer: parameters and returns, as name/type/component."""
    def describe(item: dict) -> dict:
        python_type = item.get("python_type") or {}
        return {"name": item.get("parameter_name") or item.get("label"), "label": item.get("label"),
                "component": item.get("component"), "type": python_type.get("type"),
                "description": python_type.get("description") or None,
                "has_default": item.get("parameter_has_default", False)}
    return {name: {"parameters": [describe(p) for p in spec.get("parameters", [])],
                   "returns": [describe(r) for r in spec.get("returns", [])]}
            for name, spec in (info.get("named_endpoints") or {}).items()}


def api_docs(app_dir: Path) -> list[dict]:
    """For every running app instance (replicas included): version, address and its endpoints, fetched live
    from its /gradio_api/info."""
    docs = []
    for row in rows(app_dir):
        if row["kind"] != "app" or not row["healthy"]:
            continue
        try:
            found = endpoints(server.api_info(row["url"], timeout=10))
        except (OSError, ValueError) as exc:
            found, row = {}, {**row, "error": str(exc)}
        docs.append({"version": row["version"], "url": row["url"], "port": row["port"], "proxy": row.get("proxy"),
                     "role": row.get("role"), "endpoints": found, **({"error": row["error"]} if "error" in row else {})})
    return docs


def _instance_docs(dep: Deployment) -> list[dict]:
    docs = []
    for role, refs in (("replica", dep.replicas), ("draining", dep.draining)):
        for ref in refs:
            instance = instances.find(Path(ref["dir"]), ref["port"])
            url = server.base_url("127.0.0.1", ref["port"])
            try:
                found, healthy = endpoints(server.api_info(url, timeout=10)), True
            except (OSError, ValueError):
                found, healthy = {}, False
            docs.append({"port": ref["port"], "url": url, "role": role, "healthy": healthy,
                         "version": instance.version if instance else None, "endpoints": found})
    return docs


def write_instances_page(dep: Deployment) -> None:
    """instances.json and instances.html of the deployment (served by the proxy at /instances): each
    replica's version, address and endpoints with parameters and returns, fetched from it now; the page
    re-checks every replica's /gradio_api/info (through /instances/<port>/info) when it is opened."""
    docs = _instance_docs(dep)
    fetched = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    (dep.path / "instances.json").write_text(json.dumps({"fetched": fetched, "instances": docs}, indent=2) + "\n",
                                             encoding="utf-8")
    esc = html.escape
    parts = [f"<!doctype html><meta charset=utf-8><title>OCR Studio instances</title>"
             f"<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:.5em 0 1.5em}}"
             f"td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:left}}.down{{color:#b00}}.up{{color:#070}}"
             f"</style><h1>OCR Studio: instances behind port {dep.port}</h1>"
             f"<p>Endpoints as each instance's <code>/gradio_api/info</code> gave them at {fetched}; "
             f"the state column is checked again when this page is opened.</p>"]
    for doc in docs:
        parts.append(f"<h2 data-port={doc['port']}>{esc(doc['url'])}: version {esc(str(doc['version']))} "
                     f"({doc['role']}) <span class=state id=state-{doc['port']}>"
                     f"{'healthy' if doc['healthy'] else 'down'}</span></h2>")
        parts.append("<table><tr><th>endpoint</th><th>parameters</th><th>returns</th></tr>")
        for name, spec in doc["endpoints"].items():
            params = "<br>".join(f"<code>{esc(str(p['name']))}</code>: {esc(str(p['component']))} "
                                 f"({esc(str(p['type']))})" for p in spec["parameters"])
            returns = "<br>".join(f"{esc(str(r['label']))}: {esc(str(r['component']))} ({esc(str(r['type']))})"
                                  for r in spec["returns"])
            parts.append(f"<tr><td><code>{esc(name)}</code></td><td>{params}</td><td>{returns}</td></tr>")
        parts.append("</table>")
    parts.append("<script>for (const h of document.querySelectorAll('h2[data-port]')) {"
                 "const s = document.getElementById('state-' + h.dataset.port);"
                 "fetch('/instances/' + h.dataset.port + '/info').then(r => { s.textContent = r.ok ? 'healthy' : 'down';"
                 " s.className = r.ok ? 'up' : 'down'; }).catch(() => { s.textContent = 'down'; s.className = 'down'; });"
                 "}</script>")
    (dep.path / "instances.html").write_text("\n".join(parts) + "\n", encoding="utf-8")
