#!/usr/bin/env python3
"""Serves one directory over HTTP on 127.0.0.1 for the http unit test.

Usage: http_server.py DIR

Besides the files, two paths exercise clients:
  /slow.bin     2,000,000 bytes of 'x' sent in four parts half a second
                apart (for progress reporting);
  /partial.bin  announces 1000 bytes, sends 500 and closes (for
                interrupted transfers).

Binds 127.0.0.1 on a free port and prints the port number as its first
line of output, so the caller can synchronise on it. Exits on SIGTERM, and
also when its standard input reaches end of file (unless stdin is a
terminal), so a test that dies never leaves the server behind.
"""
import functools
import http.server
import os
import sys
import threading
import time


class TestHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files plus the two special paths, without request logging."""

    def do_GET(self):
        if self.path == "/slow.bin":
            self.send_body(2000000, parts=4, pause=0.5)
        elif self.path == "/partial.bin":
            self.send_body(1000, parts=2, pause=0, stop_after=1)
        else:
            super().do_GET()

    def send_body(self, size, parts, pause, stop_after=None):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        part = b"x" * (size // parts)
        for i in range(parts if stop_after is None else stop_after):
            if i > 0:
                time.sleep(pause)
            self.wfile.write(part)
            self.wfile.flush()
        self.close_connection = True

    def log_message(self, format, *args):  # noqa: A002 (base class name)
        pass


def exit_on_stdin_eof():
    sys.stdin.buffer.read()
    os._exit(0)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: http_server.py DIR")
    handler = functools.partial(TestHandler, directory=sys.argv[1])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    print(server.server_address[1], flush=True)
    if not sys.stdin.isatty():
        threading.Thread(target=exit_on_stdin_eof, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
