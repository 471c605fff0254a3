"""Boilerplate removal for any document, by general patterns (never by one site's exact strings).

`clean(text)` returns the cleaned text and what it removed, as `Removal(kind, text)`s for
`ingest --report`. Kinds: ``ad-marker``, ``share-line``, ``promo``, ``teaser-list``,
``cookie``, ``copyright``, ``markup``.

The cleaned text is what the store keeps and what citation offsets index into, so the
output format is fixed: one paragraph per line-block, paragraphs separated by one blank
line, bullet glyphs dropped (each item stays its own paragraph), no leading or trailing
whitespace on any line. The rules are conservative about real prose: a line is dropped
only when it is short and matches a boilerplate shape, so an article's own sentences stay.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import lru_cache

from assistant.types import Removal

# Quote characters seen around attribute values in mangled HTML: straight, curly, primes.
_Q = "\"'\u2018\u2019\u201c\u201d\u2032\u2033"

# Attribute debris left when an <a ...> tag was half-stripped, e.g.
#   slug-0748″ target=”_blank” rel=”nofollow external noopener”>ban on Grok
# optional URL/slug token glued to a quote, then attr="value" pairs, then ">".
_ATTR_DEBRIS = re.compile(
    rf"(?:[^\s{_Q}<>]*[{_Q}]\s*)?"
    rf"(?:\b[a-zA-Z][\w:-]*\s*=\s*[{_Q}][^{_Q}<>]*[{_Q}]\s*)+/?>"
)
# A whole tag, or a stray closing tag. Autolinks like <https://x> are kept (":" after the name).
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:[\s/][^<>]*)?>")
# A script or style element: its contents are code, never the document's text (it may span lines).
_CODE_ELEMENT = re.compile(r"<(script|style)\b[^<>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
# The rule line of a pipe table ("| --- | :---: |"), as Markdown and extracted HTML tables write it.
_TABLE_RULE = re.compile(r"^\|?(?:\s*:?-{3,}:?\s*\|)+\s*:?(?:-{3,}:?)?\s*$")
_BULLET = re.compile(r"^(?:[\u2022\u25aa\u25e6\u25cf\u00b7\u2023\u2043\u2219\u25a0\u25a1\u2013*+]|-(?=\s))\s+")
# Leading emoji / symbols / punctuation before the words of a line ("✅ Follow us ...").
_LEAD_SYMBOLS = re.compile(r"^[\W_]+")
_TERMINAL = re.compile(r"[.!?][\"'\u2019\u201d)\]]*$")
_TRUNCATED = re.compile(r"(?:\.\.\.|\u2026)[\"'\u2019\u201d)\]]*$")

_AD_MARKER = re.compile(
    r"^[\W_]*(?:advertisement|advertisements|advert|ad|ads|sponsored|sponsored content|"
    r"paid content|promoted|paid post|partner content|story continues below)[\W_]*$",
    re.IGNORECASE,
)
_AD_TAG = re.compile(r"(?:^|\s)(?:#ad|#sponsored|\[ad\]|\(ad\)|\(sponsored\))\b", re.IGNORECASE)
_SOCIAL = (
    r"telegram|facebook|twitter|x\.com|linkedin|instagram|whatsapp|youtube|google news|reddit|"
    r"tiktok|threads|mastodon|bluesky|pinterest|email|e-mail|newsletter|rss"
)
# "Follow X on Telegram", "Share this article on Twitter", "Subscribe to our newsletter": a call
# to action aimed at a channel, so prose that merely mentions Facebook is not matched.
_SHARE = re.compile(
    r"^(?:follow|share|subscribe|join|find|connect with|sign up|like)\b.{0,80}?\b(?:on|via|to|at|with)\s+"
    rf"(?:us\s+on\s+|our\s+)?(?:{_SOCIAL})\b",
    re.IGNORECASE,
)
_SHARE_BARE = re.compile(
    r"^(?:share|share this(?: article| post| story| page)?|share on|tweet|"
    rf"(?:{_SOCIAL})(?:\s*[,|/]\s*(?:{_SOCIAL}))*)\s*:?$",
    re.IGNORECASE,
)
_COOKIE = re.compile(
    r"\b(?:(?:we|this (?:site|website)|our (?:site|website))\s+uses?\s+cookies|"
    r"cookie (?:policy|settings|preferences|consent|notice)|accept (?:all )?cookies|"
    r"by (?:continuing|using this (?:site|website)).{0,60}\bcookies?)\b",
    re.IGNORECASE,
)
_COOKIE_BUTTON = re.compile(
    r"^(?:accept|accept all|reject|reject all|decline|manage (?:preferences|cookies|settings)|"
    r"cookie settings|got it|ok|i agree|allow all)[.!]?$",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(r"^(?:\u00a9|\(c\)\s|copyright\b)|\ball rights reserved\b", re.IGNORECASE)
_PROMO_HEADING = re.compile(
    r"^(?:need (?:help|assistance|support|advice)|have questions|got questions|questions|"
    r"contact us|get in touch|want to (?:learn|know) more|looking for (?:help|support|advice)|"
    r"talk to (?:us|an expert)|work with us)\s*[?!:.]?$",
    re.IGNORECASE,
)
_CALL_TO_ACTION = re.compile(
    r"\b(?:reach out|contact us|get in touch|don[\u2019']?t hesitate|sign up|subscribe|book a|"
    r"schedule a|click here|learn more|call us|email us|our (?:experts|team) (?:is|are) ready)\b",
    re.IGNORECASE,
)
_TEASER_HEADING = re.compile(
    r"^(?:previous (?:articles?|posts?|stories)|next (?:articles?|posts?|stories)|"
    r"latest(?: news| posts| stories| articles| updates)?|must reads?|related(?: posts| articles| stories| "
    r"news| reading| content| links)?|read more|read next|more (?:news|stories|articles|from [\w .]+)|"
    r"recommended(?: for you| reading| articles| stories)?|you (?:may|might) also like|"
    r"popular(?: posts| articles| stories| now)?|most (?:read|popular|viewed)|trending(?: now| news)?|"
    r"top stories|further reading|editor'?s picks|also read|in other news|more to read|"
    r"quick links|what to read next)\s*[:.]?$",
    re.IGNORECASE,
)

_SPACE_RUN = re.compile(r"[ \t]{2,}")

_MAX_BOILERPLATE_CHARS = 300  # boilerplate lines are short; longer lines are treated as prose
_HEADLINE_CHARS = 160


def _normalise_inline(line: str, removals: list[Removal], markup: bool = True) -> str:
    """Normalise spaces in a line; with `markup`, also drop markup debris and decode entities."""
    if markup:
        for pattern in (_TAG, _ATTR_DEBRIS):  # whole tags first, then half-stripped debris
            for match in pattern.finditer(line):
                removals.append(Removal("markup", match.group().strip()))
            line = pattern.sub("", line)
        line = html.unescape(line)
        # A tag written as entities ("&lt;b&gt;") is markup once decoded.
        for match in _TAG.finditer(line):
            removals.append(Removal("markup", match.group().strip()))
        line = _TAG.sub("", line)
    line = line.replace("\u00a0", " ")
    line = _SPACE_RUN.sub(" ", line)
    return line.strip()


def _words(line: str) -> str:
    """The line without leading emoji/bullets/punctuation, for matching."""
    return _LEAD_SYMBOLS.sub("", line).strip()


def _is_headline(line: str) -> bool:
    """A teaser headline: short, and not a finished sentence."""
    return 0 < len(line) <= _HEADLINE_CHARS and not _TERMINAL.search(line)


def _is_teaser(line: str) -> bool:
    """A line that belongs in a list of teasers: a headline, a truncated blurb, or more boilerplate."""
    return (
        _is_headline(line)
        or bool(_TRUNCATED.search(line))
        or _boilerplate_kind(line) is not None
        or bool(_TEASER_HEADING.match(_words(line)))
    )


def _boilerplate_kind(line: str) -> str | None:
    """The kind of a single boilerplate line, or None when it reads as content."""
    if len(line) > _MAX_BOILERPLATE_CHARS:
        return None
    return _short_line_kind(line)


# A line is checked once as a line and again as its paragraph (a web page's paragraphs are one
# line each), and a help site repeats its headings and captions on every page.
@lru_cache(maxsize=8192)
def _short_line_kind(line: str) -> str | None:
    words = _words(line)
    if _AD_MARKER.match(line) or _AD_TAG.search(line):
        return "ad-marker"
    if _SHARE.match(words) or _SHARE_BARE.match(words):
        return "share-line"
    if _COOKIE.search(line) or _COOKIE_BUTTON.match(words):
        return "cookie"
    if _COPYRIGHT.search(words) and len(line) <= 200:
        return "copyright"
    return None


def _unwrap(lines: list[str]) -> list[str]:
    """Join hard-wrapped lines: a line not ending a sentence, followed by one starting lowercase."""
    out: list[str] = []
    for line in lines:
        if (
            out
            and out[-1]
            and line
            and not _TERMINAL.search(out[-1])
            and (line[0].islower() or out[-1].endswith((",", "-")))
        ):
            joiner = "" if out[-1].endswith("-") and line[0].islower() else " "
            out[-1] = out[-1] + joiner + line
        else:
            out.append(line)
    return out


def _drop_sections(
    paras: list[str], removals: list[Removal], is_heading: Callable[[str], bool], keep: Callable[[str], bool]
) -> list[str]:
    """Remove each heading matched by `is_heading` plus the following paragraphs until `keep` says stop."""
    out: list[str] = []
    i = 0
    while i < len(paras):
        if not is_heading(paras[i]):
            out.append(paras[i])
            i += 1
            continue
        j = i + 1
        while j < len(paras) and not keep(paras[j]):
            j += 1
        removals.append(Removal("teaser-list", "\n".join(paras[i:j])))
        i = j
    return out


def clean(text: str, markup: bool = True) -> tuple[str, tuple[Removal, ...]]:
    """Remove boilerplate from a document's text; return (cleaned text, removals).

    Safe on any text: content that matches no boilerplate shape passes through, with only
    whitespace, bullet glyphs, HTML entities and stray markup normalised. markup=False keeps
    what looks like tags and entities: for text an HTML parser already extracted, they are
    text the page shows ("<stdin>", "&amp;").
    """
    removals: list[Removal] = []
    if markup:
        removals.extend(Removal("markup", " ".join(m.group().split())) for m in _CODE_ELEMENT.finditer(text))
        text = _CODE_ELEMENT.sub("", text)
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines: list[str] = []
    for raw_line in raw_lines:
        line = _normalise_inline(raw_line, removals, markup)
        if _TABLE_RULE.match(line):  # "|---|:---:|" under a table's header row: no text
            removals.append(Removal("markup", line))
            continue
        kind = _boilerplate_kind(line)
        if kind is None:
            lines.append(_BULLET.sub("", line))
        else:  # reported as written; the gap it leaves separates paragraphs
            removals.append(Removal(kind, line))
            lines.append("")
    # Blank lines only separate blocks; unwrap inside blocks, then every line is a paragraph.
    paras: list[str] = []
    block: list[str] = []
    for line in [*lines, ""]:
        if line:
            block.append(line)
        elif block:
            paras.extend(_unwrap(block))
            block = []

    # Single boilerplate paragraphs that only show once wrapped lines are joined.
    kept: list[str] = []
    for para in paras:
        kind = _boilerplate_kind(para)
        if kind is None:
            kept.append(para)
        else:
            removals.append(Removal(kind, para))

    # Promotional call-outs: a "Need help?" heading and the call-to-action paragraph after it.
    paras, kept = kept, []
    i = 0
    while i < len(paras):
        if _PROMO_HEADING.match(_words(paras[i])):
            nxt = paras[i + 1] if i + 1 < len(paras) else ""
            if nxt and _CALL_TO_ACTION.search(nxt):
                removals.append(Removal("promo", f"{paras[i]}\n{nxt}"))
                i += 2
                continue
            if not nxt:
                removals.append(Removal("promo", paras[i]))
                i += 1
                continue
        kept.append(paras[i])
        i += 1

    # Teaser lists: a list heading, then headlines / truncated blurbs up to the next real paragraph.
    kept = _drop_sections(
        kept,
        removals,
        is_heading=lambda p: bool(_TEASER_HEADING.match(_words(p))),
        keep=lambda p: not _is_teaser(p),
    )
    return "\n\n".join(kept), tuple(removals)
