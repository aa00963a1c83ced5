"""Settings of the deployment tools: environment variables with their defaults, in one place."""
from __future__ import annotations

import os
from pathlib import Path

#: The project (or extracted package) the tools work on by default: the folder holding deploy/.
PROJECT_ROOT = Path(__file__).resolve().parents[1]

DESCRIPTOR_NAME = "descriptor.json"
SCHEMA_PATH = Path(__file__).with_name("descriptor.schema.json")
INSTALL_PATH = Path(__file__).with_name("INSTALL.md")

#: Seconds to wait for a starting app to answer its health check (first start loads the models).
HEALTH_TIMEOUT_S = float(os.environ.get("DEPLOY_HEALTH_TIMEOUT", "240"))
#: Seconds between SIGTERM and SIGKILL when stopping an app.
STOP_TIMEOUT_S = float(os.environ.get("DEPLOY_STOP_TIMEOUT", "15"))
#: Seconds allowed for `pip install -r requirements.txt` during verify.
PIP_TIMEOUT_S = float(os.environ.get("DEPLOY_PIP_TIMEOUT", "3600"))
#: Seconds allowed for one resolver run (one platform, one Python version) of `deploy platforms`.
PLATFORM_TIMEOUT_S = float(os.environ.get("DEPLOY_PLATFORM_TIMEOUT", "600"))
#: Largest total uncompressed size a package may declare before extraction is refused (zip bombs).
MAX_UNPACKED_BYTES = int(os.environ.get("DEPLOY_MAX_UNPACKED_BYTES", str(2 * 1024**3)))
#: Most entries a package may hold.
MAX_ENTRIES = int(os.environ.get("DEPLOY_MAX_ENTRIES", "20000"))
#: The deployment log (JSON lines), relative to the project root unless absolute.
DEPLOY_LOG = Path(os.environ.get("DEPLOY_LOG", "logs/deployments.jsonl"))
#: Timestamp of every zip entry: SOURCE_DATE_EPOCH if set (reproducible-builds.org), else 1980-01-01.
SOURCE_DATE_EPOCH = os.environ.get("SOURCE_DATE_EPOCH")

#: The nginx binary a deployment's proxy runs (Debian: /usr/sbin/nginx from the nginx or nginx-light package).
NGINX = os.environ.get("DEPLOY_NGINX", "/usr/sbin/nginx")
#: Seconds nginx skips a replica after a failed attempt (refused connection, 502/503/504) before trying it again.
PROXY_FAIL_TIMEOUT_S = float(os.environ.get("DEPLOY_PROXY_FAIL_TIMEOUT", "10"))
#: Largest request body the proxy passes on: above the app's own upload limit (50mb), so the app answers first.
PROXY_MAX_BODY = os.environ.get("DEPLOY_PROXY_MAX_BODY", "64m")
#: Seconds the proxy waits for a replica's next bytes (a result stream sends a heartbeat every 15 s).
PROXY_READ_TIMEOUT_S = float(os.environ.get("DEPLOY_PROXY_READ_TIMEOUT", "600"))
#: Seconds an upgrade waits for an old replica to finish the calls it holds before stopping it anyway.
DRAIN_TIMEOUT_S = float(os.environ.get("DEPLOY_DRAIN_TIMEOUT", "300"))

#: Folder (under the project or package dir) holding the PID and log files of running instances.
RUN_DIR_NAME = "run"

#: Names never shipped and never listed, wherever they occur in an included folder.
EXCLUDED_NAMES = frozenset({
    "__pycache__", ".pytest_cache", ".gradio", ".cache", ".git", ".venv", "venv", "logs", "dist", "run",
    ".DS_Store", ".ipynb_checkpoints",
})
#: File suffixes never shipped (.pth: PyTorch weights, the training output; the app serves their ONNX export).
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".tmp", ".swp", ".log", ".partial", ".pth")
#: Top-level folders that must never appear in a package, whatever the descriptor says.
NEVER_SHIPPED_TOP = frozenset({"tests", "bench", "fixtures", "Testing", ".ci", *EXCLUDED_NAMES})
