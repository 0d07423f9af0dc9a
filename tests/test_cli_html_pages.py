"""The HTML pages in a real browser: headless Chromium (Debian's ``chromium`` + ``chromium-driver``).

Each page type (summarize, ads, find, ask, report) is made by the CLI on the generated
short broadcast, with the video beside it, and opened from ``file://``.  Checked: every
chapter, ad segment, hit and citation is on the timeline at the right place and listed
with the right times; every thumbnail decodes; the player loads the video and a click (or
Enter) on a chapter, hit, citation or timeline point seeks it; hovering shows time and
title; with JavaScript off the times are still text and the links open the video at
their time.  A screenshot of each page type goes to ``$VIDQ_SCREENSHOT_DIR`` (else the
test's temp dir).  Driven by Selenium through ``/usr/bin/chromedriver`` (nothing is
downloaded); skipped only where Chromium is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vidq.cli.report_html import clock

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)
SCREENSHOT_DIR = os.environ.get("VIDQ_SCREENSHOT_DIR")  # read at import: the tests' environment drops VIDQ_*
PAGES = ("summary", "ads", "find", "ask", "report")
QUERY = "blue pelican"
QUESTION = "Where is the meeting point?"
MAX_PAGE_BYTES = 400_000  # a 3-minute video's page (the hour's must stay under ~2 MB)

pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="Chromium is not installed (apt-get install chromium chromium-driver)")


def _vidq(*args) -> tuple[int, str, str]:
    from vidq.cli.app import app

    r = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def pages(short_scenario, job_cache, tmp_path_factory):
    """Every page type, written beside a copy of the video, plus the JSON of the same runs."""
    root = tmp_path_factory.mktemp("pages")
    video = root / "show.mp4"
    shutil.copy(short_scenario.video, video)
    jobs = {"summary": ["summarize", video], "ads": ["ads", video], "find": ["find", QUERY, video],
            "ask": ["ask", video, QUESTION]}
    docs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(root / "config"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        for name, args in jobs.items():
            code, out, err = _vidq("--cache-dir", job_cache, *args, "--model", "lite", "--json")
            assert code == 0, err
            docs[name] = json.loads(out)
            code, out, err = _vidq("--cache-dir", job_cache, *args, "--model", "lite", "--format", "html",
                                   "-o", root / f"{name}.html")
            assert code == 0 and out == "", err
        code, out, err = _vidq("--cache-dir", job_cache, "report", video, "--model", "lite", "--query", QUERY,
                               "-o", root / "report.html")
        assert code == 0 and out == "", err
    return root, docs


def _driver(profile: Path, javascript: bool = True):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # selenium-manager must not look anything up
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--mute-audio", "--hide-scrollbars",
                "--autoplay-policy=no-user-gesture-required", f"--user-data-dir={profile}", "--window-size=1200,900"):
        opts.add_argument(arg)
    if not javascript:
        opts.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = _driver(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


def open_page(browser, root: Path, name: str) -> None:
    browser.get((root / f"{name}.html").as_uri())
    wait_for(browser, "return document.readyState === 'complete'")


def wait_for(browser, script: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = browser.execute_script(script)
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def video_ready(browser) -> None:
    """The browser has read the video's header (it can play it): readyState >= HAVE_METADATA."""
    state = wait_for(browser, "var v = document.getElementById('video-0'); return v.readyState >= 1 && v.readyState")
    assert state, browser.execute_script("var v = document.getElementById('video-0'); "
                                         "return [v.readyState, v.error && v.error.code, v.currentSrc]")


def timeline(browser, kind: str) -> list[dict]:
    """Every timeline segment of ``kind``: its data times and where it is drawn, as fractions of the bar."""
    return browser.execute_script("""
        return [...document.querySelectorAll('.seg[data-kind="' + arguments[0] + '"]')].map(function (el) {
          var bar = el.parentElement.getBoundingClientRect(), box = el.getBoundingClientRect();
          return {start: +el.dataset.start, end: +el.dataset.end, left: (box.left - bar.left) / bar.width,
                  right: (box.right - bar.left) / bar.width, tip: el.querySelector('.tip').textContent,
                  duration: +el.parentElement.dataset.duration};
        });""", kind)


