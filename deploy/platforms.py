"""`deploy platforms`: does requirements.txt install from wheels of the public package registry on every
platform a deployer may have (Linux, Windows, macOS on Apple silicon and on Intel; Python 3.11 and 3.12)?

Per platform and Python version it keeps the requirements whose environment markers hold there (pip itself
evaluates markers for the machine it runs on, whatever --platform says), then runs pip's resolver without
installing anything:
`pip install --dry-run --only-binary=:all: --platform TAG... --python-version X.Y ... -r requirements.txt`,
with the newest pip (in a temporary venv, as a deployer has after `pip install --upgrade pip`) and this machine's
pip configuration switched off (`public_pip_env`), all pairs at once. A requirement without a wheel
there is named; the file is then resolved again without it, so that one run names every such requirement.
Also home of the pip environment `deploy verify` installs with.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement

from deploy.config import PLATFORM_TIMEOUT_S
from deploy.server import venv_python

#: Set in the environment of every pip run that must see only what a deployer's machine sees: no configuration
#: file at all (pip's docs, "Configuration": PIP_CONFIG_FILE=os.devnull disables loading all config files).
PUBLIC_PIP_SETTINGS = {"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

#: Python versions a deployer may create the venv with.
PYTHON_VERSIONS = ("3.11", "3.12")
#: Most resolver runs per platform and Python (the first plus one per requirement found without a wheel).
MAX_ROUNDS = 20
#: pip processes at a time: every pair at once (the runs wait on the network as much as they compute).
WORKERS = 8

_NO_MATCH = re.compile(r"No matching distribution found for ([^\s;]+)")
_NO_VERSION = re.compile(r"Could not find a version that satisfies the requirement ([^\s;]+)")
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


class PlatformsError(Exception):
    """The check could not run (no pip from the public registry); the message says why."""


@dataclass(frozen=True)
class Platform:
    """A deployer's operating system and CPU, as the wheel platform tags pip accepts there."""
    name: str
    description: str
    tags: tuple[str, ...]
    #: PEP 508 marker values there (sys_platform, platform_system, platform_machine, os_name)
    markers: tuple[tuple[str, str], ...]

    def environment(self, python: str) -> dict[str, str]:
        """The marker environment of CPython `python` (e.g. "3.12") on this platform."""
        return {**default_environment(), **dict(self.markers), "python_version": python,
                "python_full_version": f"{python}.0", "implementation_name": "cpython",
                "platform_python_implementation": "CPython"}


def _manylinux(glibc_minor: int, arch: str) -> tuple[str, ...]:
    """Every manylinux tag a glibc 2.<glibc_minor> Linux accepts, newest first, with the legacy aliases."""
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags: list[str] = []
    for minor in range(glibc_minor, 4, -1):
        tags.append(f"manylinux_2_{minor}_{arch}")
        if minor in legacy:
            tags.append(f"{legacy[minor]}_{arch}")
    return tuple(tags)


def _macos(versions: Iterable[tuple[int, int]], arch: str) -> tuple[str, ...]:
    """macOS tags for these (major, minor) versions, newest first (pip adds the matching universal2 tags)."""
    return tuple(f"macosx_{major}_{minor}_{arch}" for major, minor in sorted(versions, reverse=True))


def _markers(sys_platform: str, system: str, machine: str, os_name: str = "posix") -> tuple[tuple[str, str], ...]:
    return (("sys_platform", sys_platform), ("platform_system", system), ("platform_machine", machine),
            ("os_name", os_name))


PLATFORMS = (
    Platform("linux-x86_64", "Linux x86_64, glibc 2.28+ (manylinux)", _manylinux(28, "x86_64"),
             _markers("linux", "Linux", "x86_64")),
    Platform("windows-amd64", "Windows x86_64", ("win_amd64",), _markers("win32", "Windows", "AMD64", "nt")),
    Platform("macos-arm64", "macOS 14 on Apple silicon", _macos([(v, 0) for v in range(11, 15)], "arm64"),
             _markers("darwin", "Darwin", "arm64")),
    Platform("macos-x86_64", "macOS 13 on Intel",
             _macos([(10, v) for v in range(9, 17)] + [(v, 0) for v in range(11, 14)], "x86_64"),
             _markers("darwin", "Darwin", "x86_64")),
)


