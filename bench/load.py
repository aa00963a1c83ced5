"""Mixed load through the running app: digit drawers keep calling /digit while other people OCR receipts.

    python -m bench.load                         # starts app.py on a free port; 2 rounds
    python -m bench.load --url http://127.0.0.1:8080   # an app or a deployment's proxy that is already running
    python -m bench.load --digit-clients 8 --digit-calls 50 --ocr-clients 4 --ocr-calls 5 --rounds 2 --json out.json

Every client is its own process with its own gradio_client.Client (as separate people are), and all start
together. Digit clients send the sample drawings of samples/digits/ (a 28x28 MNIST digit on an 800x800-ish
canvas), OCR clients the receipts of ../shared/data/ocr-dev (or samples/documents/ when that is absent),
skipping the few scans over 20 MP. Per round and endpoint: calls, errors, p50/p95/p99/max latency (ms),
wall time; and the RSS of the app and its OCR worker together after each round (only when this script
started the app, or with --pid).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from deploy import server  # noqa: E402

OCR_DEV = ROOT.parent / "shared" / "data" / "ocr-dev"
MAX_OCR_PIXELS = 20_000_000


def receipts() -> list[Path]:
    """The receipts OCR clients send, in manifest order."""
    manifest = OCR_DEV / "manifest.jsonl"
    if not manifest.is_file():
        return sorted((ROOT / "samples" / "documents").glob("receipt_*.jpg"))
    from PIL import Image
    paths = [OCR_DEV / json.loads(line)["image"] for line in manifest.read_text().splitlines() if line.strip()]
    return [p for p in paths if (lambda s: s[0] * s[1])(Image.open(p).size) <= MAX_OCR_PIXELS]


def drawings() -> list[Path]:
    return sorted((ROOT / "samples" / "digits").glob("digit_*.png"))


def client_process(url: str, endpoint: str, files: list[str], calls: int, start: mp.Barrier, out: mp.Queue) -> None:
    """One client: connect, wait for everyone, make `calls` sequential calls; put (endpoint, latencies, errors)."""
    from gradio_client import handle_file
    client = server.api_client(url)
    latencies: list[float] = []
    errors: list[str] = []
    start.wait()
    for i in range(calls):
        path = handle_file(files[i % len(files)])
        value = {"background": None, "layers": [], "composite": path} if endpoint == "/digit" else path
        began = time.perf_counter()
        try:
            client.predict(value, api_name=endpoint)
            latencies.append(time.perf_counter() - began)
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
    out.put((endpoint, latencies, errors))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def one_round(url: str, args: argparse.Namespace) -> dict:
    """All clients once; returns per-endpoint statistics and the wall time."""
    jobs = [("/digit", [str(p) for p in drawings()], args.digit_calls)] * args.digit_clients
    ocr_files = [str(p) for p in receipts()]
    jobs += [("/ocr", ocr_files[i * args.ocr_calls:] + ocr_files, args.ocr_calls) for i in range(args.ocr_clients)]
    context = mp.get_context("spawn")
    start, out = context.Barrier(len(jobs) + 1), context.Queue()
    workers = [context.Process(target=client_process, args=(url, ep, files, n, start, out), daemon=True)
               for ep, files, n in jobs]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    results = [out.get(timeout=args.timeout) for _ in workers]
    wall = time.perf_counter() - began
    for worker in workers:
        worker.join(30)
    stats = {}
    for endpoint in ("/digit", "/ocr"):
        lat = [x for ep, values, _ in results if ep == endpoint for x in values]
        errs = [e for ep, _, values in results if ep == endpoint for e in values]
        stats[endpoint] = {
            "calls": len(lat) + len(errs), "errors": len(errs), "first_errors": errs[:3],
            **{f"p{q}_ms": round(percentile(lat, q) * 1000) if lat else None for q in (50, 95, 99)},
            "max_ms": round(max(lat) * 1000) if lat else None,
            "mean_ms": round(statistics.fmean(lat) * 1000) if lat else None,
        }
    return {"wall_s": round(wall, 1), "endpoints": stats}


def rss_mb(pid: int | None) -> float | None:
    """RSS of the app and its child processes (its OCR worker) together, MB."""
    if pid is None:
        return None
    import psutil
    app = psutil.Process(pid)
    return round(sum(p.memory_info().rss for p in [app, *app.children(recursive=True)]) / 1e6)


def run(url: str, pid: int | None, args: argparse.Namespace) -> dict:
    report = {"url": url, "settings": {k: v for k, v in vars(args).items() if k not in ("json", "url")},
              "rss_mb_start": rss_mb(pid), "rounds": []}
    for number in range(1, args.rounds + 1):
        result = one_round(url, args)
        result["rss_mb_after"] = rss_mb(pid)
        report["rounds"].append(result)
        print(table_row(number, result), flush=True)
    return report


def table_row(number: int, result: dict) -> str:
    cells = []
    for endpoint, s in result["endpoints"].items():
        cells.append(f"{endpoint} {s['calls']} calls, {s['errors']} errors, p50/p95/p99 "
                     f"{s['p50_ms']}/{s['p95_ms']}/{s['p99_ms']} ms")
    rss = f", RSS {result['rss_mb_after']} MB" if result["rss_mb_after"] is not None else ""
    return f"round {number}: " + "; ".join(cells) + f"; {result['wall_s']} s{rss}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="a running app or proxy (default: start app.py on a free port)")
    p.add_argument("--pid", type=int, help="with --url: the app's PID, for its RSS")
    p.add_argument("--digit-clients", type=int, default=8)
    p.add_argument("--digit-calls", type=int, default=50)
    p.add_argument("--ocr-clients", type=int, default=4)
    p.add_argument("--ocr-calls", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--timeout", type=float, default=1800, help="seconds one round may take")
    p.add_argument("--json", type=Path, help="also write the full report here")
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: the app and the clients still stop
    print(f"mixed load: {args.digit_clients} x {args.digit_calls} /digit while {args.ocr_clients} x "
          f"{args.ocr_calls} /ocr, {args.rounds} rounds", flush=True)
    if args.url:
        report = run(args.url, args.pid, args)
    else:
        with tempfile.TemporaryDirectory() as work, server.serving(
                ROOT, Path(work) / "app.log", env={"OCR_STUDIO_LOG_DIR": str(Path(work) / "logs")}) as app:
            report = run(app.url, app.pid, args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
