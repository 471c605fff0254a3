"""The one sentence splitter: verbatim spans, abbreviations kept whole, lines never run together."""

from __future__ import annotations

import itertools
import re

from assistant.sentences import sentence_spans, sentences


def test_abbreviations_and_decimals_do_not_end_a_sentence() -> None:
    text = "Dr. Smith paid $2.9B in the U.S. at 5 p.m. on Monday, e.g. for tariffs. He left."
    assert sentences(text) == [
        "Dr. Smith paid $2.9B in the U.S. at 5 p.m. on Monday, e.g. for tariffs.",
        "He left.",
    ]


def test_a_period_standing_alone_is_a_symbol_not_a_sentence_end() -> None:
    text = (
        "The path.extname() method returns the extension, from the last occurrence of the . (period)"
        " character to the end. Notice that the . needs to be treated specially. Use from . import mod.\n"
        "A line ending in a lone ."
    )
    assert sentences(text) == [
        "The path.extname() method returns the extension, from the last occurrence of the . (period)"
        " character to the end.",
        "Notice that the . needs to be treated specially.",
        "Use from . import mod.",
        "A line ending in a lone .",
    ]


def test_each_line_is_split_on_its_own_and_spans_index_the_text() -> None:
    text = "Headline without stop\n\n  First point. Second point!\nLast line?"
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["Headline without stop", "First point.", "Second point!", "Last line?"]


def test_a_bulleted_line_is_still_split_and_keeps_its_bullet() -> None:
    # sentencex alone leaves "• A. B." as one item; the bullet must not hide the boundary.
    text = "• The regulators met. They agreed on it.\n•\n◦ Nested item"
    assert sentences(text) == ["• The regulators met.", "They agreed on it.", "•", "◦ Nested item"]


def test_offsets_are_code_points_with_accents_emoji_and_quotes() -> None:
    text = "Le café coûte 3 €. Ça va? 😀 Emoji here. “Quoted.” Done."
    spans = sentence_spans(text)
    assert all(text[s:e] == text[s:e].strip() and text[s:e] for s, e in spans)
    assert text[spans[0][0] : spans[0][1]] == "Le café coûte 3 €."
    assert text[spans[-1][0] : spans[-1][1]] == "Done."


def test_spans_cover_every_non_space_character_in_order() -> None:
    text = "One. Two!  Three?\n\n- a list item. With two sentences\n\t...and trailing dots... \nend"
    spans = sentence_spans(text)
    assert spans == sorted(spans)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    covered = "".join(text[s:e] for s, e in spans)
    assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", text)


def test_empty_and_blank_text_have_no_sentences() -> None:
    assert sentences("") == []
    assert sentences(" \n\t\n ") == []