@dataclass
class Result:
    """What the resolver said for one platform and Python version."""
    platform: str
    python: str
    ok: bool = False
    #: packages the (last) successful resolver run would install, all from wheels
    packages: int = 0
    #: requirement without a wheel there -> pip's sentence about it
    missing: dict[str, str] = field(default_factory=dict)
    #: pip's words for a failure that names no requirement
    error: str = ""
    duration_s: float = 0.0

    def line(self) -> str:
        """One line: OK with the package count, or FAILED with what has no wheel."""
        where = f"{self.platform:<14} py{self.python}"
        if self.ok:
            return f"OK      {where}  {self.packages} packages, all wheels ({self.duration_s:.1f} s)"
        problems = [f"no wheel for {req} (pip: {why})" for req, why in self.missing.items()]
        rest = [f"the other requirements resolve ({self.packages} packages)"] if self.packages else []
        return f"FAILED  {where}  " + "; ".join(problems + ([self.error] if self.error else []) + rest)


def public_pip_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """base (default os.environ) without any PIP_* variable and with pip's configuration files switched off:
    pip then uses its defaults (pypi.org only, no find-links, no constraints), as on a deployer's machine."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if not k.upper().startswith("PIP_")}
    return {**env, **PUBLIC_PIP_SETTINGS}


def unavailable(pip_output: str) -> dict[str, str]:
    """The requirements pip found no distribution for, each with pip's own sentence, in order of appearance."""
    found: dict[str, str] = {}
    for line in pip_output.splitlines():
        match = _NO_MATCH.search(line) or _NO_VERSION.search(line)
        if match:
            requirement = match.group(1)
            if requirement not in found or match.re is _NO_MATCH:  # prefer the short "No matching ..." sentence
                found[requirement] = line.removeprefix("ERROR: ").strip()
    return found


