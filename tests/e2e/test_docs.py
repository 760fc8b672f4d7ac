"""Swagger UI at /docs, offline, driven in headless Chromium: it lists every route and its "Try it out" works."""

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from local import template
from tests.fixtures.server import LocalServer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_server")]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
APT_PACKAGES = ("chromium", "chromium-driver")
APT_LOCK_WAIT_SECONDS = 120
APT_TIMEOUT_SECONDS = 900
UI_TIMEOUT_SECONDS = 30
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _installed() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


def _apt_get(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        # Another apt-get (a parallel run on the same machine) holds dpkg's lock for a while: wait for it.
        ["apt-get", "-o", f"DPkg::Lock::Timeout={APT_LOCK_WAIT_SECONDS}", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=APT_TIMEOUT_SECONDS,
        check=False,
    )


def _install_chromium() -> str:
    """Installs Chromium and its driver with apt-get; the reason it could not, or "" once installed."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available"
    if os.geteuid() != 0:
        return "installing chromium needs root (apt-get)"
    install = ("install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES)
    result = _apt_get(*install)
    if result.returncode != 0:  # most likely stale or missing package lists
        update = _apt_get("update", "-q")
        if update.returncode != 0:
            return f"apt-get update failed: {update.stderr.strip()[-500:]}"
        result = _apt_get(*install)
    if result.returncode != 0 or not _installed():
        return f"apt-get install {' '.join(APT_PACKAGES)} failed: {result.stderr.strip()[-500:]}"
    return ""


@pytest.fixture(scope="session")
def chromium() -> Path:
    """/usr/bin/chromium and /usr/bin/chromedriver, installed from Debian when missing."""
    if not _installed():
        reason = _install_chromium()
        if reason:
            pytest.skip(f"headless Chromium is needed for the Swagger UI test and cannot be installed: {reason}")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = Options()
    options.binary_location = str(chromium)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def docs(browser: WebDriver, local_server: LocalServer) -> WebDriver:
    """A fresh /docs page, its operations rendered."""
    browser.get(f"{local_server.url}/docs")
    _wait(browser).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
    return browser


def _wait(browser: WebDriver) -> WebDriverWait[WebDriver]:
    return WebDriverWait(browser, UI_TIMEOUT_SECONDS)


def _click(browser: WebDriver, within: WebDriver | WebElement, css: str) -> None:
    element = _wait(browser).until(lambda _: within.find_element(By.CSS_SELECTOR, css))
    _wait(browser).until(lambda _: element.is_displayed() and element.is_enabled())
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def test_the_document_and_swagger_ui_are_served_without_an_api_key_and_without_a_cdn(
    local_server: LocalServer,
) -> None:
    page = requests.get(f"{local_server.url}/docs", timeout=10)
    document = requests.get(f"{local_server.url}/openapi.json", timeout=10)

    assert page.status_code == 200
    assert "/docs/swagger-ui-bundle.min.js" in page.text
    assert "//cdn" not in page.text
    assert "unpkg" not in page.text
    assert requests.get(f"{local_server.url}/docs/swagger-ui-bundle.min.js", timeout=10).status_code == 200
    assert requests.get(f"{local_server.url}/docs/swagger-ui.min.css", timeout=10).status_code == 200
    assert document.status_code == 200
    assert document.json()["servers"] == [{"url": local_server.url, "description": "This local server"}]


def test_swagger_ui_lists_every_route_of_the_template(docs: WebDriver) -> None:
    listed = {
        (
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text.upper(),
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path"),
        )
        for block in docs.find_elements(By.CSS_SELECTOR, ".opblock")
    }

    assert listed == {(route.method, route.path) for route in template.routes()}


def test_try_it_out_with_the_authorized_api_key_answers_the_balance(docs: WebDriver) -> None:
    # Given the demo key entered in the Authorize dialog
    _click(docs, docs, ".auth-wrapper .authorize")
    dialog = _wait(docs).until(lambda browser: browser.find_element(By.CSS_SELECTOR, ".modal-ux"))
    dialog.find_element(By.CSS_SELECTOR, ".auth-container input").send_keys("demo-key")
    _click(docs, dialog, ".auth-btn-wrapper .authorize")
    _click(docs, dialog, ".auth-btn-wrapper .btn-done")
    # When GET /tokens/balance is tried out
    operation = docs.find_element(By.CSS_SELECTOR, "#operations-tokens-token_balance_tokens_balance_get")
    _click(docs, operation, ".opblock-summary-control")
    _click(docs, operation, ".try-out__btn")
    _click(docs, operation, ".execute")
    # Then the live response is 200 with the demo org's balance, sent with the key
    live_response = _wait(docs).until(
        lambda _: operation.find_element(By.CSS_SELECTOR, ".live-responses-table tr.response")
    )
    status = live_response.find_element(By.CSS_SELECTOR, ".response-col_status")
    body = live_response.find_element(By.CSS_SELECTOR, ".response-col_description pre").text
    curl = operation.find_element(By.CSS_SELECTOR, ".curl-command").text
    assert status.text.strip() == "200"
    balance = json.loads(body)
    assert balance["orgId"] == "org-demo"
    assert isinstance(balance["balance"], int)
    assert "Authorization: Bearer demo-key" in curl
