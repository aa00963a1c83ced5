"""Which files make up the package, and their sizes and SHA-256 digests."""
from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

from deploy.config import EXCLUDED_NAMES, EXCLUDED_SUFFIXES, NEVER_SHIPPED_TOP


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def file_entry(root: Path, rel: str) -> dict:
    """{"path", "size", "sha256"} of root/rel."""
    path = root / rel
    return {"path": rel, "size": path.stat().st_size, "sha256": sha256_of(path)}


def is_excluded(rel: str) -> bool:
    """True for paths the package never carries: caches, logs, venvs, tests, benchmarks, VCS data."""
    parts = PurePosixPath(rel).parts
    return (
        not parts
        or parts[0] in NEVER_SHIPPED_TOP
        or any(p in EXCLUDED_NAMES for p in parts)
        or rel.endswith(EXCLUDED_SUFFIXES)
    )


def safe_relative(rel: str) -> bool:
    """True when rel is a plain relative POSIX path that stays inside its root."""
    p = PurePosixPath(rel)
    return bool(rel) and "\\" not in rel and not p.is_absolute() and ".." not in p.parts and rel == p.as_posix()


def enumerate_package(root: Path, include: list[str]) -> list[str]:
    """Sorted relative paths of the regular files the include list selects (a "dir/" entry selects the
    folder's files recursively), minus excluded ones. Missing entries are skipped (check reports them)."""
    found: set[str] = set()
    for item in include:
        target = root / item.rstrip("/")
        if item.endswith("/"):
            if target.is_dir():
                for path in target.rglob("*"):
                    rel = path.relative_to(root).as_posix()
                    if path.is_file() and not path.is_symlink() and not is_excluded(rel):
                        found.add(rel)
        elif target.is_file() and not is_excluded(item):
            found.add(item)
    return sorted(found)
