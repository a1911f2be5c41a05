"""Short values stay whole in a narrow column (bontrack.web.display): a phone number, a record
number, a date; an e-mail address breaks only before its "@". A browser may break a line after
any hyphen, so "syn-000035@example.org" used to read "syn-" on
one line and "000035@example.org" on the next."""

from __future__ import annotations

import pytest

from bontrack.web.display import KEPT_WHOLE, dates_whole, email, whole
from bontrack.web.pages import templates


def test_the_name_before_the_at_is_kept_whole_and_the_break_is_before_the_at() -> None:
    assert str(email("syn-000035@example.org")) == '<span class="nowrap">syn-000035</span><wbr>@example.org'


@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("no at sign", "no at sign"),
        ("@example.org", "@example.org"),
        ("a<b>@x.org", '<span class="nowrap">a&lt;b&gt;</span><wbr>@x.org'),  # escaped
        ("x@<script>", '<span class="nowrap">x</span><wbr>@&lt;script&gt;'),
        ("n" * (KEPT_WHOLE + 1) + "@x.org", "n" * (KEPT_WHOLE + 1) + "@x.org"),  # too long to keep
    ],
)
def test_anything_stored_renders_escaped(address: str, shown: str) -> None:
    assert str(email(address)) == shown


def test_the_worklist_contact_shows_the_address_kept_whole() -> None:
    macro = templates.env.get_template("_work.html").module.contact  # type: ignore[attr-defined]
    item = {"phone": "555-0100", "email": "syn-000035@example.org"}
    html = str(macro(item))
    assert 'href="mailto:syn-000035@example.org"' in html
    assert '<span class="nowrap">syn-000035</span><wbr>@example.org</a>' in html
    assert '<span class="nowrap">555-0100</span></a>' in html


def test_a_phone_number_is_kept_on_one_line_unless_too_long() -> None:
    assert str(whole("+1 202 555 0147")) == '<span class="nowrap">+1 202 555 0147</span>'
    assert str(whole("<b>")) == '<span class="nowrap">&lt;b&gt;</span>'
    assert str(whole("9" * (KEPT_WHOLE + 1))) == "9" * (KEPT_WHOLE + 1)


def test_each_date_in_a_text_is_kept_on_one_line() -> None:
    said = dates_whole("Follow up <dysphagia>, began 2026-10-08, still ongoing")
    assert str(said) == (
        'Follow up &lt;dysphagia&gt;, began <span class="nowrap">2026-10-08</span>, still ongoing'
    )
    assert str(dates_whole(12026)) == "12026"  # anything stored renders
