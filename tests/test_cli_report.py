"""`vidq report` as a user meets it (the page itself in a browser: tests/test_cli_html_pages.py)."""

from __future__ import annotations

import json
import re

import pytest


def test_report_writes_one_page_with_summary_chapters_ads_and_hits(cli, short_scenario, job_cache, tmp_path):
    page = tmp_path / "out" / "report.html"
    r = cli("--cache-dir", job_cache, "report", short_scenario.video, "--model", "lite", "--query", "blue pelican",
            "-o", page)
    assert r.exit_code == 0 and r.stdout == "", r.stderr
    html = page.read_text(encoding="utf-8")
    summary = json.loads(cli("--cache-dir", job_cache, "summarize", short_scenario.video, "--model", "lite",
                             "--json").stdout)
    ads = json.loads(cli("--cache-dir", job_cache, "ads", short_scenario.video, "--model", "lite", "--json").stdout)
    for c in summary["chapters"]:
        assert f'data-kind="chapter" data-start="{c["start"]:.3f}" data-end="{c["end"]:.3f}"' in html
    for s in ads["segments"]:
        assert f'data-kind="{s["kind"]}" data-start="{s["start"]:.3f}" data-end="{s["end"]:.3f}"' in html
        assert f"confidence {s['confidence']:.2f}" in html
    assert re.search(r'data-kind="hit" data-start="3[6-9]\.\d{3}"', html)  # the BLUE PELICAN sign, 37.6-43.6 s
    src = re.search(r'<video id="video-0" controls preload="metadata" src="([^"]+)">', html).group(1)
    assert (page.parent / src).resolve() == short_scenario.video.resolve()  # relative to the page
    assert html.count('<img alt=') >= 20 and "https://" not in html and "http://" not in html


def test_report_bad_input_exits_2_and_writes_nothing(cli, short_scenario, job_cache, tmp_path):
    page = tmp_path / "r.html"
    for args, message in [((tmp_path / "missing.mp4",), "missing.mp4"),
                          ((short_scenario.video, "--format", "json"), "--format json is not supported"),
                          ((short_scenario.video, "--chapters", "many"), "--chapters")]:
        r = cli("--cache-dir", job_cache, "report", *args, "--model", "lite", "-o", page)
        assert r.exit_code == 2 and message in r.stderr and r.stderr.count("\n") == 1, r.stderr
        assert r.stdout == "" and not page.exists()


@pytest.mark.slow
def test_report_under_no_cache_computes_the_ads_signals_once_and_keeps_nothing(cli, short_scenario, tmp_path,
                                                                               monkeypatch):
    """summarize, ads and the page share one analysis in a temporary cache: one picture pass."""
    from vidq.analysis import build

    made = []
    real = build.picture_pass
    monkeypatch.setattr(build, "picture_pass", lambda *a, **k: made.append(1) or real(*a, **k))
    cache = tmp_path / "cache"
    r = cli("--cache-dir", cache, "--no-cache", "report", short_scenario.video, "--model", "lite",
            "-o", tmp_path / "r.html")
    assert r.exit_code == 0, r.stderr
    assert len(made) == 1
    assert not cache.exists() or not any(cache.rglob("*"))
