"""``python -m ciorch.testing.jenkins --port N --admin USER:TOKEN [--quiet-period S] [--home DIR]``.

Serves until SIGTERM or SIGINT, then stops cleanly. Faults can be flipped on the running
process through ``POST /ciorch-admin/faults`` (see the package docstring).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .emulator import JenkinsEmulator

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ciorch.testing.jenkins")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--admin",
        default=None,
        help="USER:TOKEN (visible in the process list: prefer --admin-user with "
        "--admin-password-env)",
    )
    parser.add_argument("--admin-user", default="admin", help="the admin's user name")
    parser.add_argument(
        "--admin-password-env",
        default=None,
        metavar="VAR",
        help="environment variable holding the admin's API token/password",
    )
    parser.add_argument("--quiet-period", type=float, default=0.0)
    parser.add_argument("--root-url", default=None)
    parser.add_argument("--built-in-executors", type=int, default=0)
    parser.add_argument("--agent-timeout", type=float, default=5.0)
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="JENKINS_HOME: jobs and the applied CasC document are kept here across restarts",
    )
    args = parser.parse_args(argv)
    if args.admin is not None:
        user, sep, token = args.admin.partition(":")
        if not sep or not user or not token:
            parser.error("--admin must be USER:TOKEN")
    elif args.admin_password_env is not None:
        user, token = args.admin_user, os.environ.get(args.admin_password_env, "")
        if not token:
            parser.error(f"environment variable {args.admin_password_env} is not set")
    else:
        user, token = args.admin_user, "token"
    emulator = JenkinsEmulator(
        (user, token),
        quiet_period=args.quiet_period,
        root_url=args.root_url,
        port=args.port,
        built_in_executors=args.built_in_executors,
        agent_timeout=args.agent_timeout,
        home=args.home,
    )
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emulator.start()
    print(f"Jenkins emulator listening on {emulator.url}", flush=True)
    try:
        done.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
