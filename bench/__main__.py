"""`python -m bench`: build a realistic database, serve it, load it with wrk, print the table.

Steps (each explained in bench/README.md):

1. create `sen_bench_<random>` on BENCH_DATABASE_URL's server, migrate it with the app's own
   migrations and bulk-load the data set (bench/dataset.py);
2. the counting pass: every scenario at one connection through a PostgreSQL protocol proxy
   (bench/pgcount.py), to count SQL statements and round trips per request exactly;
3. the timed pass: the bare baselines (bench/baseline.py) and then the service, each served by
   uvicorn the way production runs it, driven by wrk from another process at 32 connections;
4. the table, PASS/FAIL against the targets of issue 6, and the database dropped (--keep keeps
   it and the work folder).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from app.core.clock import today_london
from app.core.config import Settings
from app.core.http import encode_cursor
from app.core.security import Role, mint_token
from app.migrate import upgrade_to_head
from bench.dataset import Dataset, DatasetSpec, load
from bench.pgcount import CountingProxy

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "lua"
DEFAULT_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
EVENT_PAGE = 1000
BATCH_ITEMS = 1000


# -- scenarios and targets ---------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    script: str
    server: str  # "app", "starlette" or "asgi"
    args: tuple[str, ...] = ()
    unit: str | None = None  # what `items` counts, when throughput is not requests
    counted: int = 100  # requests in the counting pass
    timed: bool = True
    # Its own connection count (else --connections): latency targets that name no load are
    # measured at LATENCY_CONNECTIONS, beside a row at the full load for its throughput.
    connections: int | None = None


NO_AUDIT_BASELINE = "bare ASGI, no audit (info)"
LATENCY_CONNECTIONS = 4
SCENARIOS = (
    Scenario("bare starlette GET pupil", "get_pupil.lua", "starlette"),
    Scenario("bare ASGI GET pupil", "get_pupil.lua", "asgi"),
    Scenario(NO_AUDIT_BASELINE, "get_pupil.lua", "asgi", ("/select-only/pupils/",)),
    Scenario("GET /v1/pupils/{id}", "get_pupil.lua", "app"),
    Scenario("pupil list, filtered", "list_pupils.lua", "app", connections=LATENCY_CONNECTIONS),
    Scenario("pupil list, full load (info)", "list_pupils.lua", "app", counted=0),
    Scenario(
        "evidence bundle (heavy)",
        "evidence.lua",
        "app",
        ("heavy",),
        counted=10,
        connections=LATENCY_CONNECTIONS,
    ),
    Scenario("evidence, full load (info)", "evidence.lua", "app", ("heavy",), counted=0),
    Scenario(
        "evidence bundle (1 cycle)", "evidence.lua", "app", ("light",), counted=10, timed=False
    ),
    Scenario("change feed, 1,000/page", "events.lua", "app", unit="events", counted=20),
    Scenario("batch upsert, 1,000", "batch.lua", "app", (str(BATCH_ITEMS),), "pupils", 5),
)
# The denominators: the same database work as the service's hot read (bench/baseline.py).
BASELINES = ("bare starlette GET pupil", "bare ASGI GET pupil")


@dataclass
class Outcome:
    scenario: Scenario
    connections: int | None = None
    result: dict[str, Any] | None = None
    rss_mb: float | None = None
    load: float | None = None
    statements: float | None = None
    round_trips: float | None = None
    parses: float | None = None

    @property
    def rps(self) -> float:
        if not self.result:
            return 0.0
        ok = self.result["requests"] - self.result["errors"]["status"]
        return float(ok) / (self.result["duration_us"] / 1e6)

    @property
    def units_per_second(self) -> float | None:
        if not self.result or self.scenario.unit is None:
            return None
        return float(self.result["items"]) / (self.result["duration_us"] / 1e6)

    def latency_ms(self, which: str) -> float:
        assert self.result is not None
        return float(self.result["latency_us"][which]) / 1000

    @property
    def codes(self) -> str:
        codes = (self.result or {}).get("codes") or {}
        return ", ".join(f"{count} x {code}" for code, count in sorted(codes.items()))

    @property
    def failures(self) -> int:
        if not self.result:
            return 0
        errors = self.result["errors"]
        return int(sum(errors.values()) + self.result.get("item_errors", 0))


# -- servers -----------------------------------------------------------------------------------


class Server:
    """One uvicorn process (and its workers), started and stopped by us alone."""

    TARGETS: ClassVar[dict[str, str]] = {
        "app": "app.main:app",
        "starlette": "bench.baseline:app",
        "asgi": "bench.baseline:raw_app",
    }

    def __init__(self, kind: str, env: dict[str, str], workers: int, log_dir: Path):
        self.kind = kind
        self.env = env
        self.workers = workers
        self.port = _free_port()
        self.log_path = log_dir / f"server-{kind}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            sys.executable, "-m", "uvicorn", self.TARGETS[self.kind],
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(self.workers),
            "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning",
            "--timeout-graceful-shutdown", "5",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited:\n{self.log_tail()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer,
            ):
                if answer.status == 200 and len(self.worker_pids()) >= self.workers:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.kind} server did not become ready:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: uvicorn itself with one worker, else the worker
        processes it spawned (not multiprocessing's resource tracker)."""
        assert self.process is not None
        if self.workers == 1:
            return [self.process.pid]
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                cmdline = (entry / "cmdline").read_bytes()
            except (OSError, ValueError, IndexError):
                continue
            if parent == self.process.pid and b"spawn_main" in cmdline:
                pids.append(int(entry.name))
        return pids

    def rss_mb(self) -> float | None:
        sizes = []
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
        return max(sizes) if sizes else None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(kind: str, env: dict[str, str], workers: int, log_dir: Path) -> Iterator[Server]:
    server = Server(kind, env, workers, log_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


# -- wrk ---------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: install it with `sudo apt-get install -y wrk`")
    print("wrk is missing: installing it from Debian (apt-get install -y wrk) ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed")
    return found


@dataclass
class WrkSettings:
    duration: int
    connections: int
    threads: int
    timeout: int
    data_dir: Path
    salt: str
    extra_env: dict[str, str] = field(default_factory=dict)


def _wrk_command(
    scenario: Scenario, url: str, duration: int, connections: int, threads: int, timeout: int
) -> list[str]:
    return [
        "wrk", "-t", str(min(threads, connections)), "-c", str(connections),
        "-d", f"{duration}s", "--timeout", f"{timeout}s", "-s", str(LUA / scenario.script),
        url, "--", *scenario.args,
    ]  # fmt: skip


def _wrk_env(settings: WrkSettings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "BENCH_LUA": str(LUA),
        "BENCH_DATA": str(settings.data_dir),
        "BENCH_SALT": settings.salt,
        **extra,
    }


def _parse_wrk(output: str) -> dict[str, Any]:
    for line in output.splitlines():
        if line.startswith("BENCH_RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCH_RESULT "))
            return result
    raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")


