"""`dsr discover --html FILE`: the run's findings as a page a reviewer reads, checked as Chromium
renders it (offline), and holding no sampled value."""

from __future__ import annotations

import copy
import os
import shutil

from dsr_pipelines.demo import shop

from .browser import render


def test_the_discovery_report_renders_every_column_with_its_evidence_and_review_state(project, tmp_path):
    datamap = copy.deepcopy(shop.DATAMAP)
    customers_map = datamap["collections"]["customers"]
    customers_map["reviewed"] = False  # a person reviewed the email field only
    customers_map["fields"]["email"]["reviewed"] = True
    del customers_map["fields"]["name"]  # discovery proposes it again
    del datamap["collections"]["support_tickets"]  # and this collection
    project.write_datamap({"shop": datamap})
    page = tmp_path / "report.html"
    result = project.cli("discover", "--html", str(page), expect=None)
    assert f"report written to {page}" in result.stdout
    html = page.read_text()

    # self-contained: no script, nothing to fetch
    assert "<script" not in html and "src=" not in html and "<link" not in html and "http" not in html
    # no sampled value, only masked examples
    for person in project.people:
        assert person.email not in html and person.name not in html and person.phone not in html

    shot = tmp_path / "report.png"
    dom = render(page.as_uri(), tmp_path, shot)
    assert "Discovery report" in dom and "Store <code>shop</code>" in dom
    sections = {s.split("</code>", 1)[0]: s for s in dom.split("<h3><code>")[1:]}
    assert set(sections) == {"customers", "addresses", "orders", "order_lines", "returns", "support_tickets"}
    customers = {
        r.split("<code>", 1)[1].split("</code>", 1)[0]: r for r in sections["customers"].split("<tr")[2:]
    }
    assert set(customers) == {"id", "email", "name", "phone", "referred_by", "restricted", "tenant_id"}
    email, name, phone = customers["email"], customers["name"], customers["phone"]
    assert '<span class="tag ">email</span>' in email and '"tag ok">reviewed<' in email
    assert "proposed identity: email" in email and "***@" in email  # evidence, masked example
    assert 'class="meter"' in email and "OfflineEmailRecognizer" in email
    assert "add field" in name and '"tag change">not mapped<' not in name and "not mapped" in name
    assert '"tag change">not reviewed<' in phone
    assert 'class="muted"' in customers["tenant_id"] and "not personal" in customers["tenant_id"]
    tickets = sections["support_tickets"].split("<tr")[2:]
    added = [
        r.split("<code>", 1)[1].split("</code>", 1)[0] for r in tickets if "added with its collection" in r
    ]
    assert added and all('"tag none">not personal<' not in r for r in tickets if "added with its" in r)
    assert shot.stat().st_size > 20_000  # a page was drawn, not a blank
    if os.environ.get(
        "DSR_SCREENSHOT_DISCOVERY"
    ):  # docs' picture: DSR_SCREENSHOT_DISCOVERY=docs/discovery.png
        shutil.copyfile(shot, os.environ["DSR_SCREENSHOT_DISCOVERY"])


def test_a_report_path_that_cannot_be_written_is_refused_before_any_work(project, tmp_path):
    for bad in (tmp_path / "missing" / "report.html", tmp_path):
        result = project.cli("discover", "--html", str(bad), expect=2)
        assert f"--html {bad}: needs a file in an existing directory" in result.stderr
    assert not (project.root / "datamap.proposal.yaml").exists()  # nothing was discovered
    with project.db() as db:
        assert db.discovery.latest(None) == []
