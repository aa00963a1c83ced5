"""descriptor.json: loading, schema validation, regeneration from disk, and the checks against the files."""
from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jsonschema

from deploy.config import DESCRIPTOR_NAME, SCHEMA_PATH
from deploy.files import enumerate_package, file_entry, is_excluded, sha256_of
from deploy.models import ManifestError, manifest_models

UPDATE_HINT = "if the change is intended, run `python -m deploy update`"
#: Environment variables of the app's own packages; every one the shipped code names must be documented.
APP_ENV_NAME = re.compile(r"(OCR|DIGITS)_[A-Z0-9_]+")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the package: where (a file, or descriptor.json:<field path>) and what."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class DescriptorError(Exception):
    """descriptor.json cannot be read at all (missing or not JSON)."""


def field(path: Iterable[str | int]) -> str:
    """descriptor.json:<dotted path with [index]> for a JSON path."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return f"{DESCRIPTOR_NAME}:{text or '(top level)'}"


def load(root: Path) -> dict:
    """The parsed descriptor.json of a project or package folder."""
    path = root / DESCRIPTOR_NAME
    if not path.is_file():
        raise DescriptorError(f"{DESCRIPTOR_NAME}: missing in {root}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DescriptorError(f"{DESCRIPTOR_NAME}: not valid JSON ({exc})") from None


def save(root: Path, desc: dict) -> None:
    """Write descriptor.json (2-space indent, trailing newline)."""
    (root / DESCRIPTOR_NAME).write_text(json.dumps(desc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_problems(desc: object) -> tuple[list[Problem], set[str]]:
    """Every schema violation with its field path (unknown and missing keys named one by one), and the
    top-level sections they make unusable ("*" when the document is not an object)."""
    problems: set[Problem] = set()
    broken: set[str] = set()
    for error in _validator().iter_errors(desc):
        path = list(error.absolute_path)
        if error.validator == "additionalProperties":
            allowed = error.schema.get("properties", {})
            problems.update(Problem(field([*path, key]), "unknown key (the schema does not allow it)")
                            for key in error.instance if key not in allowed)
        elif error.validator == "required":
            missing = [key for key in error.validator_value if key not in error.instance]
            problems.update(Problem(field([*path, key]), "required key is missing") for key in missing)
            broken.update(missing if not path else [])
        else:
            problems.add(Problem(field(path), error.message))
        if path:
            broken.add(str(path[0]))
        elif error.validator not in ("additionalProperties", "required"):
            broken.add("*")
    return sorted(problems), broken


def read_version(entry_point: Path) -> str | None:
    """The string assigned to __version__ at the top level of a Python file, read without importing it."""
    tree = ast.parse(entry_point.read_text(encoding="utf-8"), filename=str(entry_point))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    return None


def _short(value: object, limit: int = 90) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_version(root: Path, desc: dict) -> list[Problem]:
    """The descriptor's version equals __version__ in the entry point."""
    entry = desc["runtime"]["entry_point"]
    if not (root / entry).is_file():
        return [Problem(field(["runtime", "entry_point"]), f"{entry} does not exist")]
    try:
        code_version = read_version(root / entry)
    except SyntaxError as exc:
        return [Problem(entry, f"not valid Python ({exc})")]
    if code_version is None:
        return [Problem(entry, "defines no __version__ = \"x.y.z\" at top level")]
    if code_version != desc["version"]:
        return [Problem(field(["version"]), f"{desc['version']!r} but {entry} has __version__ = {code_version!r}")]
    return []