def listed(browser, kind: str) -> list[dict]:
    """Every list entry of ``kind``: data times, the visible times and their datetime attributes."""
    return browser.execute_script("""
        return [...document.querySelectorAll('li.entry[data-kind="' + arguments[0] + '"]')].map(function (el) {
          var times = [...el.querySelectorAll('h3 time')];
          return {start: +el.dataset.start, end: +el.dataset.end, text: times.map(t => t.textContent),
                  datetime: times.map(t => t.getAttribute('datetime')), title: el.querySelector('.title').textContent,
                  visible: el.getBoundingClientRect().height > 0};
        });""", kind)


def check_placed(browser, kind: str, want: list[tuple[float, float]], duration: float) -> None:
    segs, rows = timeline(browser, kind), listed(browser, kind)
    long = duration >= 3600  # an hour or more: every time as h:mm:ss
    assert [(s["start"], s["end"]) for s in segs] == [pytest.approx((a, b), abs=0.0006) for a, b in want], kind
    for s in segs:
        assert s["duration"] == pytest.approx(duration, abs=0.001)
        assert s["left"] == pytest.approx(s["start"] / duration, abs=0.003)  # drawn where it happens
        if kind in ("chapter", "break", "sponsor"):
            assert s["right"] == pytest.approx(s["end"] / duration, abs=0.003)
        assert s["tip"].startswith(f"{clock(s['start'], long)}–{clock(s['end'], long)} · ")
    assert [(r["start"], r["end"]) for r in rows] == [pytest.approx((a, b), abs=0.0006) for a, b in want], kind
    for r, (a, b) in zip(rows, want):
        assert r["visible"] and r["text"] == [clock(a, long), clock(b, long)]
        assert [float(d[2:-1]) for d in r["datetime"]] == [pytest.approx(a, abs=0.0006), pytest.approx(b, abs=0.0006)]


def thumbnails_decode(browser) -> int:
    wait_for(browser, "return [...document.images].every(i => i.complete)")
    sizes = browser.execute_script("return [...document.images].map(i => [i.naturalWidth, i.naturalHeight])")
    assert sizes and all(w > 0 and h > 0 for w, h in sizes), sizes
    return len(sizes)


def screenshot(browser, name: str, fallback: Path) -> Path:
    folder = Path(SCREENSHOT_DIR) if SCREENSHOT_DIR else fallback
    wait_for(browser, "var v = document.querySelector('video'); return !v || v.readyState >= 2", 5)  # a frame shown
    folder.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1200, min(4000, height + 40))
    path = folder / f"vidq-{name}.png"
    assert browser.save_screenshot(str(path))
    browser.set_window_size(1200, 900)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    return path


def click_and_seek(browser, element, start: float) -> None:
    """Click ``element`` (a link with data-t) and check the player went to ``start``."""
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()
    wait_for(browser, "var v = document.getElementById('video-0'); return !v.seeking && v.readyState >= 2", 5)
    now = browser.execute_script("var v = document.getElementById('video-0'); v.pause(); return v.currentTime")
    assert now == pytest.approx(start, abs=0.75), (now, start)


# -- one test per page type ----------------------------------------------------------------------
def test_summary_page(browser, pages, short_scenario, tmp_path):
    root, docs = pages
    doc = docs["summary"]
    assert (root / "summary.html").stat().st_size < MAX_PAGE_BYTES
    open_page(browser, root, "summary")
    video_ready(browser)
    assert browser.execute_script("return document.getElementById('video-0').duration") == \
        pytest.approx(short_scenario.duration, abs=0.3)
    check_placed(browser, "chapter", [(c["start"], c["end"]) for c in doc["chapters"]], doc["duration"])
    for kind in ("break", "sponsor"):
        check_placed(browser, kind, [(x["start"], x["end"]) for x in doc["skipped"] if x["kind"] == kind], doc["duration"])
    assert [r["title"] for r in listed(browser, "chapter")] == [c["title"] for c in doc["chapters"]]
    assert thumbnails_decode(browser) >= len(doc["chapters"]) + 20  # chapter frames + the strip
    summary_text = browser.find_element("css selector", "aside .summary p").text
    assert summary_text == doc["summary"]
    screenshot(browser, "summary", tmp_path)


