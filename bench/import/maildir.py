#!/usr/bin/env python3
"""bench/import/maildir.py: writes a Maildir++ tree of realistic messages for bench/import.

Usage: maildir.py ROOT MESSAGES [GAPS]

Writes MESSAGES + GAPS messages (GAPS default: 1% of MESSAGES) into ROOT (INBOX) and
its Maildir++ folders .Sent, .Drafts, .Trash, .Archive.2025 and .Lists.dev, named as
Dovecot names them (`<time>.M<usec>P<pid>.<host>,S=<size>,W=<crlf size>:2,<flags>`),
LF line endings, mtime = the message's date (what Dovecot and Pillarbox take as the
internal date). Most files are in cur/ with flags in their names (`S`, `R`, `F`, `P`,
`D`, `T`) and keyword letters from a `dovecot-keywords` written beside them; a few
unseen ones are in new/. Sizes are mixed around 2-20 KiB: plain text, a third
multipart/alternative (text + HTML), one in ten with a base64 attachment. The GAPS
messages carry `X-Bench-Gap: yes`: the caller expunges them once Dovecot has given
out UIDs, so the UIDs have holes as in a mailbox that has lived.

Deterministic (fixed seed): the same arguments give the same bytes. Standard library
only. Prints the number of messages per folder and the total bytes.
"""
import base64
import os
import random
import sys
import time

WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there been one all we their has would when "
    "if so what up out more about into them can only other new some could time these two "
    "may then do first any my now such like our over man me even most made after also "
    "did many before must through back years where much your way well down should because "
    "each just those people how too little state good very make world still own see men "
    "work long get here between both life being under never day same another know while "
    "last might us great old year off come since against go came right used take three "
    "meeting invoice release deploy server mailbox migration schedule budget review draft "
    "quarterly report customer ticket backup network storage upgrade security patch"
).split()
FIRST = "alice bob carol dave erin frank grace heidi ivan judy mallory nora oscar peggy rupert sybil trent victor walter".split()
DOMAINS = "example.com example.org example.net mail.example.co.uk lists.example.org corp.example".split()
KEYWORDS = ["$Label1", "Work", "$NotJunk", "Later"]

# Folder directory (relative to ROOT), share of the messages, how files are flagged.
FOLDERS = [
    ("", 0.50, "inbox"),
    (".Sent", 0.15, "sent"),
    (".Archive.2025", 0.18, "archive"),
    (".Lists.dev", 0.10, "lists"),
    (".Trash", 0.05, "trash"),
    (".Drafts", 0.02, "drafts"),
]


def sentence(rng, n):
    w = [rng.choice(WORDS) for _ in range(n)]
    w[0] = w[0].capitalize()
    return " ".join(w) + "."


def paragraph(rng, target):
    out, size = [], 0
    while size < target:
        s = sentence(rng, rng.randint(6, 18))
        out.append(s)
        size += len(s) + 1
    # Wrap at ~72 columns like a mail client.
    lines, line = [], ""
    for word in " ".join(out).split(" "):
        if len(line) + len(word) + 1 > 72:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


def body_text(rng, target):
    parts, size = [], 0
    while size < target:
        p = paragraph(rng, rng.randint(200, 900))
        parts.append(p)
        size += len(p) + 2
    return "\n\n".join(parts)


def address(rng):
    return f"{rng.choice(FIRST)}.{rng.choice(FIRST)}@{rng.choice(DOMAINS)}"


