#!/usr/bin/env python3
"""bench/scan's scanner driver (standard library only).

  driver.py capture SIZE OUT
      Runs smtp-source once (-m 1 -l SIZE, the same sender and recipient as the
      benchmark) against a one-message SMTP sink on loopback and writes the message as
      Pillarbox hands it to its scanners: its own Received header, then what
      smtp-source sent (dot-unstuffed, CRLF line ends).
  driver.py clamd|rspamd|both HOST:PORT[,HOST:PORT] MSG MESSAGES SESSIONS
      Scans MSG MESSAGES times over SESSIONS threads, one connection per scan as
      Pillarbox does: clamd `zINSTREAM`, rspamd `POST /checkv2` with the headers
      Pillarbox sends (IP, Helo, From, Rcpt, Queue-Id, Connection: close), or both
      in turn (clamd, then rspamd, as Pillarbox does for one message). Prints one
      line: `rate=<msg/s> errors=<n> cpu_ms=<this driver's CPU ms per message>
      verdict=<...>`. Any answer but clean counts as an error: clamd `stream: OK`;
      rspamd 200 with an action Pillarbox accepts (`no action`, `add header`,
      `rewrite subject`).
"""
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time

SENDER = "sender@client.example"
RCPT = "user@bench.test"


def capture(size, out):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    got = {}

    def serve():
        c, _ = srv.accept()
        f = c.makefile("rb")
        c.sendall(b"220 capture ESMTP\r\n")
        while True:
            line = f.readline()
            if not line:
                break
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                got["helo"] = line[5:].strip().decode()
                c.sendall(b"250 capture\r\n")
            elif verb == b"DATA":
                c.sendall(b"354 go\r\n")
                body = []
                while True:
                    l = f.readline()
                    if l in (b".\r\n", b".\n", b""):
                        break
                    if l.startswith(b"."):
                        l = l[1:]
                    body.append(l.rstrip(b"\r\n") + b"\r\n")
                got["data"] = b"".join(body)
                c.sendall(b"250 ok\r\n")
            elif verb == b"QUIT":
                c.sendall(b"221 bye\r\n")
                break
            else:
                c.sendall(b"250 ok\r\n")
        c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    smtp_source = "smtp-source"
    for p in ("/usr/sbin/smtp-source", "/usr/bin/smtp-source"):
        if os.path.exists(p):
            smtp_source = p
    subprocess.run(
        [smtp_source, "-m", "1", "-l", str(size), "-f", SENDER, "-t", RCPT,
         f"127.0.0.1:{port}"],
        check=True, stdout=subprocess.DEVNULL, timeout=30)
    t.join(30)
    if "data" not in got:
        sys.exit("capture: smtp-source sent no message")
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    received = (
        f"Received: from {got.get('helo', 'localhost')} ([127.0.0.1])\r\n"
        f"\tby pillarbox.bench.test (Pillarbox) with SMTP id 0123456789abcdef\r\n"
        f"\tfor <{RCPT}>;\r\n\t{date}\r\n").encode()
    with open(out, "wb") as f:
        f.write(received + got["data"])


def read_all(s):
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def clamd_scan(addr, msg):
    s = socket.create_connection(addr, timeout=60)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        out = [b"zINSTREAM\0"]
        for i in range(0, len(msg), 65536):
            chunk = msg[i:i + 65536]
            out.append(len(chunk).to_bytes(4, "big"))
            out.append(chunk)
        out.append(b"\0\0\0\0")
        s.sendall(b"".join(out))
        reply = b""
        while not reply.endswith(b"\0"):
            b = s.recv(4096)
            if not b:
                break
            reply += b
        reply = reply.rstrip(b"\0").decode(errors="replace")
        return reply == "stream: OK", reply
    finally:
        s.close()


def rspamd_check(addr, msg, helo, n):
    s = socket.create_connection(addr, timeout=60)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = (
            f"POST /checkv2 HTTP/1.1\r\nHost: {addr[0]}:{addr[1]}\r\n"
            f"Content-Length: {len(msg)}\r\nIP: 127.0.0.1\r\nHelo: {helo}\r\n"
            f"From: {SENDER}\r\nRcpt: {RCPT}\r\nQueue-Id: bench{n:08x}\r\n"
            "Connection: close\r\n\r\n").encode()
        s.sendall(head + msg)
        resp = read_all(s)
        status = resp.split(b" ", 2)[1] if resp.startswith(b"HTTP/") else b"?"
        body = resp.split(b"\r\n\r\n", 1)[-1]
        if status != b"200":
            return False, f"HTTP {status.decode(errors='replace')}"
        try:
            v = json.loads(body)
            verdict = f"{v.get('action')} {v.get('score', 0):.2f}"
            # What Pillarbox would refuse (reject, soft reject, greylist) is an error.
            return v.get("action") in ("no action", "add header", "rewrite subject"), verdict
        except ValueError:
            # Chunked or otherwise unexpected: report it, do not guess.
            return False, "unparsed reply"
    finally:
        s.close()


def hostport(s):
    h, p = s.rsplit(":", 1)
    return (h, int(p))


def drive(kind, addrs, msg_path, messages, sessions):
    with open(msg_path, "rb") as f:
        msg = f.read()
    helo = "localhost"
    for line in msg.split(b"\r\n", 1)[:1]:
        parts = line.split()
        if len(parts) >= 3 and parts[0] == b"Received:":
            helo = parts[2].decode()
    addrs = [hostport(a) for a in addrs.split(",")]
    lock = threading.Lock()
    state = {"next": 0, "errors": 0, "verdict": None}

    def one(n):
        if kind == "clamd":
            return clamd_scan(addrs[0], msg)
        if kind == "rspamd":
            return rspamd_check(addrs[-1], msg, helo, n)
        ok1, v1 = clamd_scan(addrs[0], msg)
        ok2, v2 = rspamd_check(addrs[1], msg, helo, n)
        return ok1 and ok2, f"{v1}; {v2}"

    def worker():
        while True:
            with lock:
                n = state["next"]
                if n >= messages:
                    return
                state["next"] = n + 1
            try:
                ok, verdict = one(n)
            except OSError as e:
                ok, verdict = False, f"error: {e}"
            with lock:
                if not ok:
                    state["errors"] += 1
                if state["verdict"] is None or not ok:
                    state["verdict"] = verdict

    # Warm up (connections, first-message caches) outside the timing.
    one(0)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    print(f"rate={messages / elapsed:.1f} errors={state['errors']} "
          f"cpu_ms={1000 * cpu / messages:.3f} verdict={state['verdict']}")


def main():
    a = sys.argv[1:]
    if a and a[0] == "capture" and len(a) == 3:
        capture(int(a[1]), a[2])
    elif a and a[0] in ("clamd", "rspamd", "both") and len(a) == 5:
        drive(a[0], a[1], a[2], int(a[3]), int(a[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
