"""A small raw IMAP client for the end-to-end tests: sends exactly the bytes a test
writes (synchronizing or LITERAL+ literals, literal8), reads responses with their
literals, and can switch to TLS (implicit or STARTTLS) and COMPRESS=DEFLATE. Python's
imaplib hides too much (no ENABLE in the selected state, no literal control) for
checking responses at the level the RFCs fix.
"""

import re
import socket
import ssl
import zlib


class Lit:
    """A literal argument: {n} (synchronizing), {n+} (LITERAL+) or ~{n} (literal8)."""

    def __init__(self, data, sync=True, binary=False):
        self.data = data if isinstance(data, bytes) else data.encode()
        self.sync = sync
        self.binary = binary


class Result:
    """The untagged responses of a command and its tagged completion."""

    def __init__(self, untagged, tagged, continuations):
        self.untagged = untagged
        self.tagged = tagged
        self.continuations = continuations

    @property
    def status(self):
        return self.tagged.split(b" ", 2)[1].decode()

    @property
    def ok(self):
        return self.status == "OK"

    @property
    def code(self):
        m = re.match(rb"\S+ \S+ \[([^\]]*)\]", self.tagged)
        return m.group(1).decode(errors="replace") if m else None

    def lines(self, prefix):
        """Untagged responses starting with `* prefix` (prefix without the star)."""
        p = b"* " + (prefix if isinstance(prefix, bytes) else prefix.encode())
        if not p.endswith(b" "):
            return [u for u in self.untagged if u == p or u.startswith(p + b" ")]
        return [u for u in self.untagged if u.startswith(p)]

    def one(self, prefix):
        found = self.lines(prefix)
        assert len(found) == 1, (prefix, self.untagged, self.tagged)
        return found[0]

    def __repr__(self):
        return "Result(%r, %r)" % (self.untagged, self.tagged)


class Conn:
    def __init__(self, host, port, source=None, tls=False, cafile=None, timeout=15):
        addr = (source, 0) if source else None
        self.sock = socket.create_connection((host, port), timeout=timeout, source_address=addr)
        self.host = host
        if tls:
            self._wrap(cafile)
        self.buf = b""
        self.n = 0
        self.deflate = None
        self.inflate = None
        self.greeting = self.read()

    def _wrap(self, cafile):
        ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()
        ctx.check_hostname = False
        if not cafile:
            ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock, server_hostname=self.host)

    # -- bytes on the wire --------------------------------------------------------------
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self.deflate:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed; buffered %r" % self.buf[:200])
        if self.inflate:
            chunk = self.inflate.decompress(chunk)
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _bytes(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read(self):
        """One response, literals inlined (as `{n}\\r\\n` followed by the octets)."""
        line = self._line()
        out = line
        while True:
            m = re.search(rb"~?\{(\d+)\}$", line)
            if not m:
                return out
            data = self._bytes(int(m.group(1)))
            line = self._line()
            out += b"\r\n" + data + line

    def closed(self):
        """True when the server has closed the connection (after reading what is left)."""
        try:
            while True:
                self._fill()
        except (EOFError, ConnectionResetError):
            return True
        except socket.timeout:
            return False

    # -- commands ----------------------------------------------------------------------
    def tag(self):
        self.n += 1
        return "t%d" % self.n

    def cmd(self, *parts, tag=None):
        """Sends a command made of text and `Lit` parts; returns its `Result`."""
        tag = tag or self.tag()
        out = tag.encode() + b" "
        continuations = []
        for p in parts:
            if isinstance(p, Lit):
                out += b"%s{%d%s}\r\n" % (b"~" if p.binary else b"", len(p.data), b"" if p.sync else b"+")
                if p.sync:
                    self.send(out)
                    out = b""
                    resp = self.read()
                    if not resp.startswith(b"+"):
                        untagged = []
                        while not resp.startswith(tag.encode() + b" "):
                            untagged.append(resp)
                            resp = self.read()
                        return Result(untagged, resp, continuations)
                    continuations.append(resp)
                out += p.data
            else:
                out += p.encode() if isinstance(p, str) else p
        self.send(out + b"\r\n")
        return self.wait(tag, continuations)

    def wait(self, tag, continuations=None):
        untagged = []
        while True:
            resp = self.read()
            if resp.startswith(tag.encode() + b" "):
                return Result(untagged, resp, continuations or [])
            untagged.append(resp)

    def login(self, user="bob@example.test", password="pw"):
        r = self.cmd('LOGIN "%s" "%s"' % (user, password))
        assert r.ok, r
        return r

    def starttls(self, cafile=None):
        r = self.cmd("STARTTLS")
        assert r.ok, r
        assert self.buf == b"", self.buf
        self._wrap(cafile)
        return r

    def compress(self):
        r = self.cmd("COMPRESS DEFLATE")
        assert r.ok, r
        self.deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)
        if self.buf:
            self.buf = self.inflate.decompress(self.buf)
        return r


def connect(port, **kw):
    return Conn("127.0.0.1", port, **kw)


def fetch_data(result, item):
    """The literal value of `item` (e.g. b'BODY[TEXT]') in each FETCH response, by
    sequence number."""
    out = {}
    pat = re.compile(re.escape(item) + rb"(?:<\d+>)? ~?\{(\d+)\}\r\n", re.S)
    for u in result.untagged:
        m = re.match(rb"\* (\d+) FETCH", u)
        if not m:
            continue
        f = pat.search(u)
        if f:
            start = f.end()
            out[int(m.group(1))] = u[start:start + int(f.group(1))]
    return out
