"""Launch-and-remove time of a one-off agent container: ciorch's DockerRuntime next to
the raw docker SDK doing the same on the same image, interleaved in one run.

Each sample is create + start + remove(force) of a host-networked container. The raw
runs use the same limits and labels as DockerRuntime (so only ciorch's overhead is
measured): ``sdk`` through docker-py's high-level ``containers.create/start/remove``,
``sdk-lowlevel`` through ``client.api``. Goal: ciorch / sdk <= 1.15.
Usage: python bench/launch.py [--samples N] [--image IMAGE]
The last line is one JSON object with the figures."""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from collections.abc import Callable

import docker

from ciorch.adapters.docker_runtime import DockerRuntime
from ciorch.model.runtime import LABEL_OWNER, ContainerSpec, Resources, WorkloadKind

LIMITS = {
    "network_mode": "host",
    "nano_cpus": 500_000_000,
    "mem_limit": "256m",
    "pids_limit": 256,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--image", default="local/debian:bookworm")
    args = parser.parse_args()

    client = docker.from_env()
    owner = f"bench-{uuid.uuid4().hex[:6]}"
    runtime = DockerRuntime(owner=owner)
    labels = {LABEL_OWNER: owner}
    counter = iter(range(1_000_000))

    def ciorch_once() -> None:
        n = next(counter)
        spec = ContainerSpec(
            team="bench",
            kind=WorkloadKind.AGENT,
            name=f"agent-{owner}-{n}",
            image=args.image,
            args=("sleep", "60"),
            resources=Resources(cpus=0.5, mem_mib=256, pids_limit=256),
            node_name=f"{owner}-{n}",
        )
        runtime.stop_oneoff(runtime.run_oneoff(spec).id)

    def sdk_once() -> None:
        container = client.containers.create(
            args.image,
            ["sleep", "60"],
            name=f"{owner}-sdk-{next(counter)}",
            labels=labels,
            **LIMITS,
        )
        container.start()
        container.remove(force=True, v=True)

    def lowlevel_once() -> None:
        api = client.api
        host = api.create_host_config(**LIMITS)
        created = api.create_container(
            args.image,
            ["sleep", "60"],
            name=f"{owner}-ll-{next(counter)}",
            labels=labels,
            host_config=host,
        )
        api.start(created["Id"])
        api.remove_container(created["Id"], force=True, v=True)

    runs: dict[str, tuple[Callable[[], None], list[float]]] = {
        "sdk": (sdk_once, []),
        "sdk-lowlevel": (lowlevel_once, []),
        "ciorch": (ciorch_once, []),
    }
    for fn, _ in runs.values():  # warm up caches and connections
        fn()
    try:
        for _ in range(args.samples):
            for fn, times in runs.values():
                start = time.perf_counter()
                fn()
                times.append((time.perf_counter() - start) * 1000)
    finally:
        for c in client.containers.list(all=True, filters={"label": f"{LABEL_OWNER}={owner}"}):
            c.remove(force=True)

    figures: dict[str, float | int | str] = {"samples": args.samples, "image": args.image}
    print(f"{'path':<14} {'median ms':>10} {'p95 ms':>8}")
    for name, (_, times) in runs.items():
        med, p95 = statistics.median(times), percentile(times, 0.95)
        figures[f"{name}_median_ms"] = round(med, 1)
        figures[f"{name}_p95_ms"] = round(p95, 1)
        print(f"{name:<14} {med:>10.1f} {p95:>8.1f}")
    ratio = float(figures["ciorch_median_ms"]) / float(figures["sdk_median_ms"])
    ratio_ll = float(figures["ciorch_median_ms"]) / float(figures["sdk-lowlevel_median_ms"])
    figures["ratio_vs_sdk"] = round(ratio, 3)
    figures["ratio_vs_lowlevel"] = round(ratio_ll, 3)
    print(f"ciorch / sdk = {ratio:.3f} (goal <= 1.15); ciorch / sdk-lowlevel = {ratio_ll:.3f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