def run_wrk(
    scenario: Scenario, url: str, settings: WrkSettings, duration: int, connections: int
) -> dict[str, Any]:
    command = _wrk_command(scenario, url, duration, connections, settings.threads, settings.timeout)
    finished = subprocess.run(
        command,
        env=_wrk_env(settings),
        capture_output=True,
        text=True,
        timeout=duration + settings.timeout + 60,
        check=False,
    )
    return _parse_wrk(finished.stdout + finished.stderr)


def run_wrk_until(
    scenario: Scenario, url: str, settings: WrkSettings, responses: int, cap_seconds: int = 120
) -> dict[str, Any]:
    """One connection, stopped after exactly `responses` responses (see common.lua)."""
    marker = settings.data_dir / f"stop-{secrets.token_hex(4)}"
    command = _wrk_command(scenario, url, cap_seconds, 1, 1, settings.timeout)
    env = _wrk_env(settings, BENCH_STOP_AFTER=str(responses), BENCH_STOP_FILE=str(marker))
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + cap_seconds + 30
    while process.poll() is None and not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if process.poll() is None:
        # wrk sleeps for its whole duration; SIGINT ends it early and it still reports.
        process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    result = _parse_wrk(output)
    if marker.exists():
        result["sent"] = int(marker.read_text() or result["sent"])
        marker.unlink()
    return result


