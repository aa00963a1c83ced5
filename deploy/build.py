"""`deploy build`: dist/<name>-<version>.zip, byte-for-byte reproducible from the same files."""
from __future__ import annotations

import os
import stat
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from deploy.config import DESCRIPTOR_NAME, INSTALL_PATH, SOURCE_DATE_EPOCH
from deploy.descriptor import Problem, load, offline_problems
from deploy.files import is_excluded, safe_relative, sha256_of

#: Where the deployer's instructions sit in the project, and where the package carries a copy.
INSTALL_SOURCE = f"deploy/{INSTALL_PATH.name}"
INSTALL_TARGET = INSTALL_PATH.name


class BuildError(Exception):
    """The package cannot be built: the descriptor does not match the files."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@dataclass(frozen=True)
class Package:
    """A built package: where it is, its size, its SHA-256 and its entries."""

    path: Path
    size: int
    sha256: str
    entries: list[str]


def zip_timestamp() -> tuple[int, int, int, int, int, int]:
    """Entry time: SOURCE_DATE_EPOCH (UTC) when set, else 1980-01-01 00:00:00 (the zip format's earliest)."""
    if SOURCE_DATE_EPOCH is None:
        return (1980, 1, 1, 0, 0, 0)
    return max((1980, 1, 1, 0, 0, 0), tuple(time.gmtime(int(SOURCE_DATE_EPOCH))[:6]))


def package_contents(root: Path, desc: dict) -> dict[str, Path]:
    """Archive name -> source file: every listed file, the descriptor and INSTALL.md at the top."""
    contents = {entry["path"]: root / entry["path"] for entry in desc["files"]}
    if INSTALL_SOURCE not in contents:
        raise BuildError([Problem(INSTALL_SOURCE, "not listed in descriptor.json files (the package needs it)")])
    contents[DESCRIPTOR_NAME] = root / DESCRIPTOR_NAME
    contents[INSTALL_TARGET] = root / INSTALL_SOURCE
    for name in contents:
        if not safe_relative(name) or is_excluded(name):
            raise BuildError([Problem(name, "must never be shipped (unsafe path, cache, log, test or benchmark)")])
    return dict(sorted(contents.items()))


def build(root: Path, out_dir: Path) -> Package:
    """Check the project offline, then write out_dir/<name>-<version>.zip with sorted entries, a fixed
    timestamp, fixed permissions (0644) and deflate level 9, so the same files give the same bytes."""
    problems = offline_problems(root)
    if problems:
        raise BuildError(problems)
    desc = load(root)
    contents = package_contents(root, desc)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{desc['name']}-{desc['version']}.zip"
    partial = target.with_name(f".{target.name}.partial")
    stamp = zip_timestamp()
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            for name, source in contents.items():
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix, so external_attr carries the permissions below
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                archive.writestr(info, source.read_bytes(), compresslevel=9)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Package(target, target.stat().st_size, sha256_of(target), list(contents))
