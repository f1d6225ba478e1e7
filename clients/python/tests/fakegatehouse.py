"""A fake gatehouse for the unit tests: /o/introspect/ (RFC 7662 with the
extended answer, HTTP Basic client authentication), /.well-known/jwks.json
and /api/me/, each call recorded."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus


class FakeGatehouse:
    def __init__(self, client_id="api", client_secret="s3cret"):
        self.client = self._client = (client_id, client_secret)
        self.answers = {}  # token -> introspection answer
        self.jwks = {"keys": []}
        self.profiles = {}  # Authorization value -> /api/me/ body
        self.me_refusal = {"detail": "Invalid token."}  # /api/me/'s 401 body otherwise
        self.status = {}  # path -> status to answer instead
        self.calls = []  # (path, token or None)
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body):
                b = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(b)))
                self.end_headers()
                self.wfile.write(b)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(n).decode())
                token = form.get("token", [None])[0]
                with fake.lock:
                    fake.calls.append((self.path, token))
                if self.path != "/o/introspect/":
                    return self._send(404, {"detail": "Not found."})
                if self.path in fake.status:
                    return self._send(fake.status[self.path], {"detail": "down"})
                # RFC 6749 2.3.1: id and secret form-urlencoded, then Basic.
                scheme = given = None
                try:
                    scheme, b64 = self.headers.get("Authorization", "").split(" ", 1)
                    user, _, pw = base64.b64decode(b64).decode().partition(":")
                    given = (unquote_plus(user), unquote_plus(pw))
                except ValueError:
                    pass
                if scheme != "Basic" or given != fake.client:
                    return self._send(401, {"error": "invalid_client"})
                self._send(200, fake.answers.get(token, {"active": False}))

            def do_GET(self):
                with fake.lock:
                    fake.calls.append((self.path, self.headers.get("Authorization")))
                if self.path in fake.status:
                    return self._send(fake.status[self.path], {"detail": "down"})
                if self.path == "/.well-known/jwks.json":
                    return self._send(200, fake.jwks)
                if self.path == "/api/me/":
                    body = fake.profiles.get(self.headers.get("Authorization"))
                    if body is None:
                        return self._send(401, fake.me_refusal)
                    return self._send(200, body)
                self._send(404, {"detail": "Not found."})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self, path):
        with self.lock:
            return sum(1 for p, _ in self.calls if p == path)

    def reset(self):
        with self.lock:
            self.answers.clear()
            self.profiles.clear()
            self.status.clear()
            self.calls.clear()
            self.jwks = {"keys": []}
            self.me_refusal = {"detail": "Invalid token."}
            self.client = self._client

    def close(self):
        self.server.shutdown()
        self.server.server_close()