def normalize(name: str) -> str:
    """A project name as the registry compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(text: str) -> str | None:
    """The normalized project name a requirement (or requirements.txt line) starts with; None for options,
    comments and blank lines."""
    match = _NAME.match(text.strip())
    return normalize(match.group(0)) if match else None


def pip_command(python: str, platform: Platform, version: str, requirements: Path, target: Path,
                report: Path) -> list[str]:
    """The resolver run for one platform and Python version: wheels only, nothing installed."""
    command = [python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--only-binary=:all:",
               "--target", str(target), "--python-version", version, "--implementation", "cp",
               "--abi", "cp" + version.replace(".", "")]
    for tag in platform.tags:
        command += ["--platform", tag]
    return command + ["--report", str(report), "-r", str(requirements)]


def _call(command: list[str], cwd: Path, timeout: float) -> tuple[bool, str]:
    """Run a command in the public pip environment: (exited with 0, its stderr + stdout)."""
    try:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                                env=public_pip_env())
    except subprocess.TimeoutExpired:
        return False, f"{' '.join(command[:4])} ... did not finish within {timeout:.0f} s"
    return result.returncode == 0, (result.stderr + result.stdout).strip() or f"exited with {result.returncode}"


def newest_pip(work: Path, timeout: float = PLATFORM_TIMEOUT_S) -> str:
    """A venv in work/pip-venv with the newest pip of the public registry; returns its interpreter."""
    venv = work / "pip-venv"
    python = str(venv_python(venv))
    for command in ([sys.executable, "-m", "venv", str(venv)], [python, "-m", "pip", "install", "--upgrade", "pip"]):
        ok, output = _call(command, work, timeout)
        if not ok:
            raise PlatformsError(f"{' '.join(command)} failed: {_last_errors(output)}")
    return python


def pip_version(python: str) -> str:
    """`pip --version` of an interpreter, e.g. "pip 26.3 from ... (python 3.11)", up to the version."""
    ok, output = _call([python, "-m", "pip", "--version"], Path.cwd(), 60)
    return output.split(" from ")[0] if ok else f"unknown pip ({output})"


def _resolve(python: str, platform: Platform, version: str, requirements: Path, work: Path,
             timeout: float) -> tuple[int | None, str]:
    """One resolver run: (number of packages, "") when it resolved, else (None, pip's output)."""
    report = work / "report.json"
    report.unlink(missing_ok=True)
    ok, output = _call(pip_command(python, platform, version, requirements, work / "target", report),
                       requirements.parent, timeout)
    if not ok or not report.is_file():
        return None, output
    return len(json.loads(report.read_text(encoding="utf-8"))["install"]), ""


def _without(lines: list[str], names: set[str], base: Path) -> list[str]:
    """requirements.txt lines minus those naming one of the (normalized) projects; nested -r/-c files made
    absolute (relative to base), so that the copy works from another folder."""
    kept = []
    for line in lines:
        if requirement_name(line) in names:
            continue
        option, _, value = line.strip().partition(" ")
        if option in ("-r", "-c", "--requirement", "--constraint") and value:
            line = f"{option} {(base / value.strip()).resolve()}"
        kept.append(line)
    return kept


def for_environment(lines: list[str], environment: dict[str, str]) -> list[str]:
    """requirements.txt lines as pip would read them in that marker environment: requirements whose marker
    is false dropped, the others without their marker; options and comments as they are."""
    kept = []
    for line in lines:
        text = line.split(" #", 1)[0].strip()
        if not text or text.startswith(("#", "-")):
            kept.append(line)
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            kept.append(line)  # pip names the problem
            continue
        if requirement.marker is None or requirement.marker.evaluate(environment):
            requirement.marker = None
            kept.append(str(requirement))
    return kept


def check_one(platform: Platform, version: str, requirements: Path, *, python: str = sys.executable,
              timeout: float = PLATFORM_TIMEOUT_S) -> Result:
    """Resolve requirements for one platform and Python; after a requirement without a wheel, again without it."""
    result = Result(platform.name, version)
    start = time.monotonic()
    lines = for_environment(requirements.read_text(encoding="utf-8").splitlines(), platform.environment(version))
    with tempfile.TemporaryDirectory(prefix=f"deploy-platforms-{platform.name}-py{version}-") as tmp:
        work = Path(tmp)
        current = work / requirements.name
        current.write_text("\n".join(_without(lines, set(), requirements.parent)) + "\n", encoding="utf-8")
        for _ in range(MAX_ROUNDS):
            packages, output = _resolve(python, platform, version, current, work, timeout)
            if packages is not None:
                result.ok, result.packages = not result.missing, packages
                break
            new = {req: why for req, why in unavailable(output).items() if req not in result.missing}
            result.missing.update(new)
            droppable = {requirement_name(req) for req in new} & set(map(requirement_name, lines))
            if not droppable:  # nothing named, or only dependencies of other requirements: pip's words
                result.error = "" if new else _last_errors(output)
                break
            lines = _without(lines, droppable, requirements.parent)
            current = work / requirements.name
            current.write_text("\n".join(lines) + "\n", encoding="utf-8")
        else:
            result.error = f"gave up after {MAX_ROUNDS} resolver runs"
    result.duration_s = round(time.monotonic() - start, 1)
    return result


def _last_errors(output: str, lines: int = 3) -> str:
    """pip's ERROR lines (else its last lines), joined into one line."""
    text = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in text if line.startswith("ERROR:")] or text[-lines:]
    return " | ".join(errors[-lines:])


def check_platforms(requirements: Path, *, python: str | None = None, platforms: Iterable[Platform] = PLATFORMS,
                    versions: Iterable[str] = PYTHON_VERSIONS, workers: int = WORKERS) -> tuple[str, list[Result]]:
    """Every platform x Python version, `workers` at a time, resolved by python's pip (default: the newest pip,
    fetched into a temporary venv). Returns pip's version and the results in platform order."""
    pairs = [(p, v) for p in platforms for v in versions]
    with tempfile.TemporaryDirectory(prefix="deploy-platforms-") as tmp:
        python = python or newest_pip(Path(tmp))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(check_one, p, v, requirements, python=python) for p, v in pairs]
            return pip_version(python), [f.result() for f in futures]


def report(results: list[Result], requirements: Path, pip: str, duration_s: float) -> dict:
    """The JSON form of a run (`--json`)."""
    return {"ok": all(r.ok for r in results), "requirements": str(requirements), "pip": pip,
            "duration_s": round(duration_s, 1),
            "platforms": {p.name: {"description": p.description, "tags": list(p.tags)} for p in PLATFORMS},
            "results": [asdict(r) for r in results]}
