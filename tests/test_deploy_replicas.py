"""Two replicas of the real app behind a real nginx (`deploy start --replicas 2`): calls through the proxy, the
instances page, failover after a replica is killed, an upgrade under continuous load, and stop.

The tests run in order on one deployment (module scope); nginx must be installed (CI: apt-get install nginx).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from deploy import deploylog, proxy, replicas, server

REPO = Path(__file__).resolve().parents[1]
DIGIT = REPO / "samples" / "digits" / "digit_7_mnist_test_0000_white.png"
RECEIPT = REPO / "samples" / "documents" / "receipt_043.jpg"
NEW_VERSION = "9.9.9"


def deploy(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deploy", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def status() -> list[dict]:
    result = deploy("status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def members(port: int) -> tuple[dict, list[dict]]:
    """The proxy row on port and the rows of its replicas."""
    rows = status()
    (proxy_row,) = [r for r in rows if r["kind"] == "proxy" and r["port"] == port]
    return proxy_row, [r for r in rows if r["kind"] == "app" and r.get("proxy") == port and r["role"] == "replica"]


def pad(path: Path) -> dict:
    return {"background": None, "layers": [], "composite": handle_file(str(path))}


def digit_through(url: str) -> str:
    """A new person (new client, new route cookie) draws a 7."""
    return Client(url, verbose=False).predict(pad(DIGIT), api_name="/digit")["label"]


@pytest.fixture(scope="module")
def deployment():
    port = server.free_port()
    started = deploy("start", "--replicas", "2", "--port", str(port))
    assert started.returncode == 0, started.stdout + started.stderr
    dep = replicas.load(REPO, port)
    yield {"port": port, "url": f"http://127.0.0.1:{port}/", "folder": dep.path}
    if replicas.load(REPO, port) is not None:
        deploy("stop", "--port", str(port))


def test_status_lists_the_proxy_and_both_replicas(deployment):
    proxy_row, apps = members(deployment["port"])
    assert proxy_row["healthy"] and server.alive(proxy_row["pid"])
    assert len(apps) == 2 and all(a["healthy"] and a["version"] for a in apps)
    assert sorted(proxy_row["replicas"]) == sorted(a["port"] for a in apps)
    assert {"kind", "port", "pid", "version", "healthy"} <= set(proxy_row) and all(
        {"kind", "port", "pid", "version", "healthy"} <= set(a) for a in apps)


def test_a_reload_returns_once_the_old_workers_take_no_connection(deployment):
    """Until an old nginx worker stops listening, a new connection may be served on the old configuration."""
    dep = replicas.load(REPO, deployment["port"])
    old_workers = server.children(dep.proxy_pid)
    assert old_workers and all("worker process" in " ".join(server.command_line(w)) for w in old_workers)
    proxy.reload(dep.path, dep.proxy_pid, dep.port, dep.generation)
    for worker in old_workers:
        assert not server.alive(worker) or "shutting down" in " ".join(server.command_line(worker))
    assert set(server.children(dep.proxy_pid)) - set(old_workers)
    assert digit_through(deployment["url"]) == "7"


def test_ocr_and_digits_right_through_the_proxy(deployment):
    client = Client(deployment["url"], verbose=False)
    text, _, result = client.predict(handle_file(str(RECEIPT)), api_name="/ocr")
    assert "190.00" in text and len(result["lines"]) >= 15
    assert client.predict(pad(DIGIT), api_name="/digit")["label"] == "7"
    number, _ = client.predict(pad(REPO / "samples" / "digits" / "number_2024.png"), api_name="/number")
    assert number["number"] == "2024"
    # ten more people: each gets a route cookie, and both replicas serve some of them
    assert [digit_through(deployment["url"]) for _ in range(10)] == ["7"] * 10
    served = set(re.findall(r"queue/join .* upstream=127\.0\.0\.1:(\d+)", (deployment["folder"] / "access.log").read_text()))
    assert served == {str(p) for p in members(deployment["port"])[0]["replicas"]}


def test_instances_page_lists_both_replicas_endpoints(deployment):
    _, apps = members(deployment["port"])
    with urllib.request.urlopen(deployment["url"] + "instances", timeout=10) as answer:
        page = answer.read().decode()
    for app in apps:
        assert app["url"] in page and f"version {app['version']}" in page
        with urllib.request.urlopen(f"{deployment['url']}instances/{app['port']}/info", timeout=10) as answer:
            assert {"/ocr", "/digit", "/number"} <= set(json.loads(answer.read())["named_endpoints"])
    for endpoint in ("/ocr", "/digit", "/number"):
        assert page.count(f"<code>{endpoint}</code>") == 2
    assert page.count("<code>path</code>") == 2  # /ocr's parameter, as the replicas' /gradio_api/info names it
    api = deploy("status", "--api", "--json")
    docs = [d for d in json.loads(api.stdout) if d["proxy"] == deployment["port"]]
    assert sorted(d["port"] for d in docs) == sorted(a["port"] for a in apps)
    for doc in docs:
        assert [p["name"] for p in doc["endpoints"]["/ocr"]["parameters"]] == ["path"]
        assert len(doc["endpoints"]["/ocr"]["returns"]) == 3
    assert "/digit(sketch" in deploy("status", "--api").stdout


def test_a_replica_that_stops_leaves_the_uploads_the_others_were_given(deployment):
    """Gradio names an upload after its content: two replicas given the same file share its path, and the
    one that stops (SIGTERM, as in an upgrade) must not delete it under the other."""
    _, apps = members(deployment["port"])
    for app in apps:
        assert "190.00" in Client(app["url"], verbose=False).predict(handle_file(str(RECEIPT)), api_name="/ocr")[0]
    (shared,) = (deployment["folder"] / "uploads").rglob(RECEIPT.name)
    assert server.stop(apps[0]["pid"]) == "terminated"
    assert shared.is_file()
    replaced = deploy("start", "--replicas", "2", "--port", str(deployment["port"]))
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr


def test_a_killed_replica_costs_no_request_made_5_s_later(deployment):
    _, apps = members(deployment["port"])
    victim = apps[0]
    os.kill(victim["pid"], signal.SIGKILL)
    time.sleep(5)
    assert [digit_through(deployment["url"]) for _ in range(8)] == ["7"] * 8
    _, apps = members(deployment["port"])
    states = {a["port"]: a["state"] for a in apps}
    assert states[victim["port"]] == "down" and list(states.values()).count("healthy") == 1
    replaced = deploy("start", "--replicas", "2", "--port", str(deployment["port"]))
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    proxy_row, apps = members(deployment["port"])
    assert len(apps) == 2 and all(a["healthy"] for a in apps) and victim["port"] not in proxy_row["replicas"]
    assert digit_through(deployment["url"]) == "7"


def copy_of_the_project(target: Path) -> Path:
    """The checkout as another version would ship it (app.py saying NEW_VERSION)."""
    shutil.copytree(REPO, target, ignore=shutil.ignore_patterns(
        ".git", ".venv", "venv", "run", "logs", "dist", ".cache", "__pycache__", ".pytest_cache", "tests", "bench",
        "Testing", "*.pth"))
    entry = target / "app.py"
    entry.write_text(re.sub(r'__version__ = "[^"]+"', f'__version__ = "{NEW_VERSION}"', entry.read_text()))
    return target


def test_upgrade_under_continuous_load_fails_no_request(deployment, tmp_path):
    source = copy_of_the_project(tmp_path / "next")
    done, calls, failures = threading.Event(), [], []

    def person(endpoint: str) -> None:
        client = Client(deployment["url"], verbose=False)
        while not done.is_set():
            try:
                if endpoint == "/digit":
                    assert client.predict(pad(DIGIT), api_name="/digit")["label"] == "7"
                else:
                    assert "190.00" in client.predict(handle_file(str(RECEIPT)), api_name="/ocr")[0]
                calls.append(endpoint)
            except Exception as exc:  # noqa: BLE001 - every failed call is what the test counts
                failures.append(f"{endpoint}: {type(exc).__name__}: {exc}")

    people = [threading.Thread(target=person, args=(ep,)) for ep in ("/digit", "/digit", "/digit", "/ocr")]
    for thread in people:
        thread.start()
    try:
        time.sleep(2)
        before = len(calls)
        log = deployment["folder"] / "deployments.jsonl"
        upgraded = deploy("upgrade", "--port", str(deployment["port"]), "--from", str(source), "--log", str(log))
        during = len(calls) - before
        time.sleep(3)
    finally:
        done.set()
        for thread in people:
            thread.join(120)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert failures == [], failures[:5]
    assert during >= 10 and "/ocr" in calls
    proxy_row, apps = members(deployment["port"])
    assert len(apps) == 2 and all(a["healthy"] and a["version"] == NEW_VERSION for a in apps)
    assert proxy_row["version"] == NEW_VERSION and proxy_row["draining"] == []
    steps = [line["step"] for line in deploylog.read(log)]
    assert steps == ["prepare", "start_new", "switch", "drain", "stop_old", "finish", "outcome"]
    assert deploylog.read(log)[-1]["ok"] and deploylog.read(log)[-1]["deployed"] == NEW_VERSION


def test_stop_leaves_nothing_running(deployment):
    proxy_row, apps = members(deployment["port"])
    stopped = deploy("stop", "--port", str(deployment["port"]))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    for pid in [proxy_row["pid"]] + [a["pid"] for a in apps]:
        assert not server.alive(pid)
    assert not server.healthy(deployment["url"]) and not any(server.healthy(a["url"]) for a in apps)
    assert not (deployment["folder"] / "uploads").exists()
    assert not [r for r in status() if r.get("proxy") == deployment["port"] or r["port"] == deployment["port"]]
