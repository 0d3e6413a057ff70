#!/usr/bin/python3
"""Serve Keystone's public WSGI application for tests, on loopback only.

Used by test/support/keystone.ts. Not for production.

Protocol on stdout (one line each, flushed):
  PORT <n>   as soon as the listening socket is bound (before the slow import)
  READY      once the application is initialised and requests are served
Keystone's own log goes to the log_file named in its config; this script's
request log and tracebacks go to stderr.

With --wait-for-go the script imports Keystone, then waits for a line "go" on
stdin before it builds the application (so the database can be migrated and
bootstrapped meanwhile). With --exit-on-eof it exits when stdin reaches EOF,
so a crashed or killed test runner never leaves a Keystone behind.
"""

import argparse
import os
import socketserver
import sys
import threading
from wsgiref import simple_server


class ThreadingWSGIServer(socketserver.ThreadingMixIn,
                          simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class RequestHandler(simple_server.WSGIRequestHandler):
    def address_string(self):
        # No reverse DNS lookups.
        return self.client_address[0]


def serialized(app):
    """Run one Keystone request at a time (SQLite, GIL: no loss here).

    Sockets are still read and written by one thread per connection, so a
    slow or idle client cannot block the others.
    """
    lock = threading.Lock()

    def wrapper(environ, start_response):
        with lock:
            result = app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    return wrapper


def use_wal(db_path):
    """Keystone (22, SQLite) leaves a read transaction open after some
    requests (e.g. POST /v3/projects); with the default rollback journal the
    next write then fails with "database is locked" after 5 s. In WAL mode
    readers never block the writer. The mode is stored in the database file.
    """
    import sqlite3
    conn = sqlite3.connect(db_path)
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    finally:
        conn.close()
    if mode != "wal":
        raise SystemExit("could not switch %s to WAL (got %s)" % (db_path, mode))


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--wait-for-go", action="store_true")
    parser.add_argument("--exit-on-eof", action="store_true")
    parser.add_argument("--sqlite-db",
                        help="switch this SQLite database to WAL journaling "
                             "before serving")
    args = parser.parse_args()

    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error("this test server binds to loopback only")

    server = ThreadingWSGIServer((args.host, args.port), RequestHandler)
    say("PORT %d" % server.server_address[1])

    go = threading.Event()

    def watch_stdin():
        # "go" starts the application; EOF means the parent is gone.
        for line in sys.stdin:
            if line.strip() == "go":
                go.set()
        if args.exit_on_eof:
            os._exit(0)

    if args.wait_for_go or args.exit_on_eof:
        threading.Thread(target=watch_stdin, daemon=True).start()

    config_file = os.path.abspath(args.config_file)
    os.environ["OS_KEYSTONE_CONFIG_FILES"] = config_file
    os.environ.pop("OS_KEYSTONE_CONFIG_DIR", None)
    # Keystone parses sys.argv with oslo.config: hide our own options.
    sys.argv[1:] = []

    from keystone.server import wsgi as keystone_wsgi  # slow: ~1-2 s

    if args.wait_for_go:
        go.wait()

    if args.sqlite_db:
        use_wal(args.sqlite_db)
    server.set_app(serialized(keystone_wsgi.initialize_public_application()))
    say("READY")
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
