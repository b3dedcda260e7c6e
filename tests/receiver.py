"""A controller's webhook endpoint for the tests: records every POST, answers with the statuses
it is told to (200 once the list runs out)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    url: str
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # the next answers' statuses, in order

    def wait_for(self, n: int, within: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + within
        while len(self.received) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.received)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start() -> Receiver:
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            receiver = box[0]
            status = receiver.answers.pop(0) if receiver.answers else 200
            receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook", server)
    box.append(receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
