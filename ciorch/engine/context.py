"""What every engine operation works with: the controller configuration, the state
store and the runtime, opened once per command from ciorch.yaml."""

from __future__ import annotations

__all__ = ["Engine", "InstanceLock", "make_runtime", "open_engine"]

import fcntl
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ciorch.adapters.docker_runtime import DockerRuntime
from ciorch.adapters.runtime import Runtime
from ciorch.config.spec import ControllerConfig
from ciorch.errors import PermanentError, TemporaryError
from ciorch.store import Store


class InstanceLock:
    """One command at a time changes an installation: an exclusive ``flock`` on
    ``<state file>.lock``, held while the engine is open and released by the kernel if
    the process dies (so a crash never leaves it stuck). Read-only commands skip it."""

    def __init__(self, state_path: os.PathLike[str] | str) -> None:
        self.path = f"{os.fspath(state_path)}.lock"
        self._fd: int | None = None

    def acquire(
        self,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = clock() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if clock() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    os.close(fd)
                    raise TemporaryError(
                        f"another ciorch command (pid {holder}) is changing this "
                        "installation; try again when it has finished",
                        where=self.path,
                    ) from None
                sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def make_runtime(controller: ControllerConfig) -> Runtime:
    """The runtime ciorch.yaml names. Connecting happens here, so an engine that is down
    is reported before anything is changed."""
    owner = os.environ.get("CIORCH_OWNER", "ciorch")
    if controller.runtime == "marathon":
        # Imported on demand: the marathon client (and its shim) load only when used.
        from ciorch.adapters.marathon_runtime import MarathonRuntime  # noqa: PLC0415

        settings = controller.marathon
        if settings is None:  # validated away; kept for the type checker
            raise PermanentError("runtime.marathon is missing", where=controller.source)
        password = settings.password.resolve(controller.source) if settings.password else None
        return MarathonRuntime(
            settings.url,
            owner=owner,
            username=settings.username,
            password=password,
            app_prefix=settings.app_prefix,
            constraints=settings.constraints,
            deployment_timeout=settings.deployment_timeout,
        )
    return DockerRuntime(
        owner=owner,
        base_url=controller.docker.base_url,
        master_ports=controller.docker.master_ports,
    )


@dataclass
class Engine:
    controller: ControllerConfig
    store: Store
    runtime: Runtime
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    progress: Callable[[str], None] = field(default=lambda message: None)
    lock: InstanceLock | None = None

    def close(self) -> None:
        try:
            self.runtime.close()
            self.store.close()
        finally:
            if self.lock is not None:
                self.lock.release()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_engine(
    controller: ControllerConfig,
    *,
    runtime: Runtime | None = None,
    progress: Callable[[str], None] | None = None,
    exclusive: bool = False,
    lock_timeout: float = 10.0,
) -> Engine:
    """Runtime first (nothing is written when it is unreachable), then the store.
    ``exclusive``: hold the installation's lock while the engine is open (every command
    that changes something)."""
    rt = runtime if runtime is not None else make_runtime(controller)
    lock: InstanceLock | None = None
    try:
        controller.state_path.parent.mkdir(parents=True, exist_ok=True)
        if exclusive:
            lock = InstanceLock(controller.state_path)
            lock.acquire(lock_timeout)
        store = Store.open(controller.state_path)
    except BaseException:
        rt.close()
        if lock is not None:
            lock.release()
        raise
    engine = Engine(controller, store, rt, lock=lock)
    if progress is not None:
        engine.progress = progress
    return engine