def check_files(root: Path, desc: dict) -> list[Problem]:
    """Every listed file exists with its size and SHA-256; every file the include list selects is listed."""
    problems: list[Problem] = []
    listed: dict[str, int] = {}
    for i, entry in enumerate(desc["files"]):
        rel = entry["path"]
        path = root / rel
        if rel in listed:
            problems.append(Problem(field(["files", i, "path"]), f"{rel} is listed twice (also files[{listed[rel]}])"))
            continue
        listed[rel] = i
        if rel == DESCRIPTOR_NAME:
            problems.append(Problem(field(["files", i, "path"]), "the descriptor cannot list itself"))
        elif is_excluded(rel):
            problems.append(Problem(rel, "listed, but caches, logs, tests and benchmarks are never shipped"))
        elif path.is_symlink() or (path.exists() and not path.is_file()):
            problems.append(Problem(rel, "not a regular file (links and folders cannot be listed)"))
        elif not path.exists():
            problems.append(Problem(rel, "listed in descriptor.json but missing"))
        elif path.stat().st_size != entry["size"]:
            problems.append(Problem(rel, f"size {path.stat().st_size} bytes, descriptor.json says {entry['size']} "
                                         f"(file changed or truncated; {UPDATE_HINT})"))
        elif (digest := sha256_of(path)) != entry["sha256"]:
            problems.append(Problem(rel, f"SHA-256 {digest[:16]}..., descriptor.json says {entry['sha256'][:16]}... "
                                         f"(file changed or corrupt; {UPDATE_HINT})"))
    include = desc["package"]["include"]
    selected = set(enumerate_package(root, include))
    for i, item in enumerate(include):
        if not enumerate_package(root, [item]):
            problems.append(Problem(field(["package", "include", i]), f"{item!r} selects no file"))
    for rel in sorted(set(listed) - selected):
        if (root / rel).is_file() and not is_excluded(rel):
            problems.append(Problem(rel, "listed, but no package.include entry selects it"))
    for rel in sorted(selected - set(listed)):
        problems.append(Problem(rel, "in the package (package.include) but not listed in descriptor.json files; "
                                     "run `python -m deploy update`"))
    return problems


def check_runtime(root: Path, desc: dict) -> list[Problem]:
    """The entry point and the requirements file are part of the listed files."""
    listed = {entry["path"] for entry in desc["files"]}
    return [Problem(field(["runtime", key]), f"{desc['runtime'][key]} is not listed in files")
            for key in ("entry_point", "requirements") if desc["runtime"][key] not in listed]


def check_models(root: Path, desc: dict) -> list[Problem]:
    """Model entries agree with the model manifests, and their files with the files list."""
    try:
        expected = manifest_models(root, desc["licence"])
    except ManifestError as exc:
        return [Problem(exc.path, exc.reason)]
    problems: list[Problem] = []
    listed = {entry["path"]: entry for entry in desc["files"]}
    by_name = {model["name"]: i for i, model in enumerate(desc["models"])}
    for manifest, model in expected:
        if model["name"] not in by_name:
            problems.append(Problem(field(["models"]), f"model {model['name']} (in {manifest}) is not listed"))
            continue
        i = by_name[model["name"]]
        ours = desc["models"][i]
        for key, value in model.items():
            if ours[key] != value:
                problems.append(Problem(field(["models", i, key]), f"{_short(ours[key])} in descriptor.json, but "
                                                                    f"{manifest} says {_short(value)}"))
        for j, entry in enumerate(ours["files"]):
            if listed.get(entry["path"]) != entry:
                problems.append(Problem(field(["models", i, "files", j]),
                                        f"{entry['path']} is not in files with this size and SHA-256"))
    known = {model["name"] for _, model in expected}
    problems += [Problem(field(["models", i]), f"model {model['name']} is in no model manifest")
                 for i, model in enumerate(desc["models"]) if model["name"] not in known]
    return problems


def env_names_in_code(root: Path, paths: Iterable[str]) -> dict[str, str]:
    """OCR_*/DIGITS_* names appearing as string literals in the given Python files -> first file naming it
    (raises SyntaxError for a file that does not parse)."""
    found: dict[str, str] = {}
    for rel in sorted(paths):
        tree = ast.parse((root / rel).read_text(encoding="utf-8"), filename=rel)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and APP_ENV_NAME.fullmatch(node.value):
                found.setdefault(node.value, rel)
    return found


