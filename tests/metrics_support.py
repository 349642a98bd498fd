"""Scraping a running metrics endpoint over real HTTP, and reading what it says.

The exposition is parsed with ``prometheus_client``'s own text parser, the same format
Prometheus reads; samples are keyed by their exposition name (``_total``, ``_bucket``, ``_sum``,
``_count`` included) and their labels.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def fetch(url: str, *, accept: str | None = None) -> tuple[int, str, str]:
    """GET ``url`` with a fresh client session: (status, Content-Type, body)."""
    headers = {"Accept": accept} if accept else {}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def scrape(base_url: str) -> str:
    """The body of ``/metrics``, checked to be the Prometheus text format."""
    status, content_type, body = await fetch(f"{base_url}/metrics")
    assert status == 200, body
    assert content_type.startswith("text/plain; version=0.0.4"), content_type
    return body


async def healthz(base_url: str) -> tuple[int, dict[str, Any]]:
    """``/healthz``'s status and JSON body."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base_url}/healthz") as response,
    ):
        return response.status, await response.json()


def samples(text: str) -> Samples:
    """Every sample in an exposition: (name, labels) -> value."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def sample_names(text: str) -> set[str]:
    """The names samples are exposed under (``x_total``, ``x_bucket`` and so on)."""
    return {name for name, _ in samples(text)}


def value(found: Samples, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels``; fails the test if it is missing."""
    key = (name, frozenset(labels.items()))
    assert key in found, f"no sample {name}{labels}; have {sorted(n for n, _ in found)}"
    return found[key]


def label_values(found: Samples) -> set[str]:
    """Every label value in the exposition."""
    return {v for _, labels in found for _, v in labels}


def label_names(found: Samples) -> set[str]:
    """Every label name in the exposition."""
    return {k for _, labels in found for k, _ in labels}


_PROMQL_WORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless"}
    | {"bool", "offset", "inf", "nan"}
)
"""PromQL keywords: identifiers that are not metric names."""


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects.

    Strings, label matchers, range and subquery brackets, grouping label lists and function
    names are removed; what identifiers remain are metrics.
    """
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w$.])[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group()
        if text[match.end() :].lstrip().startswith("("):
            continue  # A function or an aggregation.
        if word.lower() not in _PROMQL_WORDS:
            names.add(word)
    return names
