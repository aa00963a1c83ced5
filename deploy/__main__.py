"""python -m deploy {update,check,build,verify,platforms,start,status,stop,logs,upgrade} (see docs/deploy.md)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from deploy import deploylog, instances, platforms, proxy, replicas, upgrade
from deploy.build import BuildError, build
from deploy.check import run_check
from deploy.config import DEPLOY_LOG, PROJECT_ROOT
from deploy.descriptor import DescriptorError, load, regenerate, save
from deploy.models import ManifestError
from deploy.safezip import UnsafeArchive
from deploy import server
from deploy.server import ServerError
from deploy.verify import verify


def cmd_update(args: argparse.Namespace) -> int:
    desc = regenerate(args.root)
    save(args.root, desc)
    print(f"descriptor.json updated: version {desc['version']}, {len(desc['models'])} models, "
          f"{len(desc['files'])} files ({sum(f['size'] for f in desc['files']) / 1e6:.1f} MB)")
    return cmd_check(argparse.Namespace(root=args.root, url=None, no_server=True))


def cmd_check(args: argparse.Namespace) -> int:
    problems = run_check(args.root, url=args.url, no_server=args.no_server)
    for problem in problems:
        print(problem)
    if problems:
        print(f"deploy check: {len(problems)} problem(s) in {args.root}", file=sys.stderr)
        return 1
    desc = load(args.root)
    scope = "files, models, versions" + ("" if args.no_server else ", endpoints of the running app")
    print(f"deploy check: OK: {desc['name']} {desc['version']}, {len(desc['files'])} files, "
          f"{len(desc['models'])} models ({scope})")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    try:
        package = build(args.root, args.out or args.root / "dist")
    except BuildError as exc:
        print(exc, file=sys.stderr)
        print(f"deploy build: refused, {len(exc.problems)} problem(s); run `python -m deploy check`", file=sys.stderr)
        return 1
    print(f"{package.path}\n  size   {package.size} bytes ({package.size / 1e6:.1f} MB), {len(package.entries)} entries"
          f"\n  sha256 {package.sha256}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    log = args.log if args.log.is_absolute() else args.root / args.log
    ok = verify(args.zip.resolve(), project=args.root, log_path=log, workdir=args.workdir, keep=args.keep,
                tag=not args.no_tag)
    return 0 if ok else 1


def cmd_platforms(args: argparse.Namespace) -> int:
    requirements = (args.requirements or args.root / load(args.root)["runtime"]["requirements"]).resolve()
    if not requirements.is_file():
        print(f"deploy platforms: {requirements} is not a file", file=sys.stderr)
        return 2
    start = time.monotonic()
    pip, results = platforms.check_platforms(requirements)
    duration = time.monotonic() - start
    if args.json:
        print(json.dumps(platforms.report(results, requirements, pip, duration), indent=2))
    else:
        for result in results:
            print(result.line())
        failed = sum(not r.ok for r in results)
        print(f"deploy platforms: {len(results) - failed}/{len(results)} platform x Python pairs install "
              f"{requirements.name} from wheels of the public registry ({pip}, {duration:.0f} s)",
              file=sys.stderr if failed else sys.stdout)
    return 0 if all(r.ok for r in results) else 1


def cmd_start(args: argparse.Namespace) -> int:
    if args.replicas is not None:
        port = args.port or server.free_port(args.host)
        _, lines = replicas.start(args.dir, port=port, replicas=args.replicas, host=args.host)
        print("\n".join(lines))
        print(f"healthy: {args.replicas} replicas behind http://{args.host}:{port}/ (instances: /instances)")
        return 0
    instance = instances.start(args.dir, port=args.port, host=args.host, wait=not args.no_wait)
    state = "started" if args.no_wait else "healthy"
    print(f"{state}: version {instance.version} on {instance.url} (PID {instance.pid}); log {instance.log}")
    return 0


def _uptime(seconds: int) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) if seconds < 86400 else f"{seconds // 86400}d"


def last_deployed(app_dir: Path) -> str:
    """The latest successful verify in the folder's deployment log, as one line ("" when there is none)."""
    log = DEPLOY_LOG if DEPLOY_LOG.is_absolute() else app_dir / DEPLOY_LOG
    done = [line for line in deploylog.read(log)  # verify's outcomes (an upgrade's name its proxy_port)
            if line["step"] == "outcome" and line["ok"] and "proxy_port" not in line]
    return f"last verified deployment: {done[-1]['deployed']} ({done[-1]['package']}, {done[-1]['time']})" if done else ""