def message(rng, i, kind, date, gap):
    target = int(min(20480, max(2048, rng.lognormvariate(8.8, 0.6))))  # median ~6.6 KiB
    frm = "me@bench.test" if kind in ("sent", "drafts") else address(rng)
    to = address(rng) if kind in ("sent", "drafts") else "me@bench.test"
    subject = sentence(rng, rng.randint(3, 9))[:-1]
    if kind == "lists":
        subject = "[dev] " + subject
    mid = f"<{date}.{i}.{rng.getrandbits(40):x}@{frm.split('@')[1]}>"
    datestr = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(date))
    h = [
        f"Return-Path: <{frm}>",
        f"Delivered-To: me@bench.test",
        f"Received: from mx.{frm.split('@')[1]} (mx.{frm.split('@')[1]} [192.0.2.{i % 250 + 1}])\n"
        f"\tby mail.bench.test with ESMTPS id {rng.getrandbits(48):012X}\n\tfor <me@bench.test>; {datestr}",
        f"Received: from [198.51.100.{i % 250 + 1}] by mx.{frm.split('@')[1]} with ESMTPSA;\n\t{datestr}",
        f"Date: {datestr}",
        f"From: {frm.split('@')[0].replace('.', ' ').title()} <{frm}>",
        f"To: <{to}>",
        f"Subject: {subject}",
        f"Message-ID: {mid}",
        "MIME-Version: 1.0",
    ]
    if rng.random() < 0.3:
        h.insert(5, f"Cc: {address(rng)}, {address(rng)}")
    if kind == "lists":
        h += ["List-Id: Developers <dev.lists.example.org>", "Precedence: list",
              "List-Unsubscribe: <mailto:dev-leave@lists.example.org>"]
    if gap:
        h.append("X-Bench-Gap: yes")
    shape = rng.random()
    if shape < 0.1 and target > 6000:
        # Text plus an attachment (base64 of random bytes, 76-column lines).
        text = body_text(rng, target // 4)
        raw = rng.randbytes(int((target - len(text) - 600) * 3 / 4))
        att = base64.encodebytes(raw).decode().rstrip("\n")
        b = f"b{rng.getrandbits(64):016x}"
        h.append(f'Content-Type: multipart/mixed; boundary="{b}"')
        body = (f"--{b}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{text}\n\n"
                f"--{b}\nContent-Type: application/pdf; name=\"report-{i}.pdf\"\n"
                f"Content-Disposition: attachment; filename=\"report-{i}.pdf\"\n"
                f"Content-Transfer-Encoding: base64\n\n{att}\n--{b}--\n")
    elif shape < 0.4:
        text = body_text(rng, target * 2 // 5)
        html = "<html><body>\n" + "\n".join(f"<p>{p}</p>" for p in text.split("\n\n")) + "\n</body></html>"
        b = f"a{rng.getrandbits(64):016x}"
        h.append(f'Content-Type: multipart/alternative; boundary="{b}"')
        body = (f"--{b}\nContent-Type: text/plain; charset=utf-8\n\n{text}\n\n"
                f"--{b}\nContent-Type: text/html; charset=utf-8\n\n{html}\n--{b}--\n")
    else:
        h.append("Content-Type: text/plain; charset=utf-8")
        h.append("Content-Transfer-Encoding: 8bit")
        body = body_text(rng, target - 900) + "\n"
    return ("\n".join(h) + "\n\n" + body).encode()


def flags_for(rng, kind):
    """(in new/, the flag letters: system flags sorted, then keyword letters)."""
    f = set()
    if kind == "inbox":
        if rng.random() < 0.04:
            return True, ""
        if rng.random() < 0.85:
            f.add("S")
        if rng.random() < 0.12:
            f.add("R")
        if rng.random() < 0.05:
            f.add("F")
        if rng.random() < 0.03:
            f.add("P")
    elif kind in ("sent", "archive", "lists"):
        f.add("S")
        if kind == "archive" and rng.random() < 0.1:
            f.add("R")
        if kind == "lists" and rng.random() < 0.08:
            f.discard("S")
    elif kind == "trash":
        f.update("ST")
    elif kind == "drafts":
        f.update("DS")
    kw = ""
    if kind != "drafts" and rng.random() < 0.07:
        kw = "".join(sorted(set(rng.choice("abcd") for _ in range(rng.randint(1, 2)))))
    return False, "".join(sorted(f)) + kw


def main():
    root = sys.argv[1]
    total = int(sys.argv[2])
    gaps = int(sys.argv[3]) if len(sys.argv) > 3 else total // 100
    rng = random.Random(20261203)
    counts = {}
    n = total + gaps
    gap_at = set(rng.sample(range(n), gaps))
    start = 1700000000
    span = 365 * 86400
    plan = []
    for i in range(n):
        r, acc = rng.random(), 0.0
        for d, share, kind in FOLDERS:
            acc += share
            if r < acc:
                break
        plan.append((d, kind))
    nbytes = 0
    seen_dirs = set()
    for i, (d, kind) in enumerate(plan):
        folder = os.path.join(root, d)
        if folder not in seen_dirs:
            for s in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(folder, s), exist_ok=True)
            with open(os.path.join(folder, "dovecot-keywords"), "w") as k:
                k.write("".join(f"{j} {w}\n" for j, w in enumerate(KEYWORDS)))
            if d:
                open(os.path.join(folder, "maildirfolder"), "w").close()
            seen_dirs.add(folder)
        date = start + i * span // n + rng.randint(0, 600)
        data = message(rng, i, kind, date, i in gap_at)
        new, letters = flags_for(rng, kind)
        crlf = len(data) + data.count(b"\n")
        base = f"{date}.M{rng.randint(0, 999999)}P{rng.randint(1000, 60000)}.mail.bench.test,S={len(data)},W={crlf}"
        name = base if new else f"{base}:2,{letters}"
        path = os.path.join(folder, "new" if new else "cur", name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (date, date))
        nbytes += len(data)
        label = d.lstrip(".") or "INBOX"
        counts[label] = counts.get(label, 0) + 1
    print(" ".join(f"{k}={v}" for k, v in counts.items()), f"bytes={nbytes}", f"gaps={gaps}")


if __name__ == "__main__":
    main()
