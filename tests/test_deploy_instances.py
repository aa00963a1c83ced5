"""Running instances on the real app: start, status, check against it, logs, stop; stale and foreign PIDs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy import instances, server
from deploy.descriptor import endpoint_problems, load

REPO = Path(__file__).resolve().parents[1]


def deploy(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deploy", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def status(app_dir: Path) -> list[dict]:
    result = deploy("status", "--json", "--dir", str(app_dir))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def running():
    """The app started from the checkout by `deploy start` on a free port; stopped at the end in any case."""
    port = server.free_port()
    started = deploy("start", "--port", str(port))
    assert started.returncode == 0, started.stdout + started.stderr + instances.logs(REPO, port=port)
    record = json.loads(instances.record_path(REPO, port).read_text())
    yield record
    if instances.record_path(REPO, port).exists():
        deploy("stop", "--port", str(port))
    instances.log_path(REPO, port).unlink(missing_ok=True)


def test_start_reports_a_healthy_instance(running: dict):
    assert server.is_our_app(running["pid"], REPO)
    rows = [r for r in status(REPO) if r["port"] == running["port"]]
    assert len(rows) == 1
    row = rows[0]
    assert (row["state"], row["pid"], row["version"]) == ("healthy", running["pid"], load(REPO)["version"])
    assert row["uptime_s"] >= 0
    info = server.api_info(row["url"])
    assert set(info["named_endpoints"]) == {"/ocr", "/export", "/digit", "/number"}


def test_check_against_the_running_app(running: dict):
    url = server.base_url("127.0.0.1", running["port"])
    result = deploy("check", "--url", url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "endpoints of the running app" in result.stdout
    info = server.api_info(url)
    del info["named_endpoints"]["/digit"]
    info["named_endpoints"]["/ocr"]["parameters"][0]["parameter_name"] = "document"
    info["named_endpoints"]["/extra"] = {"parameters": [], "returns": []}
    messages = [str(p) for p in endpoint_problems(load(REPO), info)]
    assert len(messages) == 3
    assert messages[0].startswith("descriptor.json:api.endpoints[0].inputs: 1 [('path', 'File')] in descriptor.json, "
                                  "but the app has 1 [('document', 'File')]")
    assert messages[1].startswith("descriptor.json:api.endpoints[2]: /digit is not served by the app")
    assert messages[2] == "descriptor.json:api.endpoints: the app serves /extra, which the descriptor does not list"


def test_logs_show_the_instance_output(running: dict):
    result = deploy("logs", "--port", str(running["port"]), "-n", "200")
    assert result.returncode == 0
    assert f"running on http://127.0.0.1:{running['port']}" in result.stdout


def test_stop_ends_only_that_instance(running: dict):
    stopped = deploy("stop", "--port", str(running["port"]))
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == f"port {running['port']}: PID {running['pid']} terminated"
    assert not server.alive(running["pid"])
    assert not server.healthy(server.base_url("127.0.0.1", running["port"]))
    assert [r for r in status(REPO) if r["port"] == running["port"]] == []
    assert not instances.record_path(REPO, running["port"]).exists()


def test_check_starts_its_own_app_for_the_endpoints():
    result = deploy("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "endpoints of the running app" in result.stdout


def fake_record(app_dir: Path, pid: int, port: int) -> None:
    instances.run_dir(app_dir).mkdir(parents=True, exist_ok=True)
    instances.record_path(app_dir, port).write_text(json.dumps({
        "pid": pid, "port": port, "host": "127.0.0.1", "dir": str(app_dir), "entry_point": "app.py",
        "version": "1.0.0", "started": time.time(), "log": str(instances.log_path(app_dir, port))}))


def test_status_reports_and_removes_a_stale_record(tmp_path: Path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    fake_record(tmp_path, gone.pid, 65001)
    rows = status(tmp_path)
    assert [(r["port"], r["state"]) for r in rows] == [(65001, "stale")]
    assert not instances.record_path(tmp_path, 65001).exists()
    assert status(tmp_path) == []


def test_stop_never_signals_a_pid_that_is_not_our_app(tmp_path: Path):
    other = subprocess.Popen(["sleep", "60"], cwd=tmp_path)
    try:
        fake_record(tmp_path, other.pid, 65002)
        result = deploy("stop", "--pid", str(other.pid), "--dir", str(tmp_path))
        assert result.returncode == 0
        assert "stale record" in result.stdout and "nothing signalled" in result.stdout
        assert other.poll() is None  # still running
        unknown = deploy("stop", "--pid", str(os.getpid()), "--dir", str(tmp_path))
        assert unknown.returncode == 1 and "no instance started by `deploy start` on PID" in unknown.stderr
    finally:
        other.kill()
        other.wait()