def test_ads_page(browser, pages, tmp_path):
    root, docs = pages
    doc = docs["ads"]
    open_page(browser, root, "ads")
    for kind in ("break", "sponsor"):
        check_placed(browser, kind, [(s["start"], s["end"]) for s in doc["segments"] if s["kind"] == kind],
                     doc["duration"])
    details = browser.execute_script("return [...document.querySelectorAll('li.entry .detail')].map(e => e.textContent)")
    assert [d.split(";")[0] for d in details] == [f"confidence {s['confidence']:.2f}" for s in doc["segments"]]
    thumbnails_decode(browser)
    screenshot(browser, "ads", tmp_path)


def test_find_page(browser, pages, tmp_path):
    root, docs = pages
    doc = docs["find"]
    assert doc["hits"]
    open_page(browser, root, "find")
    video_ready(browser)
    check_placed(browser, "hit", [(h["start"], h["end"]) for h in doc["hits"]], doc["meta"]["files"][0]["duration"])
    thumbnails_decode(browser)
    screenshot(browser, "find", tmp_path)
    click_and_seek(browser, browser.find_element("css selector", "li.entry.hit a.times"), doc["hits"][0]["start"])


def test_ask_page(browser, pages, tmp_path):
    root, docs = pages
    doc = docs["ask"]
    open_page(browser, root, "ask")
    video_ready(browser)
    check_placed(browser, "citation", [(c["start"], c["end"]) for c in doc["citations"]], doc["meta"]["duration"])
    assert browser.find_element("css selector", ".question").text == QUESTION
    assert doc["answer"] in browser.find_element("css selector", ".answer-text").text
    thumbnails_decode(browser)
    screenshot(browser, "ask", tmp_path)
    last = doc["citations"][-1]
    click_and_seek(browser, browser.find_elements("css selector", "li.entry.citation a.frame")[-1], last["start"])


def test_report_page(browser, pages, tmp_path):
    root, docs = pages
    open_page(browser, root, "report")
    duration = docs["summary"]["duration"]
    check_placed(browser, "chapter", [(c["start"], c["end"]) for c in docs["summary"]["chapters"]], duration)
    check_placed(browser, "break", [(s["start"], s["end"]) for s in docs["ads"]["segments"] if s["kind"] == "break"],
                 duration)
    hits = timeline(browser, "hit")
    assert hits and hits[0]["start"] == pytest.approx(37.6, abs=2.0)  # the BLUE PELICAN sign (shown 37.6-43.6 s)
    metas = browser.execute_script("return [...document.querySelectorAll('details.meta')].map(d => [d.open, "
                                   "d.querySelector('summary').textContent])")
    assert metas == [[False, "How the summary was made"], [False, "How the ad detection was made"],
                     [False, "How the search was made"]]  # collapsed
    thumbnails_decode(browser)
    screenshot(browser, "report", tmp_path)


# -- interaction -------------------------------------------------------------------------------
def test_clicking_a_chapter_or_the_timeline_seeks_the_video(browser, pages):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    root, docs = pages
    chapters = docs["summary"]["chapters"]
    open_page(browser, root, "summary")
    video_ready(browser)
    for k, c in enumerate(chapters):  # the chapter's frame in the list, then its block on the timeline
        click_and_seek(browser, browser.find_elements("css selector", "li.entry.chapter a.frame")[k], c["start"])
        click_and_seek(browser, browser.find_elements("css selector", ".seg.chapter")[k], c["start"])
    # keyboard: Tab-reachable links, Enter follows them
    last = browser.find_elements("css selector", "li.entry.chapter a.times")[-1]
    browser.execute_script("arguments[0].focus()", last)
    last.send_keys(Keys.ENTER)
    wait_for(browser, "return !document.getElementById('video-0').seeking", 5)
    assert browser.execute_script("var v = document.getElementById('video-0'); v.pause(); return v.currentTime") == \
        pytest.approx(chapters[-1]["start"], abs=0.75)
    # a point on the timeline: 3/4 of the way along the axis
    axis = browser.find_element("css selector", ".axis")
    width = axis.rect["width"]
    ActionChains(browser).move_to_element_with_offset(axis, int(width * 0.25), 0).click().perform()
    wait_for(browser, "return !document.getElementById('video-0').seeking", 5)
    t = browser.execute_script("var v = document.getElementById('video-0'); v.pause(); return v.currentTime")
    assert t == pytest.approx(0.75 * docs["summary"]["duration"], abs=2.0)
    # the axis is a slider: arrow keys move 5 s
    axis.send_keys(Keys.ARROW_LEFT)
    wait_for(browser, "return !document.getElementById('video-0').seeking", 5)
    assert browser.execute_script("return document.getElementById('video-0').currentTime") == \
        pytest.approx(t - 5, abs=0.5)


