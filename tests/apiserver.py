"""The controllers' HTTP API as a client meets it: `dsr serve` in its own process on a free loopback
port, its stderr kept in a file (to search for what must not be logged), stopped afterwards."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

READY_WITHIN = 30.0


@dataclass
class ApiServer:
    base_url: str
    process: subprocess.Popen
    log: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def logged(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(config: Path, *options: str) -> ApiServer:
    port = free_port()
    log = config.parent / f"api-{port}.log"
    dsr = Path(sys.executable).parent / "dsr"
    command = [str(dsr), "--config", str(config), "serve", "--port", str(port), *options]
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    server = ApiServer(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dsr serve exited with {process.returncode}: {server.logged()[-2000:]}")
        try:
            if httpx.get(f"{server.base_url}/ready", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"dsr serve did not get ready within {READY_WITHIN} s: {server.logged()[-2000:]}")
