"""nginx in front of a deployment's replicas: its configuration, written here, and its process, run as ours.

Debian's nginx (`/usr/sbin/nginx`, or DEPLOY_NGINX) runs in the foreground of its own session with a config,
PID file, logs and temp folders under the deployment's folder; no system service and no root needed.

Routing (docs/deploy.md, "Replicas behind nginx"):
- a person is kept on one replica by a cookie nginx sets on the first answer (`ocr_studio_route`, a random
  id; gradio_client keeps the cookies of its first request and the browser all of them) and hashes
  consistently; a client without cookies (curl) is hashed by its address;
- uploads go to a folder all replicas share, so a file uploaded through one replica can be used on another;
- result streams (`/gradio_api/queue/data`, `GET /gradio_api/call/<api>/<event>`) may reach a replica that
  does not hold the call (after a switch or a failure): that replica answers 404 at once (serving/gate.py)
  and nginx tries the next one, the draining replicas of an upgrade included;
- passive health checks: a replica that refuses connections or answers 502/503/504 is skipped for
  `fail_timeout` and the request goes to the next one (also for POST: a refused call never ran);
- no buffering of responses (Server-Sent Events), uploads up to the app's limit, long read timeouts.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from deploy import server
from deploy.config import NGINX, PROXY_FAIL_TIMEOUT_S, PROXY_MAX_BODY, PROXY_READ_TIMEOUT_S

ROUTE_COOKIE = "ocr_studio_route"
GENERATION_PATH = "/ocr-studio/proxy"


class ProxyError(Exception):
    """nginx is missing, refused its configuration, or did not start or reload."""


def nginx_binary() -> str:
    found = shutil.which(NGINX) or (NGINX if Path(NGINX).is_file() else None)
    if not found:
        raise ProxyError(f"nginx not found ({NGINX}); install Debian's package (apt-get install nginx) "
                         f"or point DEPLOY_NGINX at the binary")
    return found


def _upstream(name: str, ports: list[int], extra: str = "") -> str:
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout={PROXY_FAIL_TIMEOUT_S:.0f}s;\n"
                      for p in ports)
    return f"upstream {name} {{\n    hash $route_key consistent;\n{servers}{extra}}}\n"


def render(folder: Path, *, port: int, host: str, replicas: list[int], draining: list[int],
           generation: str) -> str:
    """The nginx.conf of a deployment: `replicas` take new calls; `draining` (an upgrade's old replicas)
    only serve the result streams of calls they already hold."""
    if not replicas:
        raise ProxyError("a proxy needs at least one replica")
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    tmp = folder / "tmp"
    info = "".join(
        f"        location = /instances/{p}/info {{ proxy_pass http://127.0.0.1:{p}{server.HEALTH_PATH}; }}\n"
        for p in sorted(set(replicas) | set(draining)))
    streams = ("            proxy_pass http://ocr_studio_streams;\n"
               "            proxy_next_upstream error timeout http_404 http_502 http_503 http_504;\n")
    upstreams = _upstream("ocr_studio", replicas, "    keepalive 16;\n") + "\n" + _upstream(
        "ocr_studio_streams", replicas + draining)
    joins = ""
    if draining:  # a join goes to the old replica holding its session's stream, else to the new replicas
        upstreams += "\nupstream ocr_studio_draining {\n" + "".join(
            f"    server 127.0.0.1:{p} max_fails=0;\n" for p in draining) + "}\n"
        joins = ("        location = /gradio_api/queue/join {\n"
                 "            proxy_pass http://ocr_studio_draining;\n"
                 "            proxy_next_upstream error timeout http_404 http_502 http_503 http_504 non_idempotent;\n"
                 "            proxy_intercept_errors on;\n"
                 "            error_page 404 502 503 504 = @join_new;\n"
                 "        }\n"
                 "        location @join_new { proxy_pass http://ocr_studio; }\n")
    return f"""# Written by `python -m deploy` (deploy/proxy.py); rewritten on every start, replace and upgrade.
# generation {generation}
{user}worker_processes 1;
daemon off;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} warn;
events {{ worker_connections 1024; }}
http {{
    log_format upstream '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                        '$request_time upstream=$upstream_addr upstream_status=$upstream_status';
    access_log {folder / 'access.log'} upstream;
    client_body_temp_path {tmp / 'body'};
    proxy_temp_path {tmp / 'proxy'};
    fastcgi_temp_path {tmp / 'fastcgi'};
    uwsgi_temp_path {tmp / 'uwsgi'};
    scgi_temp_path {tmp / 'scgi'};
    types {{ text/html html; application/json json; }}
    client_max_body_size {PROXY_MAX_BODY};
    client_body_buffer_size 256k;

    map $cookie_{ROUTE_COOKIE} $route_key {{
        ""      $remote_addr;
        default $cookie_{ROUTE_COOKIE};
    }}
    map $cookie_{ROUTE_COOKIE} $route_cookie {{
        ""      "{ROUTE_COOKIE}=$request_id; Path=/; HttpOnly; SameSite=Lax";
        default "";
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ""      "";
    }}

{upstreams}
    server {{
        listen {host}:{port};
        add_header Set-Cookie $route_cookie always;
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_buffering off;
        proxy_cache off;
        proxy_connect_timeout 2s;
        proxy_send_timeout {PROXY_READ_TIMEOUT_S:.0f}s;
        proxy_read_timeout {PROXY_READ_TIMEOUT_S:.0f}s;
        proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;
        proxy_next_upstream_timeout 15s;

        location / {{ proxy_pass http://ocr_studio; }}
        location = /gradio_api/queue/data {{
{streams}        }}
        location ~ ^/gradio_api/call/(?:v2/[^/]+|(?!v2/)[^/]+)/[^/]+$ {{
{streams}        }}
{joins}        location ^~ /ocr-studio/ {{ return 404; }}
        location = {GENERATION_PATH} {{ default_type text/plain; return 200 "{generation}"; }}
        location = /instances {{ default_type text/html; alias {folder / 'instances.html'}; }}
        location = /instances.json {{ default_type application/json; alias {folder / 'instances.json'}; }}
{info}    }}
}}
"""


def _command(folder: Path, conf: Path) -> list[str]:
    return [nginx_binary(), "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")]


def write(folder: Path, text: str) -> Path:
    """Test the configuration with `nginx -t`, then put it in place as folder/nginx.conf."""
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / "tmp" / name).mkdir(parents=True, exist_ok=True)
    candidate = folder / "nginx.conf.new"
    candidate.write_text(text, encoding="utf-8")
    tested = subprocess.run([*_command(folder, candidate), "-t", "-q"], capture_output=True, text=True, timeout=30)
    if tested.returncode != 0:
        raise ProxyError(f"nginx refused the configuration {candidate}:\n{tested.stderr.strip()}")
    conf = folder / "nginx.conf"
    candidate.replace(conf)
    return conf


def generation(port: int) -> str | None:
    """The generation id of the configuration the proxy on port serves now (None when it does not answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{GENERATION_PATH}", timeout=2) as answer:
            return answer.read().decode()
    except (OSError, urllib.error.URLError):
        return None


def _wait_generation(port: int, wanted: str, pid: int, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if generation(port) == wanted:
            return
        if not server.alive(pid):
            raise ProxyError(f"nginx exited; last lines of {log}:\n{server.tail(log)}")
        time.sleep(0.1)
    raise ProxyError(f"nginx on port {port} did not serve configuration {wanted} within {timeout:.0f} s; "
                     f"last lines of {log}:\n{server.tail(log)}")


def start(folder: Path, port: int, wanted: str) -> int:
    """Run nginx with folder/nginx.conf in its own session; returns its PID once it serves `wanted`."""
    log = folder / "nginx.out"
    with open(log, "ab") as out:
        process = subprocess.Popen(_command(folder, folder / "nginx.conf"), cwd=folder, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_generation(port, wanted, process.pid, folder / "error.log")
    except ProxyError:
        stop(process.pid)
        raise
    return process.pid


def reload(folder: Path, pid: int, port: int, wanted: str, timeout: float = 30) -> None:
    """SIGHUP (what `nginx -s reload` sends): nginx starts workers on the new configuration and lets the old
    ones finish their connections. Returns once the proxy answers with the new generation and every old
    worker has stopped taking connections (its title says "shutting down", or it is gone): until then a new
    connection may still be served on the old configuration."""
    if not is_our_proxy(pid, folder):
        raise ProxyError(f"PID {pid} is not this deployment's nginx; not signalled")
    old_workers = server.children(pid)
    os.kill(pid, signal.SIGHUP)
    _wait_generation(port, wanted, pid, folder / "error.log", timeout)
    deadline = time.monotonic() + timeout
    while any(_takes_connections(worker) for worker in old_workers):
        if time.monotonic() > deadline:
            raise ProxyError(f"nginx's old workers {old_workers} still take connections {timeout:.0f} s after "
                             f"the reload; last lines of {folder / 'error.log'}:\n{server.tail(folder / 'error.log')}")
        time.sleep(0.05)


def _takes_connections(worker: int) -> bool:
    """True while an nginx worker listens (nginx retitles it "worker process is shutting down" on a reload;
    where it cannot retitle its processes this is never known, and False)."""
    title = " ".join(server.command_line(worker))
    return "worker process" in title and "shutting down" not in title


def is_our_proxy(pid: int, folder: Path) -> bool:
    """True when pid is an nginx master started with this deployment's configuration (nginx rewrites its
    command line to "nginx: master process /usr/sbin/nginx -p ... -c ...")."""
    line = " ".join(server.command_line(pid))
    return server.alive(pid) and "nginx" in line and f"-c {folder / 'nginx.conf'}" in line


def stop(pid: int) -> str:
    """SIGQUIT (graceful: open connections finish), SIGTERM/SIGKILL after the stop timeout."""
    try:
        os.kill(pid, signal.SIGQUIT)
    except ProcessLookupError:
        return "not running"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not server.alive(pid):
            return "stopped"
        time.sleep(0.1)
    return server.stop(pid)
