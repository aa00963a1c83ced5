"""`deploy platforms` and the public-registry-only pip environment (no network: pip's answers are replayed from
real runs; `python -m deploy platforms` itself is CI's own step)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy import platforms
from deploy.__main__ import main
from deploy.platforms import PLATFORMS, check_one, pip_command, public_pip_env, requirement_name, unavailable

REPO = Path(__file__).resolve().parents[1]

# Real pip 26.3 output, pip's configuration switched off (public_pip_env), 2026-12-01:
# `pip install -r req.txt` of "requests==2.34.2\ntorch==2.13.0+cpu" (what verify's pip step saw)
TORCH_CPU = """\
Collecting requests==2.34.2 (from -r requirements.txt (line 1))
  Downloading requests-2.34.2-py3-none-any.whl (73 kB)
ERROR: Could not find a version that satisfies the requirement torch==2.13.0+cpu (from versions: 1.13.0, 1.13.1, \
2.0.0, 2.0.1, 2.1.0, 2.1.1, 2.1.2, 2.2.0, 2.2.1, 2.2.2, 2.3.0, 2.3.1, 2.4.0, 2.4.1, 2.5.0, 2.5.1, 2.6.0, 2.7.0, \
2.7.1, 2.8.0, 2.9.0, 2.9.1, 2.10.0, 2.11.0, 2.12.0, 2.12.1, 2.13.0, 2.14.0, 2.14.1, 2.15.0)
ERROR: No matching distribution found for torch==2.13.0+cpu
"""
# the resolver run for macos-x86_64 / Python 3.12 of "cryptography==50.0.2" (no macOS x86_64 wheel of 50.0.2)
CRYPTOGRAPHY_MACOS_X86 = """\
ERROR: Ignored the following yanked versions: 37.0.3, 38.0.2, 45.0.0
ERROR: Could not find a version that satisfies the requirement cryptography==50.0.2 (from versions: 2.2, 2.2.1, \
46.0.7, 47.0.0, 48.0.0, 48.0.1)
ERROR: No matching distribution found for cryptography==50.0.2
"""
# the same for onnxruntime==1.32.0 (the message pip gives for any requirement without a wheel there)
ONNXRUNTIME_MACOS_X86 = CRYPTOGRAPHY_MACOS_X86.replace("cryptography==50.0.2", "onnxruntime==1.32.0")
# "requests==2.34.2\nurllib3==1.20": a conflict, no missing distribution
CONFLICT = """\
ERROR: Cannot install -r requirements.txt (line 1) and urllib3==1.20 because these package versions have \
conflicting dependencies.
ERROR: ResolutionImpossible: for help visit \
https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts
"""


def test_public_pip_env_drops_every_pip_variable_and_all_config_files():
    base = {"PATH": "/usr/bin", "HOME": "/home/x", "PIP_FIND_LINKS": "/opt/wheels",
            "PIP_EXTRA_INDEX_URL": "file:///opt/pypi/simple", "PIP_CONSTRAINT": "/etc/c.txt", "pip_index_url": "x"}
    env = public_pip_env(base)
    assert env == {"PATH": "/usr/bin", "HOME": "/home/x", "PIP_CONFIG_FILE": os.devnull,
                   "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def test_pip_reads_no_configuration_in_the_public_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A user config file and a PIP_* variable, as on this build machine: pip sees them, then, publicly, neither."""
    (tmp_path / "pip").mkdir()
    (tmp_path / "pip" / "pip.conf").write_text("[global]\nfind-links = /opt/wheels\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "file:///opt/pypi/simple")

    def config(env: dict[str, str] | None) -> str:
        return subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                              env=env, timeout=60, check=True).stdout

    assert "global.find-links='/opt/wheels'" in config(None) and "extra-index-url" in config(None)
    seen = config(public_pip_env())
    assert sorted(seen.splitlines()) == [f":env:.config-file='{os.devnull}'", ":env:.disable-pip-version-check='1'"]


