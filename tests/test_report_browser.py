"""The HTML site in a real headless Chromium: sorting a column orders the rows, a filter hides
rows, and an entry link opens the entry's page with its paper link.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package (``.ci/run``
installs them); skipped with the reason otherwise. Slow (a browser start): in ``.ci/run``'s
slow step.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lossbench.cli import main

pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parent / "fixtures" / "golden" / "results"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver",
                                    reason="selenium is not installed (pip install selenium)")
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("chromium / chromedriver not installed (apt-get install chromium "
                    "chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(GOLDEN, root / "results")
    assert main(["leaderboard", "--results", str(root / "results"), "--out",
                 str(root / "lb.md"), "--html", str(root / "site"), "--no-plots"]) == 0
    return root / "site"


def _entries(browser) -> list[str]:
    rows = browser.find_elements("css selector", "#summary tbody tr")
    return [r.get_attribute("data-entry") for r in rows if r.is_displayed()]


def _header(browser, text: str):
    return next(th for th in browser.find_elements("css selector", "#summary thead th")
                if th.text.strip().startswith(text))


def test_sorting_a_column_orders_the_rows(browser, site):
    browser.get((site / "index.html").as_uri())
    _header(browser, "entry").click()
    assert _entries(browser) == ["cross_entropy", "focal"]  # ascending by name
    _header(browser, "entry").click()
    assert _entries(browser) == ["focal", "cross_entropy"]  # descending
    _header(browser, "its tasks").click()  # ascending by IQM: CE (1.000) below focal (1.030)
    assert _entries(browser) == ["cross_entropy", "focal"]


def test_a_filter_hides_the_rows_that_do_not_match(browser, site):
    from selenium.webdriver.support.ui import Select

    browser.get((site / "index.html").as_uri())
    Select(browser.find_element("id", "filter-kind")).select_by_value("classification")
    assert sorted(_entries(browser)) == ["cross_entropy", "focal"]
    Select(browser.find_element("id", "filter-tuned")).select_by_value("yes")
    assert _entries(browser) == []  # no golden row is tuned


def test_an_entry_link_opens_its_page_with_the_paper(browser, site):
    browser.get((site / "index.html").as_uri())
    browser.find_element("link text", "focal").click()
    assert browser.current_url.endswith("/entry/focal.html")
    assert browser.find_element("tag name", "h1").text == "focal"
    paper = browser.find_element("id", "paper")
    assert paper.get_attribute("href") == "https://example.org/focal"


def test_no_page_scrolls_sideways_in_a_1400_px_window(browser, site):
    browser.set_window_size(1400, 1000)
    for name in ("index.html", "suite/standard.html", "entry/focal.html"):
        browser.get((site / name).as_uri())
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= browser.execute_script("return window.innerWidth"), name
