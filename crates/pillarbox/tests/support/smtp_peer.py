"""A receiving SMTP server for Pillarbox's outbound tests, built on aiosmtpd (a real SMTP
server implementation from Debian's python3-aiosmtpd).

Usage: smtp_peer.py CONFIG.json
The config says where to listen and how to behave:
  host, port            where to listen
  dir                   where each accepted message is written as NNNN.json
                        ({"from", "rcpts", "data", "auth", "tls"})
  reject                {address: "550 5.1.1 no such user"} refused at RCPT
  defer_first           {address: n} answered 451 the first n times, then accepted
  tls_cert, tls_key     enable TLS; with implicit_tls: TLS from the first byte,
                        otherwise STARTTLS is offered (require_starttls: must be used)
  auth                  {user: password} enables AUTH (PLAIN, LOGIN, XOAUTH2);
                        require_auth: refuse MAIL without it; allow_empty_password
  xoauth2_tokens        list of bearer tokens accepted for XOAUTH2
  data_delay            seconds to wait before answering each DATA (a slow peer)
Prints "READY" when listening. Each AUTH attempt is appended to dir/auth.log.
dir/sessions.json holds the most connections that were open at once ({"max": n}).
"""
import asyncio, base64, json, os, ssl, sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

cfg = json.load(open(sys.argv[1]))
os.makedirs(cfg["dir"], exist_ok=True)
seen = {}
counter = [0]


def log_auth(line):
    with open(os.path.join(cfg["dir"], "auth.log"), "a") as f:
        f.write(line + "\n")


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        key = address.lower()
        if key in cfg.get("reject", {}):
            return cfg["reject"][key]
        n = cfg.get("defer_first", {}).get(key, 0)
        if seen.get(key, 0) < n:
            seen[key] = seen.get(key, 0) + 1
            return "451 4.7.1 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if cfg.get("data_delay"):
            await asyncio.sleep(cfg["data_delay"])
        counter[0] += 1
        path = os.path.join(cfg["dir"], "%04d.json" % counter[0])
        rec = {
            "from": envelope.mail_from,
            "rcpts": envelope.rcpt_tos,
            "data": envelope.original_content.decode("utf-8", "replace"),
            "auth": session.authenticated and str(session.auth_data),
            "tls": session.ssl is not None,
            "mail_options": envelope.mail_options,
            "rcpt_options": envelope.rcpt_options,
        }
        with open(path + ".tmp", "w") as f:
            json.dump(rec, f)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 Message accepted for delivery"

    async def auth_XOAUTH2(self, server, args):
        if len(args) > 1:
            raw = base64.b64decode(args[1])
        else:
            raw = await server.challenge_auth("", encode_to_b64=False)
            if raw is MISSING:
                return AuthResult(success=False, handled=False)
        text = raw.decode("utf-8", "replace")
        parts = dict(p.split("=", 1) for p in text.split("\x01") if "=" in p)
        token = parts.get("auth", "").replace("Bearer ", "")
        ok = token in cfg.get("xoauth2_tokens", [])
        log_auth("XOAUTH2 %s %s %s" % (parts.get("user"), token, "ok" if ok else "refused"))
        return AuthResult(success=ok, handled=False, auth_data=parts.get("user"))


def authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword):
        user = auth_data.login.decode()
        pw = auth_data.password.decode()
        expected = cfg.get("auth", {}).get(user)
        ok = expected is not None and (pw == expected or (pw == "" and cfg.get("allow_empty_password")))
        log_auth("%s %s %s" % (mechanism, user, "ok" if ok else "refused"))
        return AuthResult(success=ok, auth_data=user)
    return AuthResult(success=False)


live = [0, 0]  # connections open now, most at once


def note_sessions():
    path = os.path.join(cfg["dir"], "sessions.json")
    with open(path + ".tmp", "w") as f:
        json.dump({"max": live[1]}, f)
    os.rename(path + ".tmp", path)


class CountingSMTP(SMTP):
    def connection_made(self, transport):
        live[0] += 1
        live[1] = max(live[1], live[0])
        note_sessions()
        super().connection_made(transport)

    def connection_lost(self, exc):
        live[0] -= 1
        super().connection_lost(exc)


class CountingController(Controller):
    def factory(self):
        return CountingSMTP(self.handler, **self.SMTP_kwargs)


def main():
    ctx = None
    if cfg.get("tls_cert"):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cfg["tls_cert"], cfg["tls_key"])
    implicit = cfg.get("implicit_tls", False)
    auth_on = bool(cfg.get("auth")) or bool(cfg.get("xoauth2_tokens"))
    kwargs = dict(
        hostname=cfg["host"],
        port=cfg["port"],
        authenticator=authenticator if auth_on else None,
        auth_required=cfg.get("require_auth", False),
        auth_require_tls=False,
        require_starttls=cfg.get("require_starttls", False),
        ident="peer.test ESMTP aiosmtpd",
    )
    if ctx is not None and implicit:
        kwargs["ssl_context"] = ctx
    elif ctx is not None:
        kwargs["tls_context"] = ctx
    controller = CountingController(Handler(), **kwargs)
    controller.start()
    print("READY", flush=True)
    try:
        asyncio.get_event_loop().run_until_complete(asyncio.Event().wait())
    except KeyboardInterrupt:
        pass


main()