def test_unavailable_names_the_missing_requirement_with_pips_sentence():
    assert unavailable(TORCH_CPU) == {"torch==2.13.0+cpu": "No matching distribution found for torch==2.13.0+cpu"}
    assert unavailable(CRYPTOGRAPHY_MACOS_X86 + ONNXRUNTIME_MACOS_X86) == {
        "cryptography==50.0.2": "No matching distribution found for cryptography==50.0.2",
        "onnxruntime==1.32.0": "No matching distribution found for onnxruntime==1.32.0"}
    assert unavailable(CONFLICT) == {}
    only_first_line = TORCH_CPU.splitlines()[2]
    assert unavailable(only_first_line)["torch==2.13.0+cpu"].startswith("Could not find a version that satisfies")


def test_requirement_names_are_normalized_and_options_ignored():
    assert [requirement_name(line) for line in ["ruamel.yaml==0.19.1", "Jinja2==3.1.6", "typing_extensions>=4",
                                                "torch==2.13.0+cpu", "-r base.txt", "# torch", "", "--find-links x"]
            ] == ["ruamel-yaml", "jinja2", "typing-extensions", "torch", None, None, None, None]


def test_pip_command_resolves_wheels_only_for_the_platform_and_installs_nothing(tmp_path: Path):
    macos_x86 = next(p for p in PLATFORMS if p.name == "macos-x86_64")
    command = pip_command("py", macos_x86, "3.12", tmp_path / "r.txt", tmp_path / "t", tmp_path / "report.json")
    assert command[:4] == ["py", "-m", "pip", "install"]
    for flag in ("--dry-run", "--ignore-installed", "--only-binary=:all:"):
        assert flag in command
    pairs = list(zip(command, command[1:]))
    assert ("--python-version", "3.12") in pairs and ("--abi", "cp312") in pairs and ("--implementation", "cp") in pairs
    assert ("--target", str(tmp_path / "t")) in pairs and ("--report", str(tmp_path / "report.json")) in pairs
    assert [b for a, b in pairs if a == "--platform"] == list(macos_x86.tags)
    assert command[-2:] == ["-r", str(tmp_path / "r.txt")]


def test_the_platforms_and_their_tags():
    tags = {p.name: p.tags for p in PLATFORMS}
    assert list(tags) == ["linux-x86_64", "windows-amd64", "macos-arm64", "macos-x86_64"]
    linux = tags["linux-x86_64"]
    assert linux[0] == "manylinux_2_28_x86_64" and {"manylinux_2_17_x86_64", "manylinux2014_x86_64",
                                                    "manylinux1_x86_64"} <= set(linux)
    assert all(t.startswith("manylinux") for t in linux)          # never linux_x86_64: PyPI has none
    assert tags["windows-amd64"] == ("win_amd64",)
    assert tags["macos-arm64"] == tuple(f"macosx_{v}_0_arm64" for v in (14, 13, 12, 11))
    assert tags["macos-x86_64"][0] == "macosx_13_0_x86_64" and tags["macos-x86_64"][-1] == "macosx_10_9_x86_64"


def fake_pip(answers: dict[str, str], packages: int = 42):
    """A stand-in for platforms._call: a resolver run fails with the recorded output of the first requirement
    of `answers` its requirements file names, else writes a report of `packages` packages."""
    runs: list[list[str]] = []

    def call(command: list[str], cwd: Path, timeout: float) -> tuple[bool, str]:
        if "--dry-run" not in command:
            return True, "pip 26.3 from /x (python 3.11)"
        requirements = Path(command[-1]).read_text()
        runs.append(requirements.splitlines())
        for name, output in answers.items():
            if name in requirements:
                return False, output
        report = Path(command[command.index("--report") + 1])
        report.write_text(json.dumps({"install": [{"metadata": {"name": f"p{i}"}} for i in range(packages)]}))
        return True, ""

    return call, runs


