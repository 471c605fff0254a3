"""The cleaner drops boilerplate of any wording and keeps every sentence of the article."""

from __future__ import annotations

import re

import pytest

from ingest.clean import clean
from tests.conftest import CORPUS

#: Strings from the shipped corpus's noise; none may survive cleaning.
NOISE = (
    "Advertisement",
    "Telegram",
    "BITNEWSBOT",
    "Hostinger",
    "AMD",
    "Bitcoin",
    "Qualcomm",
    "Prediction Markets",
    "Multicoin",
    "Ethereum",
    "Need Help",
    "BABL AI",
    "target=",
    "rel=",
    "noopener",
    "″",
    "#AD",
    "Latest News",
    "Previous Articles",
    "Must Read",
    "QUICK LINKS",
)


def _corpus() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))}


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|(?<=[.!?][”\"])\s+", text) if s]


@pytest.mark.parametrize("name", sorted(_corpus()))
def test_no_noise_survives_in_the_corpus(name: str) -> None:
    cleaned, _ = clean(_corpus()[name])
    for noise in NOISE:
        assert noise not in cleaned, f"{noise!r} survived cleaning of {name}"


def test_every_article_sentence_of_the_corpus_is_kept() -> None:
    corpus = _corpus()
    # The article bodies, taken from the raw files up to where their trailing boilerplate starts.
    bodies = {
        "privacy-regulators-unite-against-ai-imagery.txt": corpus["privacy-regulators-unite-against-ai-imagery.txt"],
        "regulators-joint-statement-on-ai-imagery.txt": corpus["regulators-joint-statement-on-ai-imagery.txt"].split(
            "Need Help?"
        )[0],
        "unicef-ai-child-deepfakes.txt": corpus["unicef-ai-child-deepfakes.txt"].split("✅")[0],
    }
    for name, body in bodies.items():
        cleaned, _ = clean(corpus[name])
        flat = " ".join(cleaned.split())
        for line in body.splitlines():
            line = line.strip().lstrip("•").strip()
            if not line or "Advertisement" in line:
                continue
            line = re.sub(r"\S*″ target=.*?>", "", line)  # the broken link, checked separately
            for sentence in _sentences(line):
                assert " ".join(sentence.split()) in flat, f"lost from {name}: {sentence!r}"


def test_broken_link_fragment_becomes_plain_prose() -> None:
    cleaned, removed = clean(_corpus()["unicef-ai-child-deepfakes.txt"])
    assert "This follows a ban on Grok in the Philippines, Indonesia, and Malaysia" in cleaned
    assert any(r.kind == "markup" and "noopener" in r.text for r in removed)


def test_removals_are_reported_by_kind() -> None:
    _, removed = clean(_corpus()["unicef-ai-child-deepfakes.txt"])
    kinds = {r.kind for r in removed}
    assert {"ad-marker", "share-line", "teaser-list", "markup"} <= kinds
    teaser = next(r.text for r in removed if r.kind == "teaser-list")
    assert "Qualcomm" in teaser and "Ethereum" in teaser


def test_promo_callout_goes_but_the_article_stays() -> None:
    cleaned, removed = clean(_corpus()["regulators-joint-statement-on-ai-imagery.txt"])
    assert "Need Help" not in cleaned and "hesitate" not in cleaned
    assert cleaned.endswith("do not come at the expense of fundamental rights.")
    assert [r.kind for r in removed] == ["promo"]


def test_synthetic_help_article_with_other_wording() -> None:
    text = (
        "How to export your data\n"
        "We use cookies to give you the best experience. "
        "By continuing to browse you accept our cookie policy.\n"
        "Accept all\n"
        "You can export every project as a ZIP archive from Settings &gt; Export. "
        "Exports include attachments &amp; comments.\n"
        "\n"
        "Share this article on Twitter\n"
        "Sponsored\n"
        "Large exports are emailed to the account owner within an hour.\n"
        "\n"
        "Related posts\n"
        "- How to import a project\n"
        "- Billing and invoices explained\n"
        "- What changed in version 5...\n"
        "\n"
        "© 2024 Foo Inc. All rights reserved.\n"
    )
    cleaned, removed = clean(text)
    assert "How to export your data" in cleaned
    assert "from Settings > Export. Exports include attachments & comments." in cleaned
    assert "Large exports are emailed to the account owner within an hour." in cleaned
    for noise in (
        "cookie",
        "Accept all",
        "Share this",
        "Sponsored",
        "Related posts",
        "import a project",
        "Billing",
        "version 5",
        "©",
        "rights reserved",
    ):
        assert noise not in cleaned, noise
    assert {"cookie", "share-line", "ad-marker", "teaser-list", "copyright"} <= {r.kind for r in removed}


def test_teaser_list_stops_at_the_next_real_paragraph() -> None:
    text = (
        "The first paragraph of the story explains the change in detail.\n\n"
        "Read more:\n\n"
        "Ten tips for faster builds\n\n"
        "Why caching matters more than you think...\n\n"
        "The story continues here with a full paragraph that is clearly part of the article. "
        "It has two sentences.\n"
    )
    cleaned, _ = clean(text)
    assert "Ten tips" not in cleaned and "caching matters" not in cleaned
    assert "The story continues here with a full paragraph" in cleaned
    assert "The first paragraph of the story" in cleaned


