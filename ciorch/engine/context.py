"""What every engine operation works with: the controller configuration, the state
store and the runtime, opened once per command from ciorch.yaml."""

from __future__ import annotations

__all__ = ["Engine", "make_runtime", "open_engine"]

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ciorch.adapters.docker_runtime import DockerRuntime
from ciorch.adapters.runtime import Runtime
from ciorch.config.spec import ControllerConfig
from ciorch.errors import PermanentError
from ciorch.store import Store


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

    def close(self) -> None:
        self.runtime.close()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_engine(
    controller: ControllerConfig,
    *,
    runtime: Runtime | None = None,
    progress: Callable[[str], None] | None = None,
) -> Engine:
    """Runtime first (nothing is written when it is unreachable), then the store."""
    rt = runtime if runtime is not None else make_runtime(controller)
    try:
        controller.state_path.parent.mkdir(parents=True, exist_ok=True)
        store = Store.open(controller.state_path)
    except BaseException:
        rt.close()
        raise
    engine = Engine(controller, store, rt)
    if progress is not None:
        engine.progress = progress
    return engine