def test_check_one_names_every_requirement_without_a_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "base.txt").write_text("six==1.17.0\n")
    requirements = tmp_path / "requirements.txt"
    original = "# pins\n-r base.txt\ncryptography==50.0.2\nnumpy==2.3.5\nonnxruntime==1.32.0\n"
    requirements.write_text(original)
    call, runs = fake_pip({"cryptography": CRYPTOGRAPHY_MACOS_X86, "onnxruntime": ONNXRUNTIME_MACOS_X86}, 40)
    monkeypatch.setattr(platforms, "_call", call)
    result = check_one(PLATFORMS[3], "3.12", requirements, python="py")
    assert not result.ok and list(result.missing) == ["cryptography==50.0.2", "onnxruntime==1.32.0"]
    assert result.packages == 40 and result.error == ""
    assert len(runs) == 3 and runs[-1] == ["# pins", f"-r {tmp_path / 'base.txt'}", "numpy==2.3.5"]
    assert requirements.read_text() == original                   # the copies live in a temp folder
    assert result.line().startswith("FAILED  macos-x86_64   py3.12  no wheel for cryptography==50.0.2 (pip: No "
                                    "matching distribution found for cryptography==50.0.2); no wheel for onnxruntime")
    assert result.line().endswith("the other requirements resolve (40 packages)")


def test_check_one_reports_other_failures_in_pips_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("requests==2.34.2\nurllib3==1.20\n")
    monkeypatch.setattr(platforms, "_call", fake_pip({"urllib3": CONFLICT})[0])
    result = check_one(PLATFORMS[0], "3.11", requirements, python="py")
    assert not result.ok and result.missing == {} and "ResolutionImpossible" in result.error
    assert result.line().startswith("FAILED  linux-x86_64   py3.11  ERROR: Cannot install")


def test_command_prints_a_line_per_pair_and_fails_when_one_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("cryptography==50.0.2\nnumpy==2.3.5\n")
    macos_x86 = [arg for p in PLATFORMS if p.name == "macos-x86_64" for arg in p.tags]
    call, _ = fake_pip({})

    def only_intel_macs_lack_it(command: list[str], cwd: Path, timeout: float) -> tuple[bool, str]:
        if "--dry-run" in command and macos_x86[0] in command and "cryptography" in Path(command[-1]).read_text():
            return False, CRYPTOGRAPHY_MACOS_X86
        return call(command, cwd, timeout)

    monkeypatch.setattr(platforms, "_call", only_intel_macs_lack_it)
    assert main(["platforms", "--requirements", str(requirements)]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 8 and sum(line.startswith("OK ") for line in lines) == 6
    assert lines[0].startswith("OK      linux-x86_64   py3.11  42 packages, all wheels (")
    assert lines[6].startswith("FAILED  macos-x86_64   py3.11  no wheel for cryptography==50.0.2")
    assert "6/8 platform x Python pairs" in err and "pip 26.3" in err
    assert main(["platforms", "--requirements", str(tmp_path / "missing.txt")]) == 2


def test_requirements_install_from_the_public_registry_alone():
    """torch sneaks back: requirements.txt has no torch line, no local version such as '+cpu' (never on PyPI) and
    no index or find-links option (a deployer's pip has none of those). Fails until torch is removed."""
    index_options = ("-f", "--find-links", "-i", "--index-url", "--extra-index-url", "--no-index", "--trusted-host")
    lines = [line.split("#")[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines()]
    lines = [line for line in lines if line]
    assert [line for line in lines if requirement_name(line) == "torch"] == []
    assert [line for line in lines if requirement_name(line) and "+" in line] == []
    assert [line for line in lines if line.split("=")[0].split()[0] in index_options] == []


def test_environment_markers_are_evaluated_for_the_target_not_this_machine():
    """pip evaluates markers for the machine it runs on even with --platform; the check does it per target."""
    lines = (REPO / "requirements.txt").read_text().splitlines()
    by_platform = {p.name: platforms.for_environment(lines, p.environment("3.12")) for p in PLATFORMS}
    assert "onnxruntime==1.23.2" in by_platform["macos-x86_64"]
    assert not [line for line in by_platform["macos-x86_64"] if line.startswith("onnxruntime==1.32")]
    for name in ("linux-x86_64", "windows-amd64", "macos-arm64"):
        assert "onnxruntime==1.32.0" in by_platform[name] and "onnxruntime==1.23.2" not in by_platform[name]
    assert not [line for lines in by_platform.values() for line in lines if ";" in line and line[0] != "#"]
