#!/usr/bin/env python3
"""azctl: the tests' own Azure Blob client, for looking at and planting blobs in Azurite
independently of mapvault's object_store code. Standard library only (Shared Key signing of the
Blob REST API, path-style URLs as Azurite serves them, its well-known account and key):

    python3 tests/tools/azctl.py ENDPOINT create-container CONTAINER
    ... ENDPOINT list CONTAINER PREFIX       -> JSON [{"key", "size"}...], every page, by key
    ... ENDPOINT get CONTAINER KEY           -> the blob's bytes on stdout
    ... ENDPOINT head CONTAINER KEY          -> JSON {"size", "etag", "last_modified" (Unix s)}
    ... ENDPOINT put CONTAINER KEY [--if-none-match]   (body on stdin; a block blob)
    ... ENDPOINT delete CONTAINER KEY

ENDPOINT is Azurite's blob endpoint, `http://127.0.0.1:PORT`. Exit codes: 0 done; 3 no such blob
or container; 4 a precondition failed (`put --if-none-match` over an existing blob); 2 any other
error, with the status and Azurite's message on stderr.
"""

import base64
import email.utils
import hashlib
import hmac
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

ACCOUNT = "devstoreaccount1"
KEY = base64.b64decode(
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
VERSION = "2021-08-06"


class Failed(Exception):
    def __init__(self, status, body):
        super().__init__(f"{status}: {body}")
        self.status = status


def request(endpoint, method, path, query=None, body=b"", headers=None):
    """One signed request; the response body (or Failed with the status)."""
    query = query or {}
    headers = dict(headers or {})
    headers["x-ms-date"] = email.utils.formatdate(usegmt=True)
    headers["x-ms-version"] = VERSION
    if method == "PUT":
        # Set (and signed) here: urllib would add a form Content-Type of its own.
        headers["Content-Length"] = str(len(body))
        headers["Content-Type"] = "application/octet-stream"
    full_path = f"/{ACCOUNT}{path}"
    canon_headers = "".join(
        f"{k.lower()}:{v.strip()}\n"
        for k, v in sorted(headers.items(), key=lambda kv: kv[0].lower())
        if k.lower().startswith("x-ms-")
    )
    canon_resource = f"/{ACCOUNT}{urllib.parse.quote(full_path)}" + "".join(
        f"\n{k.lower()}:{v}" for k, v in sorted(query.items())
    )
    length = headers.get("Content-Length", "")
    string_to_sign = "\n".join(
        [
            method,
            "",  # Content-Encoding
            "",  # Content-Language
            "" if length == "0" else length,
            "",  # Content-MD5
            headers.get("Content-Type", ""),
            "",  # Date (x-ms-date is used)
            "",  # If-Modified-Since
            "",  # If-Match
            headers.get("If-None-Match", ""),
            "",  # If-Unmodified-Since
            "",  # Range
            canon_headers + canon_resource,
        ]
    )
    sig = base64.b64encode(
        hmac.new(KEY, string_to_sign.encode(), hashlib.sha256).digest()
    ).decode()
    headers["Authorization"] = f"SharedKey {ACCOUNT}:{sig}"
    url = endpoint.rstrip("/") + urllib.parse.quote(full_path)
    if query:
        url += "?" + urllib.parse.urlencode(query)
    req = urllib.request.Request(
        url, data=body if method == "PUT" else None, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.read(), resp.headers
    except urllib.error.HTTPError as e:
        raise Failed(e.code, e.read().decode("utf-8", "replace")) from None


def list_blobs(endpoint, container, prefix):
    out, marker = [], ""
    while True:
        q = {"restype": "container", "comp": "list", "prefix": prefix}
        if marker:
            q["marker"] = marker
        body, _ = request(endpoint, "GET", f"/{container}", q)
        root = ET.fromstring(body)
        for b in root.iter("Blob"):
            out.append(
                {
                    "key": b.findtext("Name"),
                    "size": int(b.findtext("Properties/Content-Length") or 0),
                }
            )
        marker = root.findtext("NextMarker") or ""
        if not marker:
            return sorted(out, key=lambda o: o["key"])


def main(argv):
    endpoint, cmd, container = argv[1], argv[2], argv[3]
    rest = argv[4:]
    try:
        if cmd == "create-container":
            request(endpoint, "PUT", f"/{container}", {"restype": "container"})
        elif cmd == "list":
            print(json.dumps(list_blobs(endpoint, container, rest[0] if rest else "")))
        elif cmd == "get":
            body, _ = request(endpoint, "GET", f"/{container}/{rest[0]}")
            sys.stdout.buffer.write(body)
        elif cmd == "head":
            _, h = request(endpoint, "HEAD", f"/{container}/{rest[0]}")
            modified = email.utils.parsedate_to_datetime(h["Last-Modified"]).timestamp()
            print(
                json.dumps(
                    {
                        "size": int(h["Content-Length"]),
                        "etag": h["ETag"],
                        "last_modified": modified,
                    }
                )
            )
        elif cmd == "put":
            headers = {"x-ms-blob-type": "BlockBlob"}
            if "--if-none-match" in rest:
                headers["If-None-Match"] = "*"
            body = sys.stdin.buffer.read()
            request(endpoint, "PUT", f"/{container}/{rest[0]}", body=body, headers=headers)
        elif cmd == "delete":
            request(endpoint, "DELETE", f"/{container}/{rest[0]}")
        else:
            print(f"azctl: unknown command {cmd!r}", file=sys.stderr)
            return 2
    except Failed as e:
        if e.status == 404:
            return 3
        if e.status in (409, 412):
            return 4
        print(f"azctl {cmd}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
