"""A local stand-in for a Slack incoming webhook: records posts, can fail the way Slack does."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeSlack:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.script: deque[str | tuple[int, str, dict[str, str]]] = deque()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with fake.lock:
                    action = fake.script.popleft() if fake.script else "ok"
                if action == "hang":
                    time.sleep(15)
                    return
                if isinstance(action, tuple):
                    status, text, headers = action
                    return self._answer(status, text, headers)
                try:
                    message = json.loads(body)
                except ValueError:
                    return self._answer(400, "invalid_payload", {})
                if not isinstance(message, dict) or not (message.get("text") or message.get("blocks")):
                    return self._answer(400, "no_text", {})
                with fake.lock:
                    fake.posts.append(message)
                self._answer(200, "ok", {})

            def _answer(self, status: int, text: str, headers: dict[str, str]) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/XXXX"

    def titles(self) -> list[str]:
        with self.lock:
            return [str(p.get("text")) for p in self.posts]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
