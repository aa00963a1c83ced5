"""The container and Kubernetes files on paper: they parse, and they agree with the app and with each other
(port, health check, cookie affinity, resource requests above the measured memory)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from deploy import proxy, server

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "deploy" / "k8s"
PEAK_RSS_BYTES = 1199e6  # README: peak RSS of one app and its OCR worker on the dev set's largest scans


def manifests() -> dict[str, dict]:
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            found[doc["kind"]] = doc
    return found


def quantity(text: str) -> float:
    """A Kubernetes memory quantity in bytes."""
    number, unit = re.fullmatch(r"([\d.]+)([KMGT]i?)?", text).groups()
    scale = {None: 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    return float(number) * scale[unit]


@pytest.fixture(scope="module")
def docs() -> dict[str, dict]:
    return manifests()


def test_deployment_service_and_ingress_are_there(docs):
    assert {"Deployment", "Service", "Ingress"} <= set(docs)


def test_readiness_is_the_health_check_on_the_container_port(docs):
    (container,) = docs["Deployment"]["spec"]["template"]["spec"]["containers"]
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    for probe in ("readinessProbe", "startupProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": server.HEALTH_PATH, "port": "http"}
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert f"EXPOSE {port}" in dockerfile and f'"--port", "{port}"' in dockerfile and server.HEALTH_PATH in dockerfile
    assert docs["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    assert docs["Service"]["spec"]["selector"] == docs["Deployment"]["spec"]["selector"]["matchLabels"]


def test_resources_cover_the_measured_memory(docs):
    (container,) = docs["Deployment"]["spec"]["template"]["spec"]["containers"]
    requests, limits = container["resources"]["requests"], container["resources"]["limits"]
    assert quantity(requests["memory"]) >= PEAK_RSS_BYTES
    assert quantity(limits["memory"]) > quantity(requests["memory"])


def test_ingress_keeps_a_person_on_one_pod_and_streams(docs):
    ingress = docs["Ingress"]
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert notes["nginx.ingress.kubernetes.io/session-cookie-name"] == proxy.ROUTE_COOKIE
    assert notes["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == docs["Service"]["metadata"]["name"]
