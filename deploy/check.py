"""`deploy check`: the descriptor against its schema, the files on disk, the code and a running app."""
from __future__ import annotations

import tempfile
from pathlib import Path

from deploy import server
from deploy.descriptor import DescriptorError, Problem, endpoint_problems, field, load, offline_problems


def live_problems(root: Path, url: str | None = None) -> list[Problem]:
    """Compare the descriptor's endpoints with /gradio_api/info of the app at url, or of the app in root
    started on a free port for the purpose (and stopped afterwards)."""
    desc = load(root)
    if url:
        try:
            return endpoint_problems(desc, server.api_info(url))
        except (OSError, ValueError) as exc:
            return [Problem(url, f"health check {server.HEALTH_PATH} failed: {exc}")]
    port = server.free_port()
    with tempfile.TemporaryDirectory(prefix="deploy-check-") as tmp:
        log = Path(tmp) / "app.log"
        process = server.launch(root, port, log, entry_point=desc["runtime"]["entry_point"])
        try:
            info = server.wait_healthy(server.base_url("127.0.0.1", port), process.pid, log)
        except server.ServerError as exc:
            return [Problem(desc["runtime"]["entry_point"], str(exc))]
        finally:
            server.stop(process.pid)
            process.wait(timeout=5)
    return endpoint_problems(desc, info)


def run_check(root: Path, *, url: str | None = None, no_server: bool = False) -> list[Problem]:
    """Every problem found, offline ones first; the live comparison runs when the API section is valid."""
    problems = offline_problems(root)
    if no_server:
        return problems
    if any(p.where == field(["api"]) or p.where.startswith(field(["api"]) + ".") for p in problems):
        return problems + [Problem(field(["api"]), "endpoint check skipped: fix the schema errors in api first")]
    try:
        load(root)
    except DescriptorError:
        return problems
    return problems + live_problems(root, url)
