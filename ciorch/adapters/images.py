"""ciorch's images on a Docker engine and in a registry.

Images built by ``make images`` carry OCI labels and a fresh ``ciorch.guid`` per build
(the origin design records GUID, SCM revision and timestamp per image); this module
lists them as ``ImageInfo`` values, pushes them to a registry and asks a registry for a
tag's digest. Docker and HTTP errors become ciorch's TemporaryError (engine or registry
not answering, 5xx) or PermanentError (refused, missing), the cause chained.
"""

from __future__ import annotations

__all__ = [
    "LABEL_CREATED",
    "LABEL_GUID",
    "LABEL_REVISION",
    "LABEL_SOURCE",
    "LABEL_TITLE",
    "LABEL_VERSION",
    "ImageInfo",
    "list_images",
    "push",
    "registry_digest",
]

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import docker
import docker.errors
import requests

from ciorch.errors import CiorchError, NotFoundError, PermanentError, TemporaryError

LABEL_GUID = "ciorch.guid"
LABEL_TITLE = "org.opencontainers.image.title"
LABEL_VERSION = "org.opencontainers.image.version"
LABEL_REVISION = "org.opencontainers.image.revision"
LABEL_CREATED = "org.opencontainers.image.created"
LABEL_SOURCE = "org.opencontainers.image.source"

_MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """One ciorch-built image on the engine.

    ``name`` is the repository (``ciorch/agent-go``), ``tags`` every reference to the
    image (``ciorch/agent-go:latest``, ``127.0.0.1:5000/ciorch/agent-go:0.1.0-g1a2b3c4``),
    ``created`` the build time (RFC 3339, UTC), ``size`` bytes, ``repo_digests`` the
    ``repository@sha256:...`` references the engine learnt by pushing or pulling (only
    those in the registry asked about, when one was).
    """

    name: str
    tags: tuple[str, ...]
    id: str
    created: str
    size: int
    revision: str | None
    version: str | None
    guid: str
    source: str | None
    repo_digests: tuple[str, ...]

    @property
    def pushed(self) -> bool:
        """True when the engine knows a registry digest for the image."""
        return bool(self.repo_digests)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--output json``."""
        return {
            "name": self.name,
            "tags": list(self.tags),
            "id": self.id,
            "created": self.created,
            "size": self.size,
            "revision": self.revision,
            "version": self.version,
            "guid": self.guid,
            "source": self.source,
            "repo_digests": list(self.repo_digests),
        }


def list_images(client: Any = None, registry: str | None = None) -> list[ImageInfo]:
    """Every tagged image on the engine labelled ``ciorch.guid``, by name then newest
    first. ``client`` is a ``docker.DockerClient`` (the environment's engine when None).
    With ``registry`` (``host:port``), ``repo_digests`` keeps only that registry's."""
    with _engine(client) as engine, _translate("local Docker engine"):
        rows = engine.api.images(filters={"label": LABEL_GUID, "dangling": False})
    images = [_image_info(row, registry) for row in rows]
    images.sort(key=lambda image: image.created, reverse=True)
    images.sort(key=lambda image: image.name)
    return images


def push(
    image: str,
    registry: str,
    *,
    tags: Sequence[str] = (),
    client: Any = None,
) -> str:
    """Tag ``image`` (``ciorch/agent-go:latest``) as ``registry/<repository>:<tag>`` for
    each of ``tags`` (the image's own tag when empty) and push them. Returns the
    registry's digest (``sha256:...``) of the manifest pushed last."""
    repository, own_tag = _split_reference(image)
    target = f"{registry}/{repository}"
    where = f"push {image} to {registry}"
    digest = ""
    with _engine(client) as engine, _translate(where, image=image):
        local = engine.images.get(image)
        for tag in tags or (own_tag,):
            local.tag(target, tag=tag)
            for line in engine.api.push(target, tag=tag, stream=True, decode=True):
                if "error" in line or "errorDetail" in line:
                    text = str(line.get("error") or line.get("errorDetail"))
                    raise _push_error(text, where=f"{target}:{tag}")
                aux = line.get("aux")
                if isinstance(aux, Mapping) and aux.get("Digest"):
                    digest = str(aux["Digest"])
    if not digest:
        raise TemporaryError("the registry answered no digest for the push", where=where)
    return digest


def registry_digest(
    registry: str,
    repository: str,
    tag: str,
    *,
    insecure: bool | None = None,
    timeout: float = 10.0,
) -> str | None:
    """The digest a registry (distribution v2 API) holds for ``repository:tag``, None
    when it has no such tag. Plain HTTP for loopback registries (or ``insecure``)."""
    plain = _is_loopback(registry) if insecure is None else insecure
    url = f"{'http' if plain else 'https'}://{registry}/v2/{repository}/manifests/{tag}"
    try:
        answer = requests.head(url, headers={"Accept": _MANIFEST_TYPES}, timeout=timeout)
    except requests.RequestException as exc:
        raise TemporaryError(f"the registry does not answer ({exc})", where=url) from exc
    if answer.status_code == 404:
        return None
    if answer.status_code in (401, 403):
        raise PermanentError(f"the registry refused the request ({answer.status_code})", where=url)
    if answer.status_code >= 500:
        raise TemporaryError(f"registry error {answer.status_code}", where=url)
    if answer.status_code != 200:
        raise PermanentError(f"unexpected registry answer {answer.status_code}", where=url)
    digest = answer.headers.get("Docker-Content-Digest")
    if not digest:
        raise PermanentError("the registry sent no Docker-Content-Digest header", where=url)
    return digest


# ---------------------------------------------------------------- helpers


def _image_info(row: Mapping[str, Any], registry: str | None) -> ImageInfo:
    labels: Mapping[str, str] = row.get("Labels") or {}
    tags = tuple(sorted(t for t in row.get("RepoTags") or () if t != "<none>:<none>"))
    digests = tuple(sorted(d for d in row.get("RepoDigests") or () if not d.startswith("<none>")))
    if registry is not None:
        digests = tuple(d for d in digests if d.startswith(f"{registry}/"))
    name = labels.get(LABEL_TITLE) or (_split_reference(tags[0])[0] if tags else row["Id"])
    created = labels.get(LABEL_CREATED) or datetime.fromtimestamp(
        int(row.get("Created") or 0), UTC
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ImageInfo(
        name=name,
        tags=tags,
        id=str(row["Id"]),
        created=created,
        size=int(row.get("Size") or 0),
        revision=labels.get(LABEL_REVISION),
        version=labels.get(LABEL_VERSION),
        guid=labels[LABEL_GUID],
        source=labels.get(LABEL_SOURCE),
        repo_digests=digests,
    )


def _split_reference(reference: str) -> tuple[str, str]:
    """``host:5000/a/b:tag`` -> (``host:5000/a/b``, ``tag``); no tag means ``latest``."""
    name, sep, tag = reference.rpartition(":")
    if not sep or "/" in tag:
        return reference, "latest"
    return name, tag


def _is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _push_error(text: str, *, where: str) -> CiorchError:
    lowered = text.lower()
    if any(word in lowered for word in ("denied", "unauthorized", "authentication")):
        return PermanentError(f"the registry refused the push: {text}", where=where)
    return TemporaryError(f"push failed: {text}", where=where)


@contextmanager
def _engine(client: Any) -> Iterator[Any]:
    if client is not None:
        yield client
        return
    with _translate("local Docker engine"):
        own = docker.from_env(timeout=60)
    try:
        yield own
    finally:
        own.close()


@contextmanager
def _translate(where: str, *, image: str | None = None) -> Iterator[None]:
    """Docker and transport errors become ciorch's, with the cause chained."""
    try:
        yield
    except CiorchError:
        raise
    except docker.errors.ImageNotFound as exc:
        raise NotFoundError(
            f"image {image or '?'} does not exist on this engine (build it with `make images`)",
            where=where,
        ) from exc
    except docker.errors.APIError as exc:
        status = exc.status_code or 0
        text = str(exc.explanation or exc)
        if status >= 500:
            raise TemporaryError(f"Docker engine error: {text}", where=where) from exc
        raise PermanentError(f"Docker refused the request: {text}", where=where) from exc
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as exc:
        raise TemporaryError(
            f"the Docker engine does not answer ({type(exc).__name__}); is dockerd running?",
            where=where,
        ) from exc
