#!/usr/bin/python3
"""Serve one OpenStack API (Placement, Glance or nova-api) for tests, on loopback only.

Used by test/support/openstack-services.ts. Not for production. The same
line protocol as test/support/keystone/keystone_server.py:
  PORT <n>   as soon as the listening socket is bound (before the slow import)
  READY      once the application is built and requests are served
With --wait-for-go the script imports the service, then waits for a line "go"
on stdin before it builds the application (the database is migrated
meanwhile: both services write to it while they start). With --exit-on-eof
it exits when stdin reaches EOF, so a crashed or killed test runner never
leaves a service behind.

--config-dir holds the service's configuration (placement.conf,
glance-api.conf and glance-api-paste.ini, or nova.conf and api-paste.ini); the service's own log goes to the
log_file named there, this script's request log and tracebacks to stderr.
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
    """One request at a time: SQLite behind both services, and the GIL
    leaves nothing to gain. Sockets are still served by one thread each."""
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
    """Readers never block the writer in WAL mode (see keystone_server.py)."""
    import sqlite3
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("PRAGMA journal_mode=WAL").fetchone()
    finally:
        conn.close()


def placement_app(config_dir):
    """Imports Placement (slow) and returns the function that builds it."""
    os.environ["OS_PLACEMENT_CONFIG_DIR"] = config_dir
    from placement import wsgi
    return wsgi.init_application


def glance_app(config_dir):
    os.environ["OS_GLANCE_CONFIG_DIR"] = config_dir
    from glance.common import wsgi_app
    return wsgi_app.init_app


def nova_app(config_dir):
    os.environ["OS_NOVA_CONFIG_DIR"] = config_dir
    # Native threads, as under uwsgi or mod_wsgi: no eventlet monkey patching.
    os.environ["OS_NOVA_DISABLE_EVENTLET_PATCHING"] = "1"
    from nova.api.openstack.compute import wsgi
    return wsgi.init_application


def rebase_cells(config_dir):
    """Point the cell mappings at this directory's databases: the migrated
    databases may be copies made in another directory (the schema cache)."""
    import sqlite3
    conn = sqlite3.connect(os.path.join(config_dir, "nova_api.db"))
    try:
        rows = conn.execute(
            "SELECT id, database_connection FROM cell_mappings").fetchall()
        for row_id, url in rows:
            name = url.split("?")[0].rsplit("/", 1)[-1]
            conn.execute(
                "UPDATE cell_mappings SET database_connection = ? WHERE id = ?",
                ("sqlite:///%s/%s?check_same_thread=false"
                 % (config_dir, name), row_id))
        conn.commit()
    finally:
        conn.close()


APPS = {"placement": placement_app, "glance": glance_app, "nova": nova_app}


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", required=True, choices=sorted(APPS))
    parser.add_argument("--config-dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--wait-for-go", action="store_true")
    parser.add_argument("--exit-on-eof", action="store_true")
    parser.add_argument("--sqlite-db", action="append", default=[])
    args = parser.parse_args()

    if args.host not in ("127.0.0.1", "::1"):
        parser.error("this test server binds to loopback only")

    server = ThreadingWSGIServer((args.host, args.port), RequestHandler)
    say("PORT %d" % server.server_address[1])

    go = threading.Event()

    def watch_stdin():
        # "go" builds the application; EOF means the parent is gone.
        for line in sys.stdin:
            if line.strip() == "go":
                go.set()
        if args.exit_on_eof:
            os._exit(0)

    if args.wait_for_go or args.exit_on_eof:
        threading.Thread(target=watch_stdin, daemon=True).start()

    # Both services parse sys.argv with oslo.config: hide our own options.
    sys.argv[1:] = []
    build = APPS[args.app](os.path.abspath(args.config_dir))
    if args.wait_for_go:
        go.wait()
    for db in args.sqlite_db:
        use_wal(db)
    if args.app == "nova":
        rebase_cells(os.path.abspath(args.config_dir))
    server.set_app(serialized(build()))
    say("READY")
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
