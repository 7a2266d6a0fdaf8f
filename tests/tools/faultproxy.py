#!/usr/bin/env python3
"""faultproxy: an HTTP/1.1 reverse proxy on 127.0.0.1 that breaks requests on purpose, for the
remote-vault tests (a server that fails, stalls or drops requests must give mapvault a clear exit
2 and lose nothing). Standard library only (asyncio); tests/it/faultproxy.rs starts it.

    python3 tests/tools/faultproxy.py UPSTREAM MODE [--port P] [--seed S] [--methods GET,PUT]

UPSTREAM is `http://127.0.0.1:PORT` (moto). MODE, chosen at start:
    pass            forward every request
    fail-after:N    forward the first N requests, answer every later one `503 Service
                    Unavailable` (an S3 XML error body, `ServiceUnavailable`) without forwarding
    fail-rate:P     answer each request 503 with probability P (0..1), drawn from a
                    random.Random(--seed, default 0), so a run is repeatable
    stall-after:N   forward the first N; read every later request whole, then never answer (the
                    connection stays open until the client gives up)
    reset-after:N   forward the first N; for every later one: a request with a body is cut in the
                    middle of its body (half of it read, then a TCP reset; upstream never sees it);
                    a request without one (GET, HEAD, DELETE) is forwarded and its response cut
                    in the middle of its body (status line, headers and half the body sent, then
                    a reset; an empty body is cut right after the headers)

`--methods` counts and breaks only requests with those methods; the others always pass (e.g.
`--methods PUT,POST` lets every read through and fails uploads). "Request number" is counted
over all connections in arrival order, starting at 1.

Output: `listening on 127.0.0.1:PORT` first on stdout once ready (`--port 0`, the default, lets the
kernel pick), then one line per request: `N METHOD PATH -> ACTION` (ACTION: `pass STATUS`,
`fail 503`, `stall`, `reset-request`, `reset-response`, `skip STATUS` for an uncounted method),
flushed at once.

Messages are read and sent whole (bodies held in memory: test objects are small), chunked bodies
de-chunked and re-sent with a Content-Length, and `Expect: 100-continue` answered by the proxy
itself. Each request gets a fresh upstream connection (moto closes after every response); the
client side keeps its connection alive unless it asks otherwise. The proxy exits on SIGTERM or
SIGINT, or when its stdin closes (so it never outlives the test that started it).
"""

import argparse
import asyncio
import os
import random
import signal
import socket
import struct
import sys
import threading

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "expect",
}

FAIL_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>ServiceUnavailable</Code>"
    b"<Message>faultproxy: injected failure</Message></Error>"
)


class Closed(Exception):
    """The peer closed the connection between messages."""


async def read_head(reader):
    """Start line and headers (names lower-cased, order kept); Closed on a clean EOF."""
    line = await reader.readline()
    if not line:
        raise Closed()
    start = line.decode("latin-1").rstrip("\r\n")
    headers = []
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("EOF inside the headers")
        line = line.decode("latin-1").rstrip("\r\n")
        if not line:
            break
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return start, headers


def header(headers, name):
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


async def read_chunked(reader):
    body = bytearray()
    while True:
        size_line = await reader.readline()
        if not size_line:
            raise ConnectionError("EOF inside a chunked body")
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            # Trailers, up to the blank line.
            while (await reader.readline()).strip():
                pass
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)


async def read_body(reader, headers, until_eof):
    """The whole body: chunked, Content-Length, or (responses only) up to EOF."""
    if (header(headers, "transfer-encoding") or "").lower().endswith("chunked"):
        return await read_chunked(reader)
    length = header(headers, "content-length")
    if length is not None:
        return await reader.readexactly(int(length))
    if until_eof:
        return await reader.read()
    return b""


def serialise(start, headers, body, keep_alive):
    out = [start]
    for k, v in headers:
        if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
            out.append(f"{k}: {v}")
    out.append(f"Content-Length: {len(body)}")
    out.append("Connection: keep-alive" if keep_alive else "Connection: close")
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")