# -- the data files wrk reads ------------------------------------------------------------------


def write_data_files(data_dir: Path, dataset: Dataset, settings: Settings, seed: int) -> None:
    import random

    rng = random.Random(seed)
    # The longest the service accepts by default (SEN_MAX_TOKEN_SECONDS); a run takes minutes.
    lifetime = timedelta(hours=1)
    schools = []
    for school in dataset.schools:
        senco = mint_token(
            settings, sub=f"senco.{school.urn}", role=Role.SENCO, school_id=school.id,
            lifetime=lifetime,
        )  # fmt: skip
        mis = mint_token(
            settings, sub=f"mis.{school.urn}", role=Role.MIS_INTEGRATION, school_id=school.id,
            lifetime=lifetime,
        )  # fmt: skip
        schools.append(f"{school.index + 1}\t{school.id}\t{senco}\t{mis}")
    (data_dir / "schools.tsv").write_text("\n".join(schools) + "\n")
    (data_dir / "pupils.tsv").write_text(
        "".join(f"{p.id}\t{p.school_index + 1}\t{p.upn}\n" for p in dataset.pupils)
    )

    by_school: dict[int, list[Any]] = {}
    for pupil in dataset.pupils:
        by_school.setdefault(pupil.school_index, []).append(pupil)
    surnames = sorted({p.last_name for p in dataset.pupils})
    since = (datetime.now(UTC) - timedelta(days=400)).strftime("%Y-%m-%dT00:00:00Z")
    queries = []
    for index, pupils in by_school.items():
        years = sorted({p.year_group for p in pupils})
        for _ in range(40):
            year = rng.choice(years)
            kind = rng.randrange(7)
            if kind == 0:
                query = "sen_status=K"
            elif kind == 1:
                query = f"year_group={year}"
            elif kind == 2:
                query = f"sen_status=N&year_group={year}"
            elif kind == 3:
                query = f"q={rng.choice(surnames)[:4]}"
            elif kind == 4:
                query = f"updated_since={since}&sen_status=K"
            else:
                pupil = rng.choice(pupils)
                cursor = encode_cursor([pupil.last_name, pupil.first_name, str(pupil.id)])
                query = f"cursor={cursor}" + ("&sen_status=K" if kind == 5 else "")
            queries.append(f"{index + 1}\t{query}&limit=50")
    (data_dir / "list.tsv").write_text("\n".join(queries) + "\n")

    (data_dir / "evidence.tsv").write_text(
        f"heavy\t{dataset.heavy_request_id}\t{dataset.heavy_school_index + 1}\n"
        f"light\t{dataset.light_request_id}\t{dataset.light_school_index + 1}\n"
    )
    admin = mint_token(settings, sub="bench.feed", role=Role.PLATFORM_ADMIN, lifetime=lifetime)
    (data_dir / "events.tsv").write_text(f"{admin}\t{dataset.max_seq}\t{EVENT_PAGE}\n")


