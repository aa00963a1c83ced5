"""Starting the app as a background process, waiting for its health check, and stopping it by PID."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deploy.config import HEALTH_TIMEOUT_S, STOP_TIMEOUT_S

if TYPE_CHECKING:
    import gradio_client

HEALTH_PATH = "/gradio_api/info"


class ServerError(Exception):
    """The app did not start, did not become healthy, or could not be stopped."""


def api_client(url: str) -> gradio_client.Client:
    """A gradio_client.Client for url that builds its TLS context once. gradio_client opens a new httpx client
    for each upload and each call, and each one loads the CA bundle again unless it is handed a ready
    context: about 50 ms of CPU per request, more than the app spends on a /digit call. The context is a
    default one, so https is still verified."""
    import ssl

    from gradio_client import Client

    return Client(url, verbose=False, ssl_verify=ssl.create_default_context())


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def venv_python(venv: Path) -> Path:
    """The interpreter inside a virtual environment (POSIX or Windows layout)."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def app_python(app_dir: Path) -> str:
    """The deployer's venv interpreter when app_dir has one (app_dir/venv or .venv), else this interpreter."""
    for name in ("venv", ".venv"):
        if venv_python(app_dir / name).is_file():
            return str(venv_python(app_dir / name))
    return sys.executable


def base_url(host: str, port: int) -> str:
    """URL a local client uses to reach an app bound to host:port."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"


def launch(app_dir: Path, port: int, log_path: Path, *, host: str = "127.0.0.1", python: str | None = None,
           entry_point: str = "app.py", env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `python app.py --host H --port P` in app_dir, detached in its own session, output to log_path;
    env: variables to set on top of this process's environment."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [python or app_python(app_dir), entry_point, "--host", host, "--port", str(port)],
            cwd=app_dir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,
        )


def get_json(url: str, timeout: float = 5.0) -> dict:
    """GET a URL and parse its JSON body (raises OSError/ValueError on failure)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def api_info(url: str, timeout: float = 5.0) -> dict:
    """The app's /gradio_api/info: its named endpoints with parameters and returns."""
    return get_json(url.rstrip("/") + HEALTH_PATH, timeout)


def healthy(url: str, timeout: float = 3.0) -> bool:
    """True when the health check answers 200 with JSON."""
    try:
        api_info(url, timeout)
        return True
    except (OSError, ValueError):
        return False


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a text file ("" when it does not exist)."""
    if not path.is_file():
        return ""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 64 * 1024))
        return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])


def wait_healthy(url: str, pid: int, log_path: Path, timeout: float = HEALTH_TIMEOUT_S) -> dict:
    """Poll the health check until it answers; fail early when the process exits. Returns the API info."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return api_info(url, timeout=3.0)
        except (OSError, ValueError):
            pass
        if not alive(pid):
            raise ServerError(f"the app exited before answering {url}{HEALTH_PATH}; last lines of {log_path}:\n"
                              f"{tail(log_path)}")
        time.sleep(0.5)
    raise ServerError(f"{url}{HEALTH_PATH} did not answer within {timeout:.0f} s; last lines of {log_path}:\n"
                      f"{tail(log_path)}")


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (a child of ours is reaped here)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.is_file() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def command_line(pid: int) -> list[str]:
    """The process's argv ([] when it is gone)."""
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.parent.is_dir():
        try:
            return [a for a in proc.read_bytes().decode("utf-8", "replace").split("\0") if a]
        except OSError:
            return []
    result = subprocess.run(["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True)
    return result.stdout.split()


def children(pid: int) -> list[int]:
    """PIDs of the process's children (from /proc where there is one, else from ps)."""
    if Path("/proc/self/stat").is_file():
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:  # "pid (name) state ppid ...": the name may hold spaces and brackets
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(stat.parent.name))
            except (OSError, IndexError, ValueError):
                continue
        return found
    result = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True)
    return [int(child) for child, parent in (line.split() for line in result.stdout.splitlines())
            if int(parent) == pid]


def working_dir(pid: int) -> Path | None:
    """The process's current directory where the OS tells (Linux), else None."""
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")).resolve()
    except OSError:
        return None


def is_our_app(pid: int, app_dir: Path, entry_point: str = "app.py") -> bool:
    """True when pid runs `... app.py ...` in app_dir (a reused PID of another program gives False)."""
    if not alive(pid) or not any(arg == entry_point or arg.endswith(f"/{entry_point}") for arg in command_line(pid)):
        return False
    cwd = working_dir(pid)
    return cwd is None or cwd == app_dir.resolve()


def stop(pid: int, timeout: float = STOP_TIMEOUT_S) -> str:
    """SIGTERM, then SIGKILL after timeout seconds; returns "terminated", "killed" or "not running"."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "not running"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return "terminated"
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return "terminated"
    deadline = time.monotonic() + 10
    while alive(pid):
        if time.monotonic() > deadline:
            raise ServerError(f"process {pid} survived SIGKILL")
        time.sleep(0.1)
    return "killed"


@dataclass(frozen=True)
class RunningApp:
    """An app process started by serving(): where it answers and what it runs as."""

    url: str
    port: int
    pid: int
    log: Path


@contextlib.contextmanager
def serving(app_dir: Path, log_path: Path, *, port: int | None = None, host: str = "127.0.0.1",
            env: dict[str, str] | None = None, python: str | None = None, entry_point: str = "app.py",
            timeout: float = HEALTH_TIMEOUT_S) -> Iterator[RunningApp]:
    """`python app.py` from app_dir on port (a free one when None), yielded once its health check answers,
    stopped (SIGTERM, then SIGKILL) when the block ends: the one helper tests, benchmarks and tools share."""
    port = port or free_port(host)
    process = launch(app_dir, port, log_path, host=host, python=python, entry_point=entry_point, env=env)
    running = RunningApp(url=base_url(host, port), port=port, pid=process.pid, log=log_path)
    try:
        wait_healthy(running.url, process.pid, log_path, timeout)
        yield running
    finally:
        stop(process.pid)
        process.wait(timeout=5)
