"""The dashboard's static files keep to its Content-Security-Policy and load nothing from outside.

The policy allows scripts and styles from the dashboard's own origin only: no inline script, no
``style`` attribute, no ``on...=`` handler in the HTML, and every script, stylesheet and icon a
page names is a file of ``static/``. The scripts build the DOM from text (``textContent``), never
from markup, since server names, usernames and error messages come from Discord users. The
vendored chart library carries its licence and a README naming the version its file says it is.
(What the browser makes of all this is checked in ``test_dashboard_browser.py``.)
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "monitoring_cog" / "web" / "dashboard" / "static"
PAGES = sorted(STATIC.glob("*.html"))
SCRIPTS = sorted(STATIC.glob("*.js"))
VENDOR = STATIC / "vendor" / "chartjs"


class _Page(HTMLParser):
    """Collects what the policy cares about in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.references: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for name, _ in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            self._in_script = True
            if not named.get("src"):
                self.problems.append("<script> without src")
        for name in ("src", "href", "action"):
            value = named.get(name)
            if value is not None and tag != "a":
                self.references.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("inline script text")


def test_there_is_a_page_for_every_route() -> None:
    names = {page.stem for page in PAGES}
    assert names == {
        "overview",
        "servers",
        "server",
        "commands",
        "audit",
        "stalls",
        "growth",
        "login",
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_keeps_to_the_policy(page: Path) -> None:
    parser = _Page()
    parser.feed(page.read_text(encoding="utf-8"))
    assert parser.problems == []
    for reference in parser.references:
        if reference in ("/login", "/logout"):
            continue  # form actions of the server
        assert reference.startswith("/static/"), reference
        assert (STATIC / reference.removeprefix("/static/")).is_file(), reference


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_builds_the_page_from_text(script: Path) -> None:
    # The code, without its comments (which may name what it avoids).
    text = re.sub(r"/\*.*?\*/", "", script.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
    for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert risky not in text, risky
    assert "new Function" not in text
    # Nothing fetched from another origin.
    assert not re.search(r"""["'`](https?:)?//[\w.-]""", text)


def test_the_chart_library_is_vendored_with_its_licence() -> None:
    bundle = (VENDOR / "chart.umd.min.js").read_text(encoding="utf-8")
    version = re.search(r"Chart\.js v(\d+\.\d+\.\d+)", bundle)
    assert version is not None
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    assert f"Chart.js {version.group(1)}" in readme
    assert f"chart.js@{version.group(1)}" in readme
    licence = (VENDOR / "LICENSE.md").read_text(encoding="utf-8")
    assert "MIT" in licence or "Permission is hereby granted" in licence