# -- the database ------------------------------------------------------------------------------


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(server_url: str, statement: str) -> None:
    connection = await asyncpg.connect(_plain(server_url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


# -- the passes --------------------------------------------------------------------------------


class ProxyThread:
    """The counting proxy on its own event loop, so the rest of the harness stays plain."""

    def __init__(self, host: str, port: int):
        self.proxy = CountingProxy(host, port)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> CountingProxy:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self.loop).result(10)
        return self.proxy

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.proxy.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def counting_pass(
    outcomes: dict[str, Outcome],
    db_url: str,
    base_env: dict[str, str],
    settings: WrkSettings,
    log_dir: Path,
    say: Callable[[str], None],
) -> None:
    url = make_url(db_url)
    with ProxyThread(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
        env = {**base_env, "DATABASE_URL": proxied}
        for kind in ("starlette", "asgi", "app"):
            # The same requests at another load count the same statements: counted once.
            wanted = [
                o for o in outcomes.values() if o.scenario.server == kind and o.scenario.counted
            ]
            if not wanted:
                continue
            with serving(kind, env, 1, log_dir) as server:
                for outcome in wanted:
                    scenario = outcome.scenario
                    warm = max(2, scenario.counted // 5)
                    run_wrk_until(scenario, server.url, settings, warm)
                    proxy.reset()
                    result = run_wrk_until(scenario, server.url, settings, scenario.counted)
                    counts = proxy.reset()
                    sent = max(int(result["sent"]), 1)
                    outcome.statements = counts.statements / sent
                    outcome.round_trips = counts.round_trips / sent
                    outcome.parses = counts.parses / sent
                    say(
                        f"  counted {scenario.name}: {outcome.statements:.2f} statements, "
                        f"{outcome.round_trips:.2f} round trips per request ({sent} requests)"
                    )


def timed_pass(
    outcomes: dict[str, Outcome],
    base_env: dict[str, str],
    workers: int,
    settings: WrkSettings,
    warmup: int,
    log_dir: Path,
    say: Callable[[str], None],
) -> float | None:
    final_rss: float | None = None
    for kind in ("starlette", "asgi", "app"):
        wanted = [o for o in outcomes.values() if o.scenario.server == kind and o.scenario.timed]
        if not wanted:
            continue
        with serving(kind, base_env, workers, log_dir) as server:
            for outcome in wanted:
                scenario = outcome.scenario
                connections = outcome.connections or settings.connections
                if warmup:
                    run_wrk(scenario, server.url, settings, warmup, connections)
                outcome.result = run_wrk(
                    scenario, server.url, settings, settings.duration, connections
                )
                outcome.rss_mb = server.rss_mb()
                outcome.load = os.getloadavg()[0]
                say(
                    f"  ran {scenario.name}: {outcome.rps:,.0f} req/s, p99 "
                    f"{outcome.latency_ms('p99'):.1f} ms"
                )
            if kind == "app":
                final_rss = server.rss_mb()
    return final_rss


# -- the report --------------------------------------------------------------------------------


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def report(
    outcomes: dict[str, Outcome], final_rss: float | None, workers: int, default_connections: int
) -> bool:
    baseline_rps = max((outcomes[n].rps for n in BASELINES if n in outcomes), default=0.0)
    header = (
        f"{'scenario':<27} {'conns':>5} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'x base':>7} "
        f"{'units/s':>14} {'SQL/req':>8} {'trips':>6} {'RSS MB':>7} {'errors':>6} {'load':>5}"
    )
    lines = [header, "-" * len(header)]
    for outcome in outcomes.values():
        timed = outcome.result is not None
        ratio = outcome.rps / baseline_rps if timed and baseline_rps else None
        units = outcome.units_per_second
        unit_text = f"{units:,.0f} {outcome.scenario.unit}" if units is not None else "-"
        conns = str(outcome.connections or default_connections) if timed else "-"
        lines.append(
            f"{outcome.scenario.name:<27} {conns:>5} "
            f"{_fmt(outcome.rps if timed else None, ',.0f'):>8} "
            f"{_fmt(outcome.latency_ms('p50') if timed else None, '.1f'):>7} "
            f"{_fmt(outcome.latency_ms('p99') if timed else None, '.1f'):>7} "
            f"{_fmt(ratio, '.2f'):>7} {unit_text:>14} "
            f"{_fmt(outcome.statements, '.1f'):>8} {_fmt(outcome.round_trips, '.1f'):>6} "
            f"{_fmt(outcome.rss_mb, '.0f'):>7} "
            f"{(str(outcome.failures) if timed else '-'):>6} {_fmt(outcome.load, '.1f'):>5}"
        )
    print("\n".join(lines))
    for outcome in outcomes.values():
        if outcome.codes:
            print(f"  {outcome.scenario.name}: non-2xx answers {outcome.codes}")
        if outcome.result is not None and outcome.result["requests"] == 0:
            print(f"  {outcome.scenario.name}: no request completed within the run")

    def get(name: str) -> Outcome | None:
        outcome = outcomes.get(name)
        return outcome if outcome is not None and outcome.result is not None else None

    checks: list[tuple[str, bool | None, str]] = []
    read = get("GET /v1/pupils/{id}")
    if read is not None and baseline_rps:
        ratio = read.rps / baseline_rps
        no_audit = get(NO_AUDIT_BASELINE)
        no_audit_note = f" ({read.rps / no_audit.rps:.2f}x of no audit)" if no_audit else ""
        checks.append(
            (
                f"GET /v1/pupils/{{id}} >= 0.6x baseline, p99 < 25 ms at "
                f"{read.connections or default_connections} conns",
                ratio >= 0.6 and read.latency_ms("p99") < 25 and read.failures == 0,
                f"{ratio:.2f}x{no_audit_note}, p99 {read.latency_ms('p99'):.1f} ms",
            )
        )
    batch = get("batch upsert, 1,000")
    if batch is not None:
        rate = batch.units_per_second or 0.0
        checks.append(
            (
                "batch upsert >= 10,000 pupils/s end to end",
                rate >= 10_000 and batch.failures == 0,
                f"{rate:,.0f} pupils/s, {batch.failures} failures",
            )
        )
    evidence = get("evidence bundle (heavy)")
    if evidence is not None:
        light = outcomes.get("evidence bundle (1 cycle)")
        same = (
            light is not None
            and light.statements is not None
            and evidence.statements is not None
            and abs(light.statements - evidence.statements) < 0.01
        )
        statements_note = (
            f"; statements heavy {evidence.statements:.0f} vs 1 cycle {light.statements:.0f}"
            if light is not None and light.statements is not None and evidence.statements
            else ""
        )
        checks.append(
            (
                f"evidence (heavy) p50 < 50 ms at "
                f"{evidence.connections or default_connections} conns",
                evidence.latency_ms("p50") < 50 and evidence.failures == 0,
                f"p50 {evidence.latency_ms('p50'):.1f} ms{statements_note}",
            )
        )
        if evidence.statements is not None:
            checks.append(
                ("evidence statements independent of history length", same, statements_note[2:])
            )
    feed = get("change feed, 1,000/page")
    if feed is not None:
        rate = feed.units_per_second or 0.0
        checks.append(
            (
                "change feed catch-up >= 20,000 events/s",
                rate >= 20_000 and feed.failures == 0,
                f"{rate:,.0f} events/s",
            )
        )
    listing = get("pupil list, filtered")
    if listing is not None:
        checks.append(
            (
                f"pupil list p99 < 20 ms at {listing.connections or default_connections} conns",
                listing.latency_ms("p99") < 20 and listing.failures == 0,
                f"p99 {listing.latency_ms('p99'):.1f} ms",
            )
        )
    if final_rss is not None:
        checks.append(
            (
                f"RSS per worker < 200 MB after the run ({workers} worker(s))",
                final_rss < 200,
                f"{final_rss:.0f} MB",
            )
        )
    print()
    all_pass = True
    for label, passed, detail in checks:
        verdict = "PASS" if passed else "FAIL"
        all_pass = all_pass and bool(passed)
        print(f"{verdict}  {label:<62} {detail}")
    return all_pass


# -- main --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per timed run")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured seconds before each")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--connections-for",
        action="append",
        default=[],
        metavar="PART=N",
        help="another connection count for scenarios whose name contains PART (e.g. batch=4)",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--timeout", type=int, default=30, help="wrk request timeout (s)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers")
    parser.add_argument("--pupils", type=int, default=60_000)
    parser.add_argument("--schools", type=int, default=50)
    parser.add_argument("--seed", type=int, default=20_261_201)
    parser.add_argument(
        "--only", action="append", default=[], help="run scenarios whose name contains this"
    )
    parser.add_argument("--no-count", action="store_true", help="skip the counting pass")
    parser.add_argument("--keep", action="store_true", help="keep the database and work folder")
    parser.add_argument(
        "--reuse",
        metavar="WORK_FOLDER",
        type=Path,
        help="run against the database and work folder a --keep run left (no load; kept after)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", flush=True)

    ensure_wrk()
    server_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER_URL)
    if not server_url.startswith("postgresql+asyncpg://"):
        server_url = (
            make_url(server_url).set(drivername="postgresql+asyncpg").render_as_string(False)
        )
    if args.reuse is not None:
        # A kept run's folder is named after its database and holds its JWT secret.
        work = args.reuse.resolve()
        name = work.name.rsplit("-", 1)[0]
        secret = (work / "jwt-secret").read_text().strip()
        args.keep = True
    else:
        name = f"sen_bench_{secrets.token_hex(4)}"
        work = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        secret = secrets.token_urlsafe(32)
    db_url = make_url(server_url).set(database=name).render_as_string(False)
    settings = Settings(jwt_secret=SecretStr(secret))
    base_env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SEN_JWT_SECRET": secret,
        "SEN_DATA_DIR": str(work),
    }
    spec = DatasetSpec(schools=args.schools, pupils=args.pupils, seed=args.seed)
    selected = [s for s in SCENARIOS if not args.only or any(part in s.name for part in args.only)]
    outcomes = {s.name: Outcome(s, connections=s.connections) for s in selected}
    for override in args.connections_for:
        part, _, count = override.partition("=")
        for outcome in outcomes.values():
            if part and part in outcome.scenario.name:
                outcome.connections = int(count)
    wrk_settings = WrkSettings(
        duration=args.duration,
        connections=args.connections,
        threads=args.threads,
        timeout=args.timeout,
        data_dir=work,
        salt=f"{secrets.randbelow(1000):03d}",
    )
    say(
        f"database {name} on {make_url(server_url).render_as_string(True)}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    if args.reuse is None:
        asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    all_pass = False
    try:
        if args.reuse is None:
            upgrade_to_head(db_url)
            say("migrated; generating and loading the data set ...")
            loaded_at = time.perf_counter()
            dataset = asyncio.run(load(_plain(db_url), spec, today_london(), datetime.now(UTC)))
            timings = ", ".join(f"{k} {v:.1f}s" for k, v in dataset.timings.items())
            rows = sum(dataset.row_counts.values())
            say(f"loaded {rows:,} rows in {time.perf_counter() - loaded_at:.1f}s ({timings})")
            say("  " + ", ".join(f"{t} {count:,}" for t, count in dataset.row_counts.items()))
            write_data_files(work, dataset, settings, args.seed)
        else:
            upgrade_to_head(db_url)  # the app may have new migrations since the kept run
            say(f"reusing {name} and {work} (batches of earlier runs have added pupils)")
        if not args.no_count:
            say("counting pass: 1 connection through the statement-counting proxy")
            counting_pass(outcomes, db_url, base_env, wrk_settings, work, say)
        overrides = f" ({', '.join(args.connections_for)})" if args.connections_for else ""
        say(
            f"timed pass: {args.connections} connections{overrides}, {args.duration}s per "
            f"scenario after {args.warmup}s warm-up, {args.workers} worker(s)"
        )
        final_rss = timed_pass(
            outcomes, base_env, args.workers, wrk_settings, args.warmup, work, say
        )
        print()
        all_pass = report(outcomes, final_rss, args.workers, args.connections)
        print(f"\nrun time {time.perf_counter() - started:.0f}s")
    finally:
        if args.keep:
            secret_file = work / "jwt-secret"
            secret_file.write_text(secret)
            secret_file.chmod(0o600)
            print(f"kept database {name} and work folder {work} (tokens signed with jwt-secret)")
        else:
            asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            shutil.rmtree(work, ignore_errors=True)
    return 0 if all_pass else 1


if __name__ == "__main__":
    raise SystemExit(main())
