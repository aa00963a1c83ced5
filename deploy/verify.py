"""`deploy verify`: do what a deployer does with the zip, automatically, and log every step.

extract safely -> check files against the descriptor -> fresh venv -> pip install --upgrade pip ->
pip install -r requirements.txt (with this machine's pip configuration switched off, as on a deployer's machine) ->
python app.py on a free port -> health check -> endpoints as described -> bundled samples as expected ->
stop -> record the deployment (and tag v<version> in the git checkout).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from deploy import instances, server
from deploy.config import DESCRIPTOR_NAME, PIP_TIMEOUT_S
from deploy.deploylog import DeployLog
from deploy.descriptor import endpoint_problems, load, offline_problems
from deploy.files import sha256_of
from deploy.gittag import tag_release
from deploy.platforms import public_pip_env, unavailable
from deploy.safezip import extract


class VerifyError(Exception):
    """A verify step failed; the message says what was found."""


def _run(command: list[str], cwd: Path, log: Path, timeout: float, env: Mapping[str, str] | None = None) -> None:
    """Run a command (in env, default this one) with its output appended to log; raise VerifyError with the
    log's tail when it fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        try:
            result = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise VerifyError(f"{' '.join(command)} did not finish within {timeout:.0f} s (log: {log})") from None
    if result.returncode != 0:
        raise VerifyError(f"{' '.join(command)} exited with {result.returncode}; last lines of {log}:\n"
                          f"{server.tail(log)}")


def _pip_install(python: Path, requirements: str, package: Path, log: Path) -> None:
    """The deployer's pip steps in the fresh venv: `pip install --upgrade pip`, then `pip install -r requirements`,
    both seeing only the public registry (public_pip_env). A requirement pip finds nowhere is named in the error."""
    env = public_pip_env()
    _run([str(python), "-m", "pip", "install", "--upgrade", "pip"], package, log, PIP_TIMEOUT_S, env)
    try:
        _run([str(python), "-m", "pip", "install", "-r", requirements], package, log, PIP_TIMEOUT_S, env)
    except VerifyError:
        missing = unavailable(log.read_text(encoding="utf-8", errors="replace"))
        if not missing:
            raise
        raise VerifyError("; ".join(f"{req} is not on the public package registry (pip: {why})"
                                    for req, why in missing.items())
                          + f" (pip ran without this machine's pip configuration, as on a deployer's machine; "
                            f"log: {log})") from None


def _venv_contents(python: Path, venv: Path) -> dict:
    """The venv's size; VerifyError if PyTorch got into it (the app serves ONNX models and must not need it)."""
    found = subprocess.run([str(python), "-c", "import importlib.util; print(importlib.util.find_spec('torch') is not None)"],
                           capture_output=True, text=True, timeout=120).stdout.strip()
    if found != "False":
        raise VerifyError("PyTorch is installed in the deployer's venv: something in requirements.txt pulls it in")
    return {"venv_bytes": sum(f.stat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink()),
            "torch": False}


def verify(zip_path: Path, *, project: Path, log_path: Path, workdir: Path | None = None, keep: bool = False,
           tag: bool = True, say: Callable[[str], None] = print) -> bool:
    """Verify one package end to end; every step goes to the deployment log at log_path with its duration,
    then one outcome line. Returns True when the package deployed and served the samples as expected."""
    log = DeployLog(log_path, zip_path.name)
    work = workdir or Path(tempfile.mkdtemp(prefix="deploy-verify-"))
    package = work / zip_path.name.removesuffix(".zip")  # everything verify writes goes in here
    tool_logs = package / "logs"
    current = "package"
    version = None
    instance = None

    def step(name: str):
        nonlocal current
        current = name
        return log.step(name)

    try:
        with step("package") as detail:
            detail.update(path=str(zip_path), size=zip_path.stat().st_size, sha256=sha256_of(zip_path))
        with step("extract") as detail:
            detail["entries"] = len(extract(zip_path, package))
            detail["dir"] = str(package)
        with step("integrity") as detail:
            problems = offline_problems(package)
            if problems:
                raise VerifyError("\n".join(map(str, problems)))
            desc = load(package)
            version = desc["version"]
            detail.update(version=version, files=len(desc["files"]), models=[m["name"] for m in desc["models"]])
        say(f"[ok] {zip_path.name}: version {version}, files match descriptor.json; extracted to {package}")
        python = server.venv_python(package / "venv")
        with step("venv"):
            _run([sys.executable, "-m", "venv", str(package / "venv")], package, tool_logs / "venv.log", 600,
                 public_pip_env())
        say("[ok] venv created; pip install --upgrade pip, pip install -r requirements.txt (minutes) ...")
        with step("pip_install") as detail:
            _pip_install(python, desc["runtime"]["requirements"], package, tool_logs / "pip.log")
            detail.update(log=str(tool_logs / "pip.log"), pip_config="none (PIP_CONFIG_FILE=os.devnull, no PIP_*)")
        with step("venv_contents") as detail:
            detail.update(_venv_contents(python, package / "venv"))
        say(f"[ok] requirements installed ({detail['venv_bytes'] / 1e9:.2f} GB venv, no PyTorch); starting the app ...")
        with step("start") as detail:
            instance = instances.start(package, wait=False)
            detail.update(pid=instance.pid, port=instance.port, log=instance.log)
        with step("health") as detail:
            info = server.wait_healthy(instance.url, instance.pid, Path(instance.log))
            detail["url"] = instance.url + server.HEALTH_PATH
        say(f"[ok] healthy at {instance.url}")
        with step("endpoints") as detail:
            problems = endpoint_problems(desc, info)
            if problems:
                raise VerifyError("\n".join(map(str, problems)))
            detail["endpoints"] = sorted(info["named_endpoints"])
        with step("samples") as detail:
            result = subprocess.run([str(python), "-m", "deploy.samples", "--url", instance.url], cwd=package,
                                    capture_output=True, text=True, timeout=1800)
            try:
                report = json.loads(result.stdout.strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                raise VerifyError(f"deploy.samples printed no report:\n{result.stderr[-3000:]}") from None
            detail["results"] = report["results"]
            if not report["ok"]:
                failed = [f"{r['endpoint']} {r['file']}: {r['detail']}" for r in report["results"] if not r["ok"]]
                raise VerifyError("samples not as expected:\n" + "\n".join(failed or ["no samples in expected.json"]))
        say(f"[ok] {len(report['results'])} samples as expected")
        with step("stop") as detail:
            detail["result"] = instances.stop(package, port=instance.port)
            instance = None
    except (Exception, KeyboardInterrupt) as exc:
        if instance is not None:
            instances.stop(package, port=instance.port)
        if workdir is None and not package.exists():
            work.rmdir()
        log.outcome(False, deployed=None, version=version, failed_step=current, error=str(exc), work_dir=str(package))
        say(f"[FAILED] {current}: {exc}\nkept for inspection: {package}; deployment log: {log_path}")
        return False
    tag_message = "tagging skipped (--no-tag)"
    if tag:
        with step("tag") as detail:
            tagged, tag_message = tag_release(project, version, (package / DESCRIPTOR_NAME).read_bytes())
            detail.update(tagged=tagged, message=tag_message)
    if not keep:
        shutil.rmtree(package, ignore_errors=True)
        if workdir is None:
            work.rmdir()
    log.outcome(True, deployed=version, version=version, tag=tag_message, work_dir=str(package) if keep else None)
    say(f"[ok] {zip_path.name} verified: version {version} recorded as deployed in {log_path}; {tag_message}")
    return True
