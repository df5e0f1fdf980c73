"""The UIs a person opens after the main job, looked at in headless Chromium (the Debian package, driven by
Playwright): Dagster's asset catalog and runs, MLflow's experiments and model registry, each model service's Swagger
page. Each page is waited on until it shows what it should, read back, and kept as a full-page screenshot.

The Dagster and MLflow UIs are started here on free ports with the caller's settings (its lake, Dagster storage and
MLflow store) and stopped, whole, by `entrypoints/ui.py`'s ``stop_tree``, whatever happens. The model services are
the ones the main job left running. Chromium only talks to loopback: every other request (the Swagger page's
analytics tag) is aborted, as the sandbox would refuse it anyway.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, Route, sync_playwright
from ports import free_port

from entrypoints.instances import dagster_environment, dagster_ui_command, mlflow_ui_command
from entrypoints.ui import READY_TIMEOUT_S, RUN_VARIABLE, answers, stop_tree
from lakehouse.settings import PROJECT_ROOT, Settings
from models.anomaly import ANOMALY_MODEL_NAME
from models.anomaly.registry import ANOMALY_EXPERIMENT_NAME
from models.fraud import FRAUD_EXPERIMENT_NAME, FRAUD_MODEL_NAME
from models.sentiment import SENTIMENT_EXPERIMENT_NAME, SENTIMENT_MODEL_NAME
from serving.registry import SERVED_MODELS

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium's own connections are refused in the sandbox and it stalls.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_TIMEOUT_MS = 60_000  # a page's content, once its server answers; the first Dagster page compiles its queries
GOLD_ASSETS = [
    "ecommerce/gold/daily_sales_by_category",
    "chat/gold/room_activity_daily",
    "social/gold/post_engagement_daily",
    "iot/gold/fleet_health_daily",
]

# Dialogs and panels that would cover the pages, as a person's browser remembers them dismissed (each UI's own
# localStorage flag; clicking Dagster's Skip would also write to the instance).
DISMISSED = {
    "communityNux": "1",  # Dagster: "Join the Dagster community"
    "_mlflow_model_registry_promo_modal_dismissed_v1": "true",  # MLflow: the new model registry UI's promotion
    "mlflow.assistant.fab.autoOpenedOnFirstLoad_v1": "true",  # MLflow: its assistant panel, opened on a first visit
    "mlflow.assistant.panelOpen_v1": "false",
}
EXPERIMENTS = [FRAUD_EXPERIMENT_NAME, SENTIMENT_EXPERIMENT_NAME, ANOMALY_EXPERIMENT_NAME]
MODELS = [FRAUD_MODEL_NAME, SENTIMENT_MODEL_NAME, ANOMALY_MODEL_NAME]
Reader = Callable[[Page], list[str]]


class PageMissing(AssertionError):
    """A page did not show what it should within ``PAGE_TIMEOUT_MS``."""


@dataclass(frozen=True)
class PageCheck:
    name: str  # "dagster assets", "mlflow models", "sentiment swagger", ...
    url: str
    screenshot: Path
    shown: list[str]  # what the page listed: asset keys, run ids, experiments, models or routes


@contextmanager
def running_ui(command: list[str], env: dict[str, str], url: str) -> Iterator[str]:
    """``command`` in a process group of its own, yielding ``url`` once it answers; stopped whole on the way out."""
    run = uuid.uuid4().hex
    environment = {**os.environ, **env, RUN_VARIABLE: run}
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=environment, start_new_session=True, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} never answered at {url} (exit code {process.poll()})")
            time.sleep(0.5)
        yield url
    finally:
        stop_tree(process, set(), run=run)


def only_loopback(route: Route) -> None:
    host = urlsplit(route.request.url).hostname
    if host in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


def look(browser: Browser, name: str, url: str, out_dir: Path, required: list[str], read: Reader) -> PageCheck:
    """Open ``url``, read what it lists until that holds every ``required`` item, and screenshot it."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.route("**/*", only_loopback)
    context.add_init_script(f"Object.entries({json.dumps(DISMISSED)}).forEach(([k, v]) => localStorage.setItem(k, v))")
    page = context.new_page()
    screenshot = out_dir / f"{name.replace(' ', '-')}.png"
    try:
        page.goto(url, wait_until="domcontentloaded", timeout=PAGE_TIMEOUT_MS)
        deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
        while missing := [item for item in required if item not in (shown := read(page))]:
            if time.monotonic() > deadline:
                page.screenshot(path=screenshot, full_page=True)
                raise PageMissing(f"{name} ({url}) did not show {missing}; it showed {shown} (see {screenshot})")
            page.wait_for_timeout(500)  # the page is still loading its data: read it again
        page.screenshot(path=screenshot, full_page=True)
        return PageCheck(name, url, screenshot, shown)
    finally:
        context.close()


def lines_matching(pattern: str) -> Reader:
    def read(page: Page) -> list[str]:
        return [line.strip() for line in page.inner_text("body").splitlines() if re.fullmatch(pattern, line.strip())]

    return read


def link_texts(href_part: str, but_not: str = "") -> Reader:
    selector = f'a[href*="{href_part}"]' + (f':not([href*="{but_not}"])' if but_not else "")

    def read(page: Page) -> list[str]:
        return [text.strip() for text in page.locator(selector).all_inner_texts()]

    return read


def swagger_paths(page: Page) -> list[str]:
    return page.locator(".opblock-summary-path").evaluate_all("blocks => blocks.map(block => block.dataset.path)")


def dagster_asset_keys(page: Page) -> list[str]:
    """The catalog shows ``chat / gold / room_activity_daily`` (and a shortened copy): the keys, as ``a/b/c``."""
    shown = lines_matching(r"\w+ / \w+ / \w+")(page)
    return list(dict.fromkeys(line.replace(" / ", "/") for line in shown))


def stored_run_ids(settings: Settings, newest: int = 3) -> list[str]:
    """The newest Dagster runs in ``settings``' instance, read from its SQLite run storage (not through the UI)."""
    database = settings.home_dir / "dagster" / "storage" / "history" / "runs.db"
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as runs:
        rows = runs.execute("SELECT run_id FROM runs ORDER BY create_timestamp DESC LIMIT ?", (newest,)).fetchall()
    return [run_id for (run_id,) in rows]


def check_dagster(browser: Browser, settings: Settings, out_dir: Path) -> list[PageCheck]:
    port = free_port()
    command, env = dagster_ui_command(port=port), dagster_environment(settings)
    with running_ui(command, env, f"http://127.0.0.1:{port}") as url:
        runs = [run_id[:8] for run_id in stored_run_ids(settings)]  # the runs page shows the first 8 characters
        return [
            look(
                browser,
                "dagster assets",
                f"{url}/assets?asset-selection=key:*gold*",
                out_dir,
                GOLD_ASSETS,
                dagster_asset_keys,
            ),
            look(browser, "dagster runs", f"{url}/runs", out_dir, runs, lines_matching(r"[0-9a-f]{8}")),
        ]


def check_mlflow(browser: Browser, settings: Settings, out_dir: Path) -> list[PageCheck]:
    port = free_port()
    # One worker for one browser: the default four each import MLflow, ~110 s before it answered on two busy cores.
    command = [*mlflow_ui_command(settings, port=port), "--workers", "1"]
    with running_ui(command, {}, f"http://127.0.0.1:{port}") as url:
        return [
            look(
                browser, "mlflow experiments", f"{url}/#/experiments", out_dir, EXPERIMENTS, link_texts("/experiments/")
            ),
            look(
                browser,
                "mlflow models",
                f"{url}/#/models",
                out_dir,
                MODELS,
                link_texts("/models/", but_not="/versions/"),
            ),
        ]


def check_services(browser: Browser, settings: Settings, out_dir: Path) -> list[PageCheck]:
    """The Swagger page of each model service that answers (BentoML serves it at the root)."""
    urls = {name: model.url(settings) for name, model in SERVED_MODELS.items()}
    return [
        look(browser, f"{name} swagger", f"{url}/", out_dir, ["/score"], swagger_paths)
        for name, url in urls.items()
        if answers(f"{url}/livez")
    ]


def check_uis(settings: Settings, out_dir: Path) -> list[PageCheck]:
    """Every page above, in headless Chromium; raises ``PageMissing`` naming the page and what it lacked."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            return [
                *check_services(browser, settings, out_dir),
                *check_mlflow(browser, settings, out_dir),
                *check_dagster(browser, settings, out_dir),
            ]
        finally:
            browser.close()


if __name__ == "__main__":  # `.venv/bin/python tests/browser_checks.py`: the same check of your own var/
    local = Settings()
    for page in check_uis(local, local.home_dir / "screenshots"):
        print(f"{page.name}: {page.screenshot}\n    {', '.join(page.shown)}")
