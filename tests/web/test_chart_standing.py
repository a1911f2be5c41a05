""" "Can I inject today?" before any plan: the chart's banner and the opening injection form show
what the engine's screening and interval rules already block, first, one line per finding with
its source, and the banner's "now" is green only when nothing blocks."""

from __future__ import annotations

import datetime as dt
import html
import re

from bontrack.knowledge import load_knowledge
from bontrack.screening.schemas import ScreeningCreate
from bontrack.screening.service import create_screening
from bontrack.storage.engine import transaction
from factories import ACTOR, DAY, saved_session
from web.conftest import Site, log_in
from web.test_chart_banner import banner_text

INTERVAL = int(load_knowledge().product("onabotulinumtoxinA").min_retreatment_days.value)
TODAY = DAY + dt.timedelta(days=120)  # the factory's session on DAY is well past its interval
BLOCKS = (
    "Pregnancy.",
    "Infection at the proposed injection site.",
    "Myasthenia gravis.",
)


def screened_today(site: Site, **answers: object) -> None:
    """A session on DAY, then a screening on TODAY with these answers (the rest: no)."""
    w = site.world
    with transaction(site.engine) as db:
        saved_session(db, w, day=DAY)
        defaults: dict[str, object] = {
            "pregnant": False,
            "breastfeeding": False,
            "infection_at_injection_site": False,
        }
        create_screening(
            db=db,
            actor=ACTOR,
            data=ScreeningCreate.model_validate(
                {"patient_id": w.patient_id, "date": TODAY, **defaults, **answers}
            ),
        )
    site.clock.now = dt.datetime.combine(TODAY, dt.time(9))


def page_text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_banner__pregnancy_infection_and_myasthenia_each_block_first_and_now_is_not_green(
    site: Site,
) -> None:
    screened_today(
        site,
        pregnant=True,
        infection_at_injection_site=True,
        conditions=["myasthenia_gravis"],
        medications=["paracetamol"],
    )
    log_in(site, "physician")
    page = site.client.get(f"/patients/{site.world.patient_id}").text
    text = banner_text(page)
    verdict = text.index("Injection blocked today for these 3 reasons:")
    assert verdict < text.index("Allergies")  # read before the facts
    for message in BLOCKS:  # one line each, in the block style, before the facts
        assert text.count(f"block {message}") == 1, (message, text)
        assert verdict < text.index(f"block {message}") < text.index("Allergies")
    assert text.count("Source") == len(BLOCKS)  # one source each (collapsed); paracetamol: nothing
    # the interval is over, but the engine blocks: no green "now", the block said plainly
    assert "now (from" not in text
    over = DAY + dt.timedelta(days=INTERVAL)
    assert f"onabotulinumtoxinA (Botox): blocked today (reasons above; interval over from {over})" in text
    assert 'class="ok"' not in page[page.index('id="banner"') : page.index("</section>")]


def test_banner__a_clean_current_screening_shows_no_block_and_now_is_green(site: Site) -> None:
    screened_today(site, medications=["paracetamol"])
    log_in(site, "physician")
    page = site.client.get(f"/patients/{site.world.patient_id}").text
    text = banner_text(page)
    assert "block" not in text.lower().replace("blocked", "")  # no block badge, no block line
    assert "No screening, interval or review rule stands against an injection today." in text
    assert re.search(r'<span class="ok">onabotulinumtoxinA \(Botox\): now \(from ', page)


def test_banner__too_soon_blocks_its_own_product_only(site: Site) -> None:
    """A session 20 days ago blocks that product, in the engine's words; the verdict says so."""
    w = site.world
    with transaction(site.engine) as db:
        saved_session(db, w, day=DAY)
    site.clock.now = dt.datetime.combine(DAY + dt.timedelta(days=20), dt.time(9))
    log_in(site, "physician")
    text = banner_text(site.client.get(f"/patients/{w.patient_id}").text)
    assert "Blocked today for onabotulinumtoxinA (not for other products), for this reason:" in text
    assert f"block Last onabotulinumtoxinA session was 20 days ago ({DAY})" in text


def test_session_form__opens_on_the_blocks_before_any_product_is_chosen(site: Site) -> None:
    screened_today(
        site,
        pregnant=True,
        infection_at_injection_site=True,
        conditions=["myasthenia_gravis"],
        medications=["paracetamol"],
    )
    log_in(site, "physician")
    page = site.client.get(f"/patients/{site.world.patient_id}/sessions/new").text
    assert 'id="standing"' in page and page.index('id="standing"') < page.index('id="session-form"')
    text = page_text(page)
    assert "Injection blocked today for these 3 reasons:" in text
    for message in BLOCKS:  # the chart's words
        assert text.count(f"block {message}") == 1, (message, text)
    assert "The plan itself is judged below as you complete it." in text


def test_banner__a_block_of_one_product_is_not_counted_among_the_reasons_against_any_injection(
    site: Site,
) -> None:
    """QA pass 4, finding 13: pregnancy and a cow's milk allergy read "Injection blocked today for
    these 2 reasons", though the allergy blocks Dysport only, and the allergy came last."""
    screened_today(site, pregnant=True, allergies=["milk (anaphylaxis)"], medications=["ibuprofen"])
    log_in(site, "physician")
    text = banner_text(site.client.get(f"/patients/{site.world.patient_id}").text)
    assert "these 2 reasons" not in text
    verdict = text.index("Injection blocked today for this reason: block Pregnancy.")
    also = text.index(
        "block Also blocked for abobotulinumtoxinA (Dysport): Cow's milk protein allergy "
        "(entered as 'milk (anaphylaxis)'): contraindicates abobotulinumtoxinA."
    )
    warning = text.index("warn Non-steroidal anti-inflammatory drug: ibuprofen.")
    assert verdict < also < warning < text.index("Allergies")  # blocks before warnings
    assert text.count("Source") == 3


def test_banner__a_one_product_block_alone_names_its_product(site: Site) -> None:
    screened_today(site, allergies=["Cow's milk (hives)"])
    log_in(site, "physician")
    text = banner_text(site.client.get(f"/patients/{site.world.patient_id}").text)
    assert (
        "Blocked today for abobotulinumtoxinA (not for other products), for this reason: block Cow's milk "
        "protein allergy (entered as 'Cow's milk (hives)'): contraindicates abobotulinumtoxinA."
    ) in text
