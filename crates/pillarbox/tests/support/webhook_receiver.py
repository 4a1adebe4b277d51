"""A webhook receiver for Pillarbox's monitoring tests: an HTTP server (Python's
http.server) that checks each post's X-Pillarbox-Signature (HMAC-SHA256 over
"<timestamp>.<body>" with the shared secret) and records it.

Usage: webhook_receiver.py PORT SECRET LOG [FAIL_FIRST]
Answers 500 to the first FAIL_FIRST posts (a receiver that is down), 200 after. Every
post is appended to LOG as one JSON line:
  {"status": 200|500|401, "event": ..., "delivery": ..., "valid": bool, "body": {...}}
Prints "READY" when listening.
"""
import hashlib, hmac, json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, secret, log = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
fail_first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
seen = [0]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        sig = self.headers.get("x-pillarbox-signature", "")
        parts = dict(p.split("=", 1) for p in sig.split(",") if "=" in p)
        expected = hmac.new(secret, parts.get("t", "").encode() + b"." + body, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected, parts.get("v1", ""))
        seen[0] += 1
        status = 401 if not valid else (500 if seen[0] <= fail_first else 200)
        with open(log, "a") as f:
            f.write(json.dumps({
                "status": status,
                "event": self.headers.get("x-pillarbox-event"),
                "delivery": self.headers.get("x-pillarbox-delivery"),
                "valid": valid,
                "body": json.loads(body or b"null"),
            }) + "\n")
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print("READY", flush=True)
server.serve_forever()
