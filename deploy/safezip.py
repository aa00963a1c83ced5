"""Extracting a package safely: every entry is checked before anything is written."""
from __future__ import annotations

import re
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from deploy.config import MAX_ENTRIES, MAX_UNPACKED_BYTES

_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafeArchive(Exception):
    """The archive may not be extracted; the message lists every reason, one per line."""


def entry_problems(info: zipfile.ZipInfo) -> list[str]:
    """Why this entry may not be extracted ([] when it may)."""
    name = info.filename
    bare = name.rstrip("/")
    mode = info.external_attr >> 16
    problems = []
    if not bare or "\0" in name:
        problems.append("empty name or NUL character")
    if name.startswith("/") or _DRIVE.match(name) or "\\" in name:
        problems.append("absolute path or backslash")
    if ".." in PurePosixPath(bare).parts or bare != PurePosixPath(bare).as_posix():
        problems.append("'..' component or non-normalised path")
    if info.create_system == 3 and stat.S_ISLNK(mode):
        problems.append("symbolic link")
    elif info.create_system == 3 and stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        problems.append("special file (device, FIFO or socket)")
    if info.flag_bits & 0x1:
        problems.append("encrypted")
    return problems


def inspect(archive: zipfile.ZipFile, *, max_bytes: int = MAX_UNPACKED_BYTES,
            max_entries: int = MAX_ENTRIES) -> list[zipfile.ZipInfo]:
    """The archive's entries after checking all of them (paths, links, special files, duplicates, file/folder
    clashes, entry count and total uncompressed size); raises UnsafeArchive naming every offending entry."""
    infos = archive.infolist()
    problems = [f"{info.filename!r}: {reason}" for info in infos for reason in entry_problems(info)]
    seen: dict[str, str] = {}
    for info in infos:
        key = info.filename.rstrip("/").casefold()
        if key in seen:
            problems.append(f"{info.filename!r}: duplicate of {seen[key]!r}")
        seen.setdefault(key, info.filename)
    files = {info.filename.casefold() for info in infos if not info.is_dir()}
    for info in infos:
        for parent in PurePosixPath(info.filename.rstrip("/")).parents:
            if parent.as_posix().casefold() in files:
                problems.append(f"{info.filename!r}: inside {parent.as_posix()!r}, which is a file")
    if len(infos) > max_entries:
        problems.append(f"{len(infos)} entries, more than the limit of {max_entries}")
    total = sum(info.file_size for info in infos)
    if total > max_bytes:
        problems.append(f"unpacks to {total} bytes, more than the limit of {max_bytes} (zip bomb?)")
    if problems:
        raise UnsafeArchive("\n".join(problems))
    return infos


def extract(zip_path: Path, target: Path, *, max_bytes: int = MAX_UNPACKED_BYTES,
            max_entries: int = MAX_ENTRIES) -> list[str]:
    """Extract into target (which must not exist or be empty) after inspecting every entry; regular files get
    mode 0644. Returns the extracted names. Nothing is created when the archive is refused."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeArchive(f"{zip_path}: not a readable zip file ({exc})") from None
    with archive:
        infos = inspect(archive, max_bytes=max_bytes, max_entries=max_entries)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise UnsafeArchive(f"{target}: exists and is not an empty folder")
        target.mkdir(parents=True, exist_ok=True)
        root = target.resolve()
        for info in infos:
            dest = root / info.filename
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(dest, "xb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            dest.chmod(0o644)
    return [info.filename for info in infos]
