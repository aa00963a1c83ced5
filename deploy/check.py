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
    with tempfile.TemporaryDirectory(prefix="deploy-check-") as tmp:
        try:
            with server.serving(root, Path(tmp) / "app.log", entry_point=desc["runtime"]["entry_point"]) as app:
                info = server.api_info(app.url)
        except (server.ServerError, OSError, ValueError) as exc:
            return [Problem(desc["runtime"]["entry_point"], str(exc))]
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
