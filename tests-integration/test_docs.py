"""The documentation site builds with ``mkdocs build --strict`` and renders in a browser.

Needs the docs toolchain (mkdocs-material, mkdocstrings[python], matplotlib), which only the
``docs`` nox session installs: elsewhere every test here is skipped with that reason. The
browser test also needs a Chromium or Chrome binary (``apt-get install chromium``); it serves the
built site on 127.0.0.1 and opens pages headless.

Set ``TINYTORCH_DOCS_SITE`` to a site already built with ``--strict`` (the docs session does,
right before running this file) to check that one instead of building again.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = {
    "mkdocs": "mkdocs",
    "material": "mkdocs-material",
    "mkdocstrings_handlers.python": "mkdocstrings[python]",
    "matplotlib": "matplotlib",
}
MISSING = [
    name
    for module, name in TOOLS.items()
    if importlib.util.find_spec(module.split(".")[0]) is None
    or ("." in module and importlib.util.find_spec(module) is None)
]
pytestmark = [
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"docs toolchain not installed ({', '.join(MISSING)}): `nox -s docs` runs this file",
    ),
    pytest.mark.slow,
]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def module_folders() -> list[Path]:
    return sorted(
        p for p in ROOT.glob("packages/[0-9][0-9]-*/") if (p / "pyproject.toml").is_file()
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site: ``$TINYTORCH_DOCS_SITE``, or a fresh strict build into a temporary folder
    (figures drawn into another, so the repository's build/ is left alone)."""
    given = os.environ.get("TINYTORCH_DOCS_SITE")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "TINYTORCH_DOCS_FIGURES": str(tmp_path_factory.mktemp("figures"))}
    env["NO_MKDOCS_2_WARNING"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    return out


def test_every_module_has_a_page_with_its_readme_and_api(site: Path) -> None:
    folders = module_folders()
    assert len(folders) >= 16
    for folder in folders:
        page = site / "modules" / folder.name / "index.html"
        assert page.is_file(), f"no page for {folder.name}"
        html = page.read_text(encoding="utf-8")
        number, name = folder.name.split("-", 1)
        assert re.search(rf"<h1[^>]*>{number} {re.escape(name)}\b", html), f"{folder.name}: title"
        assert 'id="api-reference"' in html
        if (folder / "src" / "tinytorch" / name / "__init__.py").is_file():
            # mkdocstrings rendered the module's public names from its docstrings
            assert 'class="doc doc-object' in html, f"{folder.name}: no API rendered"
        readme = (
            (folder / "README.md").read_text(encoding="utf-8")
            if (folder / "README.md").is_file()
            else ""
        )
        for heading in re.findall(r"^## (.+)$", readme, re.M)[:3]:
            # the README's sections are on the page (headings carry their own anchors)
            plain = re.sub(r"[`*]", "", heading).strip()
            assert plain.split()[0] in html, f"{folder.name}: README section {heading!r} missing"


def _figure_specs() -> list:
    spec = importlib.util.spec_from_file_location(
        "tinytorch_docs_figures", ROOT / "docs" / "gen_figures.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.FIGURES


def test_figures_are_drawn_from_the_lessons(site: Path) -> None:
    lessons = (site / "lessons" / "index.html").read_text(encoding="utf-8")
    always = {
        "memory_vs_depth",
        "conv_flops_vs_channels",
        "attention_memory_vs_t",
        "tokens_per_byte_vs_vocab",
    }
    specs = _figure_specs()
    assert always <= {figure.name for figure in specs}
    for figure in specs:
        png = site / "figures" / f"{figure.name}.png"
        drawn = png.is_file()
        if figure.name in always:  # their modules are in the repository: drawn, never skipped
            assert drawn and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", figure.name
        # The gallery and the module's own page show it, or say why it is not drawn.
        shown = f"figures/{figure.name}.png" if drawn else "Not drawn in this build"
        assert shown in lessons, figure.name
        page = site / "modules" / figure.module / "index.html"
        if page.is_file():
            assert (f"figures/{figure.name}.png" if drawn else "Not drawn") in page.read_text(
                encoding="utf-8"
            )


def test_results_pages_come_from_the_result_files(site: Path) -> None:
    bench = (site / "benchmarks" / "index.html").read_text(encoding="utf-8")
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        case = json.loads(path.read_text()).get("case", path.stem)  # a script's file: its name
        assert f"<code>{case}</code>" in bench, path.name
    milestones = (site / "milestones" / "index.html").read_text(encoding="utf-8")
    for path in sorted((ROOT / "milestones").glob("m[0-9][0-9]_*.py")):
        assert f"<code>{path.stem}</code>" in milestones, path.stem
    architecture = (site / "architecture" / "index.html").read_text(encoding="utf-8")
    for folder in module_folders():
        assert f"{folder.name}/" in architecture  # the dependency table links each module


# ------------------------------------------------------------------------------ the browser


def _browser() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """The site on an HTTP server bound to 127.0.0.1 (a free port), for the module's tests."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))

    class Quiet(handler.func):  # type: ignore[name-defined,misc]
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _headless(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_page_renders_in_a_headless_browser(served: str, tmp_path: Path) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip(
            f"no Chromium or Chrome binary ({', '.join(BROWSERS)}) on PATH: "
            "`apt-get install chromium` to run the browser check"
        )
    url = f"{served}/modules/13-attention/"
    dom = _headless(browser, "--virtual-time-budget=5000", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    # Material's JavaScript ran (the root's "no-js" class became "js"); the content is there.
    assert re.search(r'<html[^>]*class="[^"]*\bjs\b', html) and "no-js" not in html[:300]
    assert re.search(r"<h1[^>]*>13 attention\b", html)
    assert 'class="md-nav' in html and "md-search" in html
    assert 'class="doc doc-object' in html
    shot = tmp_path / "attention.png"
    taken = _headless(browser, "--window-size=1280,1600", f"--screenshot={shot}", url)
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(str(shot))
    assert pixels.shape[:2] == (1600, 1280)
    # Not a blank page: the header bar, text and code blocks give many distinct colours.
    colours = {tuple(row) for row in (pixels[::8, ::8, :3] * 255).astype(int).reshape(-1, 3)}
    assert len(colours) > 50
    keep = os.environ.get("TINYTORCH_DOCS_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