def check_env(root: Path, desc: dict) -> list[Problem]:
    """deployment.env documents exactly the OCR_*/DIGITS_* variables the shipped app code reads."""
    code = [e["path"] for e in desc["files"]
            if e["path"].endswith(".py") and not e["path"].startswith("deploy/") and (root / e["path"]).is_file()]
    try:
        in_code = env_names_in_code(root, code)
    except SyntaxError as exc:
        return [Problem(exc.filename or "?", f"not valid Python ({exc.msg}, line {exc.lineno})")]
    documented = {var["name"]: i for i, var in enumerate(desc["deployment"]["env"])}
    problems = [Problem(rel, f"reads {name}, which descriptor.json deployment.env does not document")
                for name, rel in sorted(in_code.items()) if name not in documented]
    problems += [Problem(field(["deployment", "env", i]), f"{name}: no shipped code reads it")
                 for name, i in documented.items() if APP_ENV_NAME.fullmatch(name) and name not in in_code]
    return problems


# Each offline check with the top-level sections it reads; it is skipped when one of them breaks the schema.
OFFLINE_CHECKS: list[tuple[Callable[[Path, dict], list[Problem]], tuple[str, ...]]] = [
    (check_version, ("version", "runtime")),
    (check_files, ("files", "package")),
    (check_runtime, ("runtime", "files")),
    (check_models, ("models", "licence", "files")),
    (check_env, ("deployment", "files")),
]


def offline_problems(root: Path) -> list[Problem]:
    """Schema errors, then every file, version and model check that the schema errors leave possible."""
    try:
        desc = load(root)
    except DescriptorError as exc:
        return [Problem(DESCRIPTOR_NAME, str(exc).split(": ", 1)[1])]
    problems, broken = schema_problems(desc)
    for check, sections in OFFLINE_CHECKS:
        if "*" in broken or broken.intersection(sections):
            where = "the whole document" if "*" in broken else ", ".join(sorted(broken.intersection(sections)))
            problems.append(Problem(DESCRIPTOR_NAME, f"{check.__name__} skipped: fix the schema errors in {where}"))
        else:
            problems += check(root, desc)
    return problems


def endpoint_problems(desc: dict, api_info: dict) -> list[Problem]:
    """Differences between the descriptor's endpoints and a running app's /gradio_api/info."""
    live = api_info.get("named_endpoints", {})
    problems: list[Problem] = []
    declared = {endpoint["api_name"]: i for i, endpoint in enumerate(desc["api"]["endpoints"])}
    for name, i in declared.items():
        where = field(["api", "endpoints", i])
        if name not in live:
            problems.append(Problem(where, f"{name} is not served by the app (it serves {sorted(live)})"))
            continue
        endpoint = desc["api"]["endpoints"][i]
        for key, app_key, name_key in (("inputs", "parameters", "parameter_name"), ("outputs", "returns", "label")):
            ours = [(p["name"], p["component"]) for p in endpoint[key]]
            theirs = [(p[name_key], p["component"]) for p in live[name][app_key]]
            if ours != theirs:
                problems.append(Problem(f"{where}.{key}", f"{len(ours)} {ours} in descriptor.json, but the app "
                                                          f"has {len(theirs)} {theirs}"))
    problems += [Problem(field(["api", "endpoints"]), f"the app serves {name}, which the descriptor does not list")
                 for name in sorted(set(live) - set(declared))]
    return problems


def regenerate(root: Path) -> dict:
    """descriptor.json with version, models and files rewritten from the code, the manifests and the disk;
    the hand-written parts (description, API, deployment) are kept."""
    desc = load(root)
    version = read_version(root / desc["runtime"]["entry_point"])
    if version is None:
        raise DescriptorError(f"{desc['runtime']['entry_point']}: defines no __version__")
    desc["version"] = version
    desc["models"] = [model for _, model in manifest_models(root, desc["licence"])]
    desc["files"] = [file_entry(root, rel) for rel in enumerate_package(root, desc["package"]["include"])]
    return desc
