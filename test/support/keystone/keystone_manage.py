#!/usr/bin/python3
"""Run several keystone-manage commands in one Python process (tests only).

    keystone_manage.py CONFIG_FILE 'COMMAND [ARG...]' ['COMMAND [ARG...]' ...]

Each command goes through keystone.cmd.cli.main, the entry point of
/usr/bin/keystone-manage, exactly as `keystone-manage --config-file
CONFIG_FILE COMMAND ARG...` would run it; only the ~1.5 s import of Keystone
is paid once instead of once per command. Arguments are split on blanks (no
quoting; pass secrets such as the bootstrap password through the environment,
e.g. OS_BOOTSTRAP_PASSWORD).

Prints "DONE <command> <seconds>" after each command. The exit status is the
first failing command's (SystemExit code, or 1 for an exception).
"""

import os
import sys
import time
import traceback


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    config_file = sys.argv[1]
    commands = [c.split() for c in sys.argv[2:]]

    from keystone.cmd import cli

    for command in commands:
        started = time.monotonic()
        try:
            cli.main(argv=["keystone-manage", "--config-file", config_file]
                     + command)
        except SystemExit as e:
            if e.code not in (None, 0):
                sys.stderr.write("keystone-manage %s exited with %r\n"
                                 % (command[0], e.code))
                return e.code if isinstance(e.code, int) else 1
        except Exception:
            traceback.print_exc()
            sys.stderr.write("keystone-manage %s failed\n" % command[0])
            return 1
        # Ready the global configuration for the next command, as a fresh
        # keystone-manage process would find it.
        cli.CONF.reset()
        cli.CONF.unregister_opt(cli.command_opt)
        sys.stdout.write("DONE %s %.2f\n" % (command[0],
                                             time.monotonic() - started))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: eventlet's patched logging locks print
    # harmless "Exception ignored" noise there.
    os._exit(code)