def test_hovering_a_break_shows_its_time_and_title(browser, pages, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains

    root, docs = pages
    brk = next(x for x in docs["summary"]["skipped"] if x["kind"] == "break")
    open_page(browser, root, "summary")
    seg = browser.find_element("css selector", ".seg.break")
    tip = seg.find_element("css selector", ".tip")
    assert not tip.is_displayed()
    ActionChains(browser).move_to_element(seg).perform()
    wait_for(browser, "return getComputedStyle(document.querySelector('.seg.break .tip')).display !== 'none'", 3)
    assert tip.is_displayed() and tip.text == f"{clock(brk['start'])}–{clock(brk['end'])} · Ad break"
    screenshot(browser, "summary-hover", tmp_path)


def test_pages_read_without_javascript(pages, tmp_path):
    root, docs = pages
    driver = _driver(tmp_path / "profile", javascript=False)
    try:
        open_page(driver, root, "summary")
        assert driver.execute_script("return 1") == 1  # the driver still scripts; the page's own JS is off
        body = driver.find_element("css selector", "body").text
        for c in docs["summary"]["chapters"]:
            assert f"{clock(c['start'])}–{clock(c['end'])} {c['title']}" in body
        hrefs = [a.get_attribute("href") for a in driver.find_elements("css selector", "li.entry.chapter a.times")]
        assert [h.rsplit("#t=", 1)[1] for h in hrefs] == [f"{c['start']:.3f}" for c in docs["summary"]["chapters"]]
        assert all(h.startswith((root / "show.mp4").as_uri()) for h in hrefs)
        assert driver.find_element("css selector", ".playhead").value_of_css_property("display") == "none"
        screenshot(driver, "summary-nojs", tmp_path)
    finally:
        driver.quit()


@pytest.mark.slow
def test_hour_summary_page(cli, browser, hour_scenario, job_cache, tmp_path):
    """Acceptance: the hour broadcast's page renders every chapter and break at its time, stays under
    2 MB, its thumbnails decode, and a click on the last chapter seeks the player there."""
    page = tmp_path / "hour.html"
    r = cli("--cache-dir", job_cache, "summarize", hour_scenario.video, "--model", "lite", "--format", "html",
            "-o", page)
    assert r.exit_code == 0, r.stderr
    doc = json.loads(cli("--cache-dir", job_cache, "summarize", hour_scenario.video, "--model", "lite", "--json").stdout)
    assert page.stat().st_size < 2_000_000
    browser.get(page.as_uri())
    wait_for(browser, "return document.readyState === 'complete'")
    video_ready(browser)
    check_placed(browser, "chapter", [(c["start"], c["end"]) for c in doc["chapters"]], doc["duration"])
    check_placed(browser, "break", [(x["start"], x["end"]) for x in doc["skipped"] if x["kind"] == "break"],
                 doc["duration"])
    assert len(doc["chapters"]) >= 10 and len([x for x in doc["skipped"] if x["kind"] == "break"]) == 3
    thumbnails_decode(browser)
    screenshot(browser, "summary-hour", tmp_path)
    click_and_seek(browser, browser.find_elements("css selector", "li.entry.chapter a.frame")[-1],
                   doc["chapters"][-1]["start"])
