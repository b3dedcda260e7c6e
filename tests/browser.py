"""Pages as a person sees them: rendered by headless Chromium (Debian's package), offline."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import IN_CI

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "chromium is not installed (apt-get install chromium)"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    return found


def render(url: str, work: Path, screenshot: Path) -> str:
    """The page's DOM after Chromium rendered it, and a screenshot of it."""
    profile = ["--user-data-dir=" + str(work / "profile")]
    browser = chromium()
    common = [browser, *CHROMIUM_FLAGS, *profile, "--window-size=1280,1700"]
    subprocess.run([*common, f"--screenshot={screenshot}", url], check=True, capture_output=True, timeout=60)
    dom = subprocess.run([*common, "--dump-dom", url], check=True, capture_output=True, text=True, timeout=60)
    return dom.stdout
