"""A real oslo.messaging notification listener, for the AMQP sink's tests.

Run with the Debian python (/usr/bin/python3) and the Debian package
python3-oslo.messaging:

    /usr/bin/python3 oslo-listener.py --url rabbit://guest:guest@127.0.0.1:5672/ \
        --exchange openstack --topics notifications [--pool NAME] [--workers N]

It listens exactly as an OpenStack service does
(oslo_messaging.get_notification_transport + get_notification_listener, a
Target per topic on the given exchange, every priority) and prints one JSON
line on stdout per notification:

    {"method": "info", "ctxt": {...}, "publisher_id": "...",
     "event_type": "...", "payload": {...}, "metadata": {"message_id": ..., "timestamp": ...}}

`method` is the endpoint method oslo dispatched to (its priority in lower
case). The first line is {"ready": true}, printed once the listener's queues
are declared and bound (a notification sent after it is received). The
listener stops when its standard input closes (or on SIGTERM/SIGINT).
Exit status 3: oslo.messaging cannot be imported.
"""
import argparse
import json
import signal
import sys
import threading


def emit(record):
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--exchange", required=True)
    parser.add_argument("--topics", required=True, help="comma-separated")
    parser.add_argument("--pool", default=None)
    parser.add_argument("--workers", type=int, default=1,
                        help="dispatch threads (oslo's executor_thread_pool_size, default 64 in oslo); "
                             "1 prints notifications in the order they were consumed")
    args = parser.parse_args()

    try:
        from oslo_config import cfg
        import oslo_messaging
    except ImportError as error:
        sys.stderr.write("oslo.messaging is not importable (%s): install the Debian package "
                         "python3-oslo.messaging and run /usr/bin/python3\n" % error)
        return 3

    conf = cfg.ConfigOpts()
    conf([], project="vim-monitor-oslo-listener")
    transport = oslo_messaging.get_notification_transport(conf, url=args.url)
    targets = [oslo_messaging.Target(exchange=args.exchange, topic=topic)
               for topic in args.topics.split(",") if topic]

    class Endpoint(object):
        pass

    def make_handler(method):
        def handler(self, ctxt, publisher_id, event_type, payload, metadata):
            emit({"method": method, "ctxt": ctxt, "publisher_id": publisher_id,
                  "event_type": event_type, "payload": payload, "metadata": metadata})
            return oslo_messaging.NotificationResult.HANDLED
        return handler

    # Every priority oslo dispatches to (notify/dispatcher.py PRIORITIES).
    for method in ("audit", "debug", "info", "warn", "error", "critical", "sample"):
        setattr(Endpoint, method, make_handler(method))

    listener = oslo_messaging.get_notification_listener(
        transport, targets, [Endpoint()], executor="threading", pool=args.pool)
    listener.start(override_pool_size=args.workers)
    emit({"ready": True})

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    def watch_stdin():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    stop.wait()
    listener.stop()
    listener.wait()
    transport.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
