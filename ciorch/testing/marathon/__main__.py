"""``python -m ciorch.testing.marathon --port N [--executor memory|docker]
[--deployment-seconds S]``: serve /v2 until SIGTERM or SIGINT, then clean up."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .server import MarathonEmulator

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ciorch.testing.marathon")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--executor", choices=["memory", "docker"], default="memory")
    parser.add_argument("--deployment-seconds", type=float, default=0.2)
    parser.add_argument("--docker-image", default="local/debian:bookworm")
    args = parser.parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emulator = MarathonEmulator(
        args.executor,
        args.deployment_seconds,
        port=args.port,
        host=args.host,
        docker_image=args.docker_image,
    )
    emulator.start()
    print(f"marathon emulator {emulator.instance_id} on {emulator.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    print("marathon emulator stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