def reset(writer):
    """Close with a TCP RST (SO_LINGER 0), not a FIN: the peer sees 'connection reset'."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class Proxy:
    def __init__(self, upstream, mode, arg, seed, methods):
        host_port = upstream.split("://", 1)[-1].rstrip("/")
        host, _, port = host_port.partition(":")
        self.up_host, self.up_port = host, int(port or 80)
        self.mode, self.arg = mode, arg
        self.rng = random.Random(seed)
        self.methods = methods
        self.count = 0

    def log(self, msg):
        sys.stdout.write(msg + "\n")
        sys.stdout.flush()

    def decide(self, method):
        """(number or None, action) for the next request, in arrival order."""
        if self.methods and method not in self.methods:
            return None, "skip"
        self.count += 1
        n = self.count
        if self.mode == "pass":
            return n, "pass"
        if self.mode == "fail-rate":
            return n, "fail" if self.rng.random() < self.arg else "pass"
        if n <= self.arg:
            return n, "pass"
        return n, {"fail-after": "fail", "stall-after": "stall", "reset-after": "reset"}[self.mode]

    async def forward(self, start, headers, body):
        """Send one request upstream on a fresh connection; its response, whole."""
        method = start.split(" ", 1)[0]
        reader, writer = await asyncio.open_connection(self.up_host, self.up_port)
        try:
            writer.write(serialise(start, headers, body, keep_alive=False) + body)
            await writer.drain()
            while True:
                status_line, resp_headers = await read_head(reader)
                status = int(status_line.split(" ", 2)[1])
                if status >= 200 or status == 101:
                    break
            if method == "HEAD" or status in (204, 304):
                resp_body = b""
            else:
                resp_body = await read_body(reader, resp_headers, until_eof=True)
            return status_line, status, resp_headers, resp_body
        finally:
            writer.close()

    async def client(self, reader, writer):
        try:
            while True:
                try:
                    start, headers = await read_head(reader)
                except Closed:
                    return
                method, path = (start.split(" ") + ["", ""])[:2]
                keep_alive = (header(headers, "connection") or "").lower() != "close"
                n, action = self.decide(method)
                label = f"{n if n is not None else '-'} {method} {path}"
                if (header(headers, "expect") or "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    await writer.drain()
                if action == "reset":
                    length = int(header(headers, "content-length") or 0)
                    chunked = (header(headers, "transfer-encoding") or "").lower().endswith(
                        "chunked"
                    )
                    if length >= 2 or chunked:
                        if chunked:
                            await reader.readline()  # the first chunk's size line
                        else:
                            await reader.readexactly(length // 2)
                        self.log(f"{label} -> reset-request")
                        reset(writer)
                        return
                body = await read_body(reader, headers, until_eof=False)
                if action == "fail":
                    self.log(f"{label} -> fail 503")
                    writer.write(
                        serialise(
                            "HTTP/1.1 503 Service Unavailable",
                            [("Content-Type", "application/xml")],
                            FAIL_BODY,
                            keep_alive,
                        )
                        + FAIL_BODY
                    )
                    await writer.drain()
                elif action == "stall":
                    self.log(f"{label} -> stall")
                    # Never answer; wait for the client to give up (EOF or reset).
                    while await reader.read(65536):
                        pass
                    return
                else:
                    status_line, status, resp_headers, resp_body = await self.forward(
                        start, headers, body
                    )
                    if action == "reset":
                        self.log(f"{label} -> reset-response")
                        head = serialise(status_line, resp_headers, resp_body, keep_alive)
                        writer.write(head + resp_body[: len(resp_body) // 2])
                        await writer.drain()
                        reset(writer)
                        return
                    self.log(f"{label} -> {'skip' if n is None else 'pass'} {status}")
                    if method == "HEAD":
                        # A HEAD answer keeps the upstream's Content-Length and has no body.
                        writer.write(serialise_no_body(status_line, resp_headers, keep_alive))
                    else:
                        writer.write(
                            serialise(status_line, resp_headers, resp_body, keep_alive) + resp_body
                        )
                    await writer.drain()
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            if not writer.is_closing():
                writer.close()


def serialise_no_body(start, headers, keep_alive):
    """A HEAD answer's head: kept as it is (its Content-Length included) apart from hop-by-hop
    headers."""
    out = [start]
    for k, v in headers:
        if k.lower() not in HOP_BY_HOP:
            out.append(f"{k}: {v}")
    out.append("Connection: keep-alive" if keep_alive else "Connection: close")
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")


def parse_mode(text):
    name, _, arg = text.partition(":")
    if name == "pass" and not arg:
        return name, 0
    if name == "fail-rate":
        p = float(arg)
        if not 0 <= p <= 1:
            raise ValueError("fail-rate wants a probability in 0..1")
        return name, p
    if name in ("fail-after", "stall-after", "reset-after"):
        return name, int(arg)
    raise ValueError(f"unknown mode {text!r}")


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("upstream")
    ap.add_argument("mode")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", default="")
    a = ap.parse_args()
    try:
        mode, arg = parse_mode(a.mode)
    except ValueError as e:
        ap.error(str(e))
    methods = {m.strip().upper() for m in a.methods.split(",") if m.strip()}
    proxy = Proxy(a.upstream, mode, arg, a.seed, methods)
    server = await asyncio.start_server(proxy.client, "127.0.0.1", a.port)
    port = server.sockets[0].getsockname()[1]
    proxy.log(f"listening on 127.0.0.1:{port}")

    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)

    # Stdin closing (the test process gone) ends the proxy too; a daemon thread, so a blocked
    # read never holds the exit.
    def watch_stdin():
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(done.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    await done.wait()
    # Stalled connections are never answered: exit without waiting for them to close.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