def print_api(docs: list[dict]) -> None:
    """`deploy status --api`: each instance's endpoints with their parameters and returns."""
    if not docs:
        print("no healthy instances to ask for their API")
    for doc in docs:
        where = f", replica behind port {doc['proxy']}" if doc.get("proxy") else ""
        print(f"{doc['url']}  version {doc['version']}{where}{'  ERROR ' + doc['error'] if 'error' in doc else ''}")
        for name, spec in doc["endpoints"].items():
            params = ", ".join(f"{p['name']}: {p['type']} ({p['component']})" for p in spec["parameters"])
            returns = ", ".join(f"{r['label']}: {r['type']} ({r['component']})" for r in spec["returns"])
            print(f"  {name}({params})\n      -> {returns}")


def cmd_status(args: argparse.Namespace) -> int:
    if args.api:
        docs = replicas.api_docs(args.dir)
        print(json.dumps(docs, indent=2) if args.json else "", end="\n" if args.json else "")
        if not args.json:
            print_api(docs)
        return 0
    rows = replicas.rows(args.dir)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    deployed = last_deployed(args.dir)
    if deployed:
        print(deployed)
    if not rows:
        print(f"no instances recorded in {instances.run_dir(args.dir)}")
        return 0
    print(f"{'KIND':<6} {'VERSION':<10} {'PORT':>5} {'PID':>7} {'UPTIME':>9} {'STATE':<9} URL")
    for r in rows:
        if r["kind"] == "proxy":
            note = f"  nginx -> {r['replicas']}" + (f", draining {r['draining']}" if r["draining"] else "")
        else:
            note = "  (record removed)" if r["state"] == "stale" else ""
            note += f"  {r['role']} behind {r['proxy']}" if r.get("role") else ""
        uptime = _uptime(r["uptime_s"]) if r["uptime_s"] is not None else "-"
        print(f"{r['kind']:<6} {r['version'] or '?':<10} {r['port']:>5} {r['pid'] or '-':>7} {uptime:>9} "
              f"{r['state']:<9} {r['url']}{note}")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    lines = []
    if args.all:
        for dep in replicas.all_deployments(args.dir):
            lines += replicas.stop(args.dir, dep.port)
    if args.port is not None and replicas.load(args.dir, args.port) is not None:
        lines += replicas.stop(args.dir, args.port)
    elif not args.all or instances.records(args.dir):
        lines += instances.stop(args.dir, port=args.port, pid=args.pid, everything=args.all)
    print("\n".join(lines))
    return 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    log = args.log if args.log.is_absolute() else args.dir / args.log
    for line in upgrade.upgrade(args.dir, args.port, args.source, log):
        print(line)
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    print(instances.logs(args.dir, port=args.port, lines=args.n))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m deploy", description="OCR Studio deployment tools.")
    sub = p.add_subparsers(dest="command", required=True)
    root = argparse.ArgumentParser(add_help=False)
    root.add_argument("--root", type=Path, default=PROJECT_ROOT,
                      help="project or extracted package folder holding descriptor.json (default: %(default)s)")
    run_dir = argparse.ArgumentParser(add_help=False)
    run_dir.add_argument("--dir", type=Path, default=PROJECT_ROOT,
                         help="project or extracted package folder; instances are recorded in DIR/run/")

    s = sub.add_parser("update", parents=[root], help="rewrite version, models and file hashes from disk")
    s.set_defaults(func=cmd_update)
    s = sub.add_parser("check", parents=[root], help="schema, files, versions, models and live endpoints")
    s.add_argument("--url", help="compare with the app already running at URL instead of starting one")
    s.add_argument("--no-server", action="store_true", help="skip the endpoint comparison")
    s.set_defaults(func=cmd_check)
    s = sub.add_parser("build", parents=[root], help="write the reproducible zip to dist/")
    s.add_argument("--out", type=Path, help="output folder (default: ROOT/dist)")
    s.set_defaults(func=cmd_build)
    s = sub.add_parser("verify", parents=[root], help="deploy a zip in a fresh venv and test it end to end")
    s.add_argument("zip", type=Path)
    s.add_argument("--workdir", type=Path, help="where to extract and create the venv (default: a temp folder)")
    s.add_argument("--keep", action="store_true", help="keep the work folder after success")
    s.add_argument("--no-tag", action="store_true", help="do not create the git tag v<version>")
    s.add_argument("--log", type=Path, default=DEPLOY_LOG, help="deployment log (default: ROOT/%(default)s)")
    s.set_defaults(func=cmd_verify)
    s = sub.add_parser("platforms", parents=[root],
                       help="requirements resolve to public wheels on Linux, Windows, macOS (needs the network)")
    s.add_argument("--requirements", type=Path,
                   help="requirements file (default: the descriptor's runtime.requirements under ROOT)")
    s.add_argument("--json", action="store_true", help="one JSON report instead of lines")
    s.set_defaults(func=cmd_platforms)
    s = sub.add_parser("start", parents=[run_dir], help="start the app in the background (--replicas: behind nginx)")
    s.add_argument("--port", type=int, help="the app's port, or with --replicas the proxy's (default: a free port)")
    s.add_argument("--host", default="127.0.0.1", help="interface to listen on (with --replicas: the proxy's)")
    s.add_argument("--replicas", type=int, help="start N replicas on free ports behind nginx on --port; on a "
                   "running deployment: replace the replicas that are down")
    s.add_argument("--no-wait", action="store_true", help="return without waiting for the health check")
    s.set_defaults(func=cmd_start)
    s = sub.add_parser("status", parents=[run_dir], help="list proxies and instances with version, port, PID, health")
    s.add_argument("--json", action="store_true")
    s.add_argument("--api", action="store_true",
                   help="each running instance's endpoints, parameters and returns, from its /gradio_api/info")
    s.set_defaults(func=cmd_status)
    s = sub.add_parser("stop", parents=[run_dir], help="stop one instance (or all) gracefully")
    which = s.add_mutually_exclusive_group(required=True)
    which.add_argument("--port", type=int)
    which.add_argument("--pid", type=int)
    which.add_argument("--all", action="store_true")
    s.set_defaults(func=cmd_stop)
    s = sub.add_parser("upgrade", parents=[run_dir],
                       help="replace a deployment's replicas with another version, with no failed request")
    s.add_argument("--port", type=int, required=True, help="the deployment's proxy port")
    s.add_argument("--from", dest="source", type=Path, required=True, help="project folder or package zip")
    s.add_argument("--log", type=Path, default=DEPLOY_LOG, help="deployment log (default: DIR/%(default)s)")
    s.set_defaults(func=cmd_upgrade)
    s = sub.add_parser("logs", parents=[run_dir], help="last lines of an instance's log")
    s.add_argument("--port", type=int)
    s.add_argument("-n", type=int, default=50, help="number of lines (default: %(default)s)")
    s.set_defaults(func=cmd_logs)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    for name in ("root", "dir"):
        if hasattr(args, name):
            setattr(args, name, getattr(args, name).resolve())
    try:
        return args.func(args)
    except (DescriptorError, ManifestError, UnsafeArchive, ServerError, instances.InstanceError,
            platforms.PlatformsError, replicas.DeploymentError, proxy.ProxyError, SyntaxError) as exc:
        print(f"deploy {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
