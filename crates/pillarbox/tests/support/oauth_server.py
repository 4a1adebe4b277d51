"""An OAuth2 authorization server for the tests, written to the published specs, for
the one peer that cannot run here (a real identity provider):

  POST /token       RFC 6749 section 6: grant_type=refresh_token with the refresh token
                    and client_id it was started with; issues "tok-N" (Bearer, lifetime
                    given on the command line); section 5.2 error "invalid_grant" else.
  POST /introspect  RFC 7662 section 2: token=... (form-encoded); {"active": true,
                    "username": USER, ...} for a token it issued, {"active": false} for
                    anything else.

Usage: oauth_server.py PORT USER REFRESH_TOKEN CLIENT_ID LIFETIME LOG
Prints READY once listening; appends one line per request to LOG
("token tok-N", "token refused", "introspect tok-N active", "introspect X inactive").
"""
import http.server
import json
import sys
import urllib.parse

port, user, refresh_token, client_id, lifetime, log_path = sys.argv[1:7]
issued = []


def log(line):
    with open(log_path, "a") as f:
        f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        form = urllib.parse.parse_qs(body)
        if self.path == "/token":
            good = (
                form.get("grant_type") == ["refresh_token"]
                and form.get("refresh_token") == [refresh_token]
                and form.get("client_id") == [client_id]
            )
            if not good:
                log("token refused")
                self.reply(400, {"error": "invalid_grant"})
                return
            token = "tok-%d" % (len(issued) + 1)
            issued.append(token)
            log("token " + token)
            self.reply(
                200,
                {"access_token": token, "token_type": "Bearer", "expires_in": int(lifetime)},
            )
        elif self.path == "/introspect":
            token = (form.get("token") or [""])[0]
            if token in issued:
                log("introspect %s active" % token)
                self.reply(
                    200,
                    {
                        "active": True,
                        "username": user,
                        "client_id": client_id,
                        "token_type": "Bearer",
                    },
                )
            else:
                log("introspect %s inactive" % token)
                self.reply(200, {"active": False})
        else:
            self.reply(404, {"error": "not_found"})

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
print("READY", flush=True)
server.serve_forever()