def test_straight_quote_markup_tags_and_entities() -> None:
    text = (
        'Read the <a href="https://example.com/guide">setup guide</a> first.\n'
        'It links to the annual-report-2024" target="_blank" rel="noopener">annual report of the board.\n'
        "Prices rose 5&nbsp;% &mdash; fast.\n"
    )
    cleaned, _ = clean(text)
    assert "Read the setup guide first." in cleaned
    assert "It links to the annual report of the board." in cleaned
    assert "Prices rose 5 % — fast." in cleaned
    assert "<" not in cleaned and "href" not in cleaned


def test_scripts_slash_tags_and_entity_tags_are_markup_not_text() -> None:
    text = (
        "It took &lt;b&gt;two years&lt;/b&gt; to decide.\n"
        "A page <svg/onload=alert('svg')> said hello.\n"
        "Before <script>alert('xss-script')</script> the end.\n"
        '<script type="text/javascript">\nvar tracker = 1;\n</script>\n'
        "The header &lt;stdio.h&gt; is included when 3 &lt; 5 and x<y.\n"
    )
    cleaned, removed = clean(text)
    assert cleaned.split("\n\n") == [
        "It took two years to decide.",
        "A page said hello.",
        "Before the end.",
        "The header <stdio.h> is included when 3 < 5 and x<y.",  # no tags: kept as written
    ]
    assert "alert" not in cleaned and "tracker" not in cleaned
    reported = [r.text for r in removed if r.kind == "markup"]
    assert "<script>alert('xss-script')</script>" in reported and "<svg/onload=alert('svg')>" in reported


def test_a_see_also_box_and_the_signatures_after_it_are_kept() -> None:
    # A help page's "See also" box is a cross-reference, not a list of teasers: dropping it had
    # taken the short lines after it too, here the method's signature and its section heading.
    text = (
        "The event loop runs tasks and callbacks.\n\nSee also\n\nModule asyncio.subprocess\n\n"
        "coroutine loop.sock_accept(sock)\n\nAccept a connection.\n\nRunning Subprocesses\n\n"
        "Methods described in this subsection are low-level.\n"
    )
    cleaned, removed = clean(text, markup=False)
    assert "coroutine loop.sock_accept(sock)" in cleaned and "Running Subprocesses" in cleaned
    assert "See also" in cleaned and not [r for r in removed if r.kind == "teaser-list"]


def test_a_tables_rule_line_is_no_paragraph() -> None:
    # Markdown and extracted HTML tables are stored as pipe rows; their "|---|---|" rule line had
    # become a paragraph of its own, which could be quoted.
    text = "| Plan | Storage |\n|---|:---:|\n| Free | 5 GB |\n\nA line --- with dashes stays.\n"
    cleaned, removed = clean(text, markup=False)
    assert cleaned.split("\n\n") == ["| Plan | Storage |", "| Free | 5 GB |", "A line --- with dashes stays."]
    assert [r.text for r in removed if r.kind == "markup"] == ["|---|:---:|"]


def test_prose_that_mentions_ads_or_cookies_is_kept() -> None:
    text = (
        "Advertisement revenue fell sharply in the third quarter, the company said in its filing.\n"
        "Regulators said websites must ask before they use cookies to track visitors across sites, "
        "and that sponsored content must be labelled clearly for readers.\n"
        "Like many regulators, the agency asked Facebook and Telegram to remove the images.\n"
    )
    cleaned, removed = clean(text)
    assert cleaned == text.strip().replace("\n", "\n\n")
    assert removed == ()


def test_bullets_lose_their_glyph_and_stay_separate_items() -> None:
    cleaned, _ = clean("Key points:\n  • First point here.\n  ▪ Second point here.\n* Third point.\n")
    assert cleaned.split("\n\n") == ["Key points:", "First point here.", "Second point here.", "Third point."]


def test_hard_wrapped_lines_are_joined() -> None:
    cleaned, _ = clean("The committee met on Monday and\nagreed to publish the report.\n")
    assert cleaned == "The committee met on Monday and agreed to publish the report."


def test_a_repeated_line_is_judged_alike_on_every_page_and_every_time() -> None:
    # A line's boilerplate check is remembered (a page's paragraph is checked as a line and again
    # as a paragraph, and a help site repeats its captions): each page still reports its own removals.
    page = "Share this article\n\nThe council approved the budget on Monday.\n\nShare this article"
    for _ in range(3):
        cleaned, removed = clean(page, markup=False)
        assert cleaned == "The council approved the budget on Monday."
        assert [(r.kind, r.text) for r in removed] == [("share-line", "Share this article")] * 2
    long_line = "Share this article " + "and more words " * 30  # over 300 characters: prose, never boilerplate
    assert clean(long_line.strip(), markup=False)[0] == long_line.strip()
