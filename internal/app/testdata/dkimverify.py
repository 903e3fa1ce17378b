#!/usr/bin/python3
"""Verifies every DKIM signature of the message on stdin with Debian's
python3-dkim, the DNS answers served from the JSON object given as the
first argument ({"selector._domainkey.domain": "v=DKIM1; ..."}).

Prints one line per signature: "<selector> <algorithm> pass|fail", and
exits 0 only when there is at least one signature and all pass."""
import json
import sys

import dkim

records = json.loads(sys.argv[1])


def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    return records.get(name.rstrip("."), "").encode()


msg = sys.stdin.buffer.read()
d = dkim.DKIM(msg)
sigs = [v for k, v in dkim.rfc822_parse(msg)[0] if k.lower() == b"dkim-signature"]
ok = len(sigs) > 0
for i, sig in enumerate(sigs):
    tags = dkim.util.parse_tag_value(sig)
    try:
        good = d.verify(idx=i, dnsfunc=dnsfunc)
    except dkim.ValidationError as e:
        print("error:", e, file=sys.stderr)
        good = False
    print(tags[b"s"].decode(), tags[b"a"].decode(), "pass" if good else "fail")
    ok = ok and good
sys.exit(0 if ok else 1)
