"""Serving the app for real: uvicorn in a subprocess on a loopback port, its logs in a file."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.cli import HTTP_PROTOCOL

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> list[str]:
        return [line for line in self.log_text().splitlines() if line.strip()]

    def log_records(self) -> list[dict[str, Any]]:
        """Every line parsed as JSON: fails on the first line that is not one object."""
        records = []
        for line in self.log_lines():
            record = json.loads(line)
            assert isinstance(record, dict), line
            records.append(record)
        return records

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS for the server process")


@contextmanager
def uvicorn_process(
    app: str,
    env: Mapping[str, str],
    log_path: Path,
    *,
    factory: bool = False,
    graceful_shutdown_s: int = 10,
) -> Iterator[Served]:
    """Run `uvicorn app` as a child process until the block ends (then SIGTERM, then kill).

    The environment is ours without any SEN_*/DATABASE_URL setting, plus `env`."""
    port = free_port()
    child_env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("SEN_") and name not in {"DATABASE_URL", "TEST_DATABASE_URL"}
    }
    child_env.update(env)
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--timeout-graceful-shutdown",
        str(graceful_shutdown_s),
        # As in production (the Dockerfile): the server's limits on slow and large heads.
        "--http",
        HTTP_PROTOCOL,
    ]
    if factory:
        args.append("--factory")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, cwd=PROJECT_ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT
        )
    served = Served(process, f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_until_serving(served)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=graceful_shutdown_s + 5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_serving(served: Served) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise AssertionError(f"uvicorn exited at start:\n{served.log_text()[-3000:]}")
        try:
            if httpx.get(f"{served.base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"uvicorn did not serve within {STARTUP_TIMEOUT_S} s")
