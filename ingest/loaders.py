"""Turn files into cleaned `Document`s, or `Skipped` with a reason a user can act on.

Two steps so incremental ingest can skip unchanged files cheaply:
`read_file(path, root, max_file_bytes)` reads bytes and hashes them with `EXTRACTOR_VERSION`
(`RawFile` or `Skipped`);
`parse(raw)` extracts text by type (.txt, .md, .html/.htm via trafilatura, .pdf via pypdf),
picks a title and cleans the text (`Document` or `Skipped`).
`load_file` does both. `find_files(folder)` lists the candidate files of a folder.
"""

from __future__ import annotations

import codecs
import fnmatch
import functools
import hashlib
import io
import logging
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from assistant.types import Document, Removal, Skipped
from ingest.clean import clean

log = logging.getLogger(__name__)

TEXT_EXTENSIONS = frozenset({".txt"})
MARKDOWN_EXTENSIONS = frozenset({".md", ".markdown"})
HTML_EXTENSIONS = frozenset({".html", ".htm"})
PDF_EXTENSIONS = frozenset({".pdf"})
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS | MARKDOWN_EXTENSIONS | HTML_EXTENSIONS | PDF_EXTENSIONS

#: Part of every file's content hash: a citeline that extracts or cleans text differently bumps it, so the
#: next ingest re-reads every file (as "updated"; chunks whose text is unchanged keep their
#: vectors) instead of keeping text the old extractor made. 2: HTML paragraphs one per line,
#: code blocks line by line, text that looks like markup kept as the page shows it. 3: headings'
#: permalink glyphs ("¶") dropped. 4: Markdown front matter dropped (its title kept); pages that
#: are not UTF-8 read in their declared encoding. 5: Markdown rendered (markdown-it-py) and read
#: as a page: code blocks line by line, paragraphs one line each. 6: PDF paragraphs by line width,
#: running headers, footers and contents entries dropped, words hyphenated across lines joined.
#: 7: a page with short main text is re-read whole only when that finds much more text.
#: 8: a PDF's tags ("<mime-type>" in an XML example) are its text, not leftover markup.
#: 9: a heading's anchor id ("how-do-i-share-...") no longer makes the extractor drop its section
#:    as page furniture, an <aside> in the main content (a footnote) is kept, and a site
#:    header's <h1> is no page title; re-reading also re-chunks with sentences no longer split
#:    at a period standing alone ("the . (period) character").
#: 10: a box of paragraphs in a page's main content (a "Note") is kept, however many links it has.
#: 11: in a text file, a <script>/<style> element goes with its contents, a tag whose name ends in
#:     "/" ("<svg/onload=...>") is markup too, and so is a tag written as entities ("&lt;b&gt;"); in
#:     any document a "See also" box is kept (it had been dropped as a teaser list, and with it
#:     the signatures and headings after it: 3,513 words of 172 Python docs pages).
#: 12: a PDF's running lines are looked for in each page's first and last two lines (a header
#:     right before the page number was kept), and a placeholder metadata title ("about:blank",
#:     "Untitled", "Microsoft Word - ...") gives way to the first line.
#: 13: a title made from the file name spells its words as the document does ("AI", not "ai");
#:     a file starting with a UTF-16 or UTF-32 byte-order mark is read (it was skipped as binary).
EXTRACTOR_VERSION = 13

_TITLE_MAX_CHARS = 150
_WHITESPACE = re.compile(r"\s+")
_SNIFF_BYTES = 8192
_TITLE_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
#: Byte-order marks of the wider Unicode encodings, longest first (UTF-32 LE's starts like UTF-16 LE's).
_UNICODE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: Control characters other than the ones text uses (newline, carriage return, tab, form feed).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")


@dataclass(frozen=True)
class RawFile:
    """A file's bytes, read once, with the hash that drives incremental ingest."""

    source: str
    path: Path
    data: bytes
    content_hash: str

    @property
    def extension(self) -> str:
        return self.path.suffix.lower()


def doc_id_for(source: str) -> str:
    """Stable id of a document: a hash of its source path (same file, same id, across runs)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:24]


def _supported_list() -> str:
    return ", ".join(sorted(SUPPORTED_EXTENSIONS))


def find_files(folder: Path, exclude: Sequence[str] = ()) -> list[Path]:
    """Every non-hidden file under `folder` (recursively, sorted; symlinks included, even broken ones).

    `exclude` holds glob patterns (fnmatch) matched against paths relative to `folder`, e.g.
    ``_sources/*`` (Sphinx's copies of every page as .txt) or ``*/drafts/*``; a pattern that
    matches a folder skips everything in it.
    """

    def excluded(relative: str) -> bool:
        return any(fnmatch.fnmatchcase(relative, pattern) for pattern in exclude)

    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and not excluded(source_for(here / d, folder))
        )
        found.extend(
            here / name
            for name in filenames
            if not name.startswith(".") and not excluded(source_for(here / name, folder))
        )
    return sorted(found)


def source_for(path: Path, root: Path) -> str:
    """The path relative to the ingested folder, with POSIX separators."""
    return path.relative_to(root).as_posix()


def _size_text(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def read_file(path: Path, root: Path, max_file_bytes: int) -> RawFile | Skipped:
    """Read and hash one file; unsupported, over-size, unreadable and empty files are `Skipped`."""
    source = source_for(path, root)
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        shown = ext or "(no extension)"
        return Skipped(source, f"unsupported file type {shown}; citeline reads {_supported_list()}")
    if path.is_symlink() and not path.exists():
        return Skipped(source, "cannot read the file: it is a broken symbolic link")
    if path.is_dir():
        return Skipped(source, "cannot read the file: it is a folder, not a file")
    if not path.is_file():  # reading a named pipe would wait for a writer forever
        return Skipped(source, "cannot read the file: it is not a regular file (a named pipe, socket or device)")
    try:
        size = path.stat().st_size
        if size > max_file_bytes:
            return Skipped(
                source,
                f"file is {_size_text(size)}, over the {_size_text(max_file_bytes)} limit "
                "(raise CITELINE_MAX_FILE_BYTES to include it)",
            )
        data = path.read_bytes()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        return Skipped(source, f"cannot read the file ({why}); check that it exists and you may read it")
    if not data.strip():
        return Skipped(source, "empty file")
    digest = hashlib.sha256(f"citeline-extractor-{EXTRACTOR_VERSION}\x00".encode() + data).hexdigest()
    return RawFile(source, path, data, digest)


def _page_encoding(data: bytes) -> str | None:
    """The encoding a web page's bytes are in, read as a browser would, or None if unknown.

    libxml2 honours the page's own declaration (``<meta charset>``, an http-equiv Content-Type,
    an XML declaration) and falls back to ISO-8859-1. Browsers read that label, and ASCII, as
    windows-1252 (WHATWG Encoding Standard), so "o\x92clock" is "o’clock" as its author saw it.
    """
    import codecs

    import lxml.html
    from lxml.etree import ParserError

    try:
        declared = lxml.html.document_fromstring(data).getroottree().docinfo.encoding
        name = codecs.lookup(declared).name if declared else None
    except (ParserError, ValueError, LookupError):
        return None
    return "cp1252" if name in ("iso8859-1", "ascii") else name


def _decode_text(raw: RawFile, *, page: bool = False) -> str | Skipped:
    """The file's text: UTF-8 (a BOM is dropped); a web `page` may be in the encoding it declares."""
    head = raw.data[:_SNIFF_BYTES]
    # A byte-order mark says how the rest is encoded: Windows Notepad saves "Unicode" as UTF-16,
    # whose NUL bytes would otherwise read as a binary file's.
    bom = next((enc for mark, enc in _UNICODE_BOMS if raw.data.startswith(mark)), None)
    if bom is not None:
        try:
            return raw.data.decode(bom)
        except UnicodeDecodeError as exc:
            return Skipped(
                raw.source,
                f"starts as {bom.upper()} text but is not valid {bom.upper()} (bad bytes at position {exc.start}); "
                "save the file as UTF-8",
            )
    if b"\x00" in head:
        return Skipped(raw.source, f"looks like a binary file, not {raw.extension} text (has NUL bytes)")
    try:
        text = raw.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        why = f"not valid UTF-8 text (bad byte 0x{raw.data[exc.start]:02x} at position {exc.start})"
        # A page whose other non-ASCII characters are UTF-8 is UTF-8 with a stray byte: read in
        # another encoding, every one of them would turn to mojibake ("Ã©").
        utf8_elsewhere = page and any(ord(ch) > 127 for ch in raw.data.decode("utf-8", errors="ignore"))
        encoding = _page_encoding(raw.data) if page and not utf8_elsewhere else None
        if encoding is None or encoding == "utf-8":
            return Skipped(raw.source, f"{why}; save the file as UTF-8")
        try:
            text = raw.data.decode(encoding)
        except UnicodeDecodeError as bad:
            return Skipped(
                raw.source,
                f"{why}, nor valid {encoding} as the page declares (bad byte 0x{raw.data[bad.start]:02x} "
                f"at position {bad.start}); save the file as UTF-8",
            )
    sample = text[:_SNIFF_BYTES]
    control = len(_CONTROL_CHARS.findall(sample))
    if control > max(4, len(sample) // 20):
        return Skipped(raw.source, f"looks like a binary file, not {raw.extension} text (control bytes)")
    return text


def title_from_filename(source: str, text: str = "") -> str:
    """A readable title from a file name: 'docs/reset_your-password.md' -> 'Reset your password'.

    A lower-case word of the name that `text` never writes in lower case is spelt as the text
    spells it most often: "statement-on-ai-imagery.txt" of an article saying "AI" is titled
    "Statement on AI imagery", "grok-bans.txt" "Grok bans".
    """
    stem = re.sub(r"[-_\s]+", " ", Path(source).stem).strip()
    if not stem:
        return source
    if text:
        # Only the name's own words are counted: the text may be a long document.
        forms: dict[str, Counter[str]] = {w: Counter() for w in stem.split(" ") if w.islower()}
        for word in _TITLE_WORD.findall(text):
            if (key := word.lower()) in forms:
                forms[key][word] += 1
        words = []
        for word in stem.split(" "):
            seen = forms.get(word)
            words.append(seen.most_common(1)[0][0] if seen and word not in seen else word)
        stem = " ".join(words)
    return stem[:1].upper() + stem[1:]


def _headline(line: str) -> str | None:
    """`line` if it reads as a headline: short, several words, not ending a sentence."""
    line = line.strip().lstrip("#").strip()
    if not line or len(line) > _TITLE_MAX_CHARS or len(line.split()) < 2:
        return None
    if line.endswith((".", ",", ";", ":")):
        return None
    return line


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")


def _front_matter(text: str) -> tuple[str, str | None]:
    """A Markdown page's text without its YAML front matter (Jekyll, Hugo, MkDocs), and the
    title the front matter gives, if any. Front matter that does not parse is left as text."""
    import frontmatter
    import yaml

    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError:
        return text, None
    if not post.metadata:
        return text, None
    title = post.metadata.get("title")
    return post.content, (" ".join(title.split()) or None) if isinstance(title, str) else None


class _Loaded(NamedTuple):
    """A file's text as extracted, its own title if it has one, and what extraction dropped."""

    body: str
    title: str | None
    removed: tuple[Removal, ...] = ()


def _load_text(raw: RawFile) -> _Loaded | Skipped:
    text = _decode_text(raw)
    if isinstance(text, Skipped):
        return text
    return _Loaded(text, _headline(_first_line(text)))


def _load_markdown(raw: RawFile) -> _Loaded | Skipped:
    """A Markdown page as a reader sees it rendered: rendered to HTML (markdown-it-py, CommonMark
    plus tables), then read like any web page, so code blocks, lists and tables come out as
    they do from a help site's HTML. Title: the front matter's, else the first heading's."""
    from markdown_it import MarkdownIt

    text = _decode_text(raw)
    if isinstance(text, Skipped):
        return text
    text, meta_title = _front_matter(text)
    html = MarkdownIt("commonmark").enable("table").render(text)
    loaded = _page_text(f"<html><body><main>{html}</main></body></html>", raw.source, rendered=True)
    if isinstance(loaded, Skipped):
        return loaded
    return loaded._replace(title=meta_title or loaded.title or _headline(_first_line(loaded.body)))


# A heading's permalink glyph (Sphinx "¶", GitHub-style "#", "§", "🔗") is not part of its title.
_PERMALINK_GLYPHS = "¶ # § 🔗"


def _page_title(tree: Any) -> str | None:
    """The page's own title: its first <h1> (what a reader sees), else <title>."""
    for heading in tree.xpath("//h1"):
        text = " ".join(heading.text_content().split()).rstrip(_PERMALINK_GLYPHS)
        if text:
            return text
    titles = tree.xpath("//title")
    text = " ".join(titles[0].text_content().split()) if titles else ""
    return text or None


@functools.cache
def _html_parser() -> Any:
    """lxml.html's parser, but every element an `HtmlElement` picked in C.

    lxml.html's own parser asks a Python method for the class of each element object it hands
    out (a form control gets its own class), and trafilatura walks the tree it is given many
    times over: on the Python docs those calls were a tenth of the page's extraction time.
    Nothing here or in trafilatura uses the form classes' extras; the text comes out the same.
    """
    import lxml.html
    from lxml import etree

    parser = etree.HTMLParser()  # lxml.html.HTMLParser's options: the defaults
    parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(
            element=lxml.html.HtmlElement,
            comment=lxml.html.HtmlComment,
            pi=lxml.html.HtmlProcessingInstruction,
            entity=lxml.html.HtmlEntity,
        )
    )
    return parser


def _without_page_chrome(page: str) -> tuple[Any, str | None]:
    """The page's parsed tree minus nav, sidebars, footers and forms (or the raw page if it does
    not parse), and the page's title.

    trafilatura drops these when it finds an article; on a page without one it can return link
    text, and removing the chrome first makes such a page come out empty instead.
    """
    import lxml.html
    from lxml.etree import ParserError

    try:
        tree = lxml.html.document_fromstring(page, parser=_html_parser())
    except (ParserError, ValueError):
        return page, None
    in_main = "ancestor::article or ancestor::main or ancestor::*[@role='main']"
    # An <aside> in the main content is the document's own (a footnote, a sidebar box); the
    # extractor drops every <aside>, so those are read as plain blocks.
    for aside in tree.xpath(f"//aside[{in_main}]"):
        aside.tag = "div"
    # A box of paragraphs in the main content (a "Note", "Changed in version ...") is prose, but
    # a docs generator links every name of code in it ("open()", "str", "bytes"), and trafilatura
    # deletes a link-dense <div> as a list of links: the Python FAQ lost "To read and write binary
    # data, it is mandatory to open the file in binary mode". It keeps a <section> whatever its
    # links, and still drops one whose class or id reads as furniture ("share", "related").
    for box in tree.xpath(f"//div[p][{in_main}]"):
        box.tag = "section"
    chrome = tree.xpath(
        "//nav | //aside | //footer | //form | //button | //script | //style | //noscript"
        " | //header[not(ancestor::article) and not(ancestor::main)]"
    )
    # A heading's permalink ("Why is Python slow?¶") is a link to the heading, not its text.
    permalinks = [
        a for a in tree.xpath("//a[starts-with(@href, '#')]") if a.text_content().strip() in _PERMALINK_GLYPHS.split()
    ]
    for element in chrome + permalinks:
        element.drop_tree()
    # The title is read without the chrome: a site header's <h1> ("Node.js v20 documentation")
    # names the site, not the page, so such a page is titled by its <title> ("Path | Node.js ...").
    title = _page_title(tree)
    _without_heading_anchors(tree)
    return tree, title


_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _without_heading_anchors(tree: Any) -> None:
    """Remove the ids that only name a heading's anchor, in place.

    A docs generator gives each heading, or the section it opens, an id spelled from the
    heading's words ("how-do-i-share-global-variables-across-modules"). trafilatura drops any
    element whose id holds words like "share", "related", "nav", "menu", "footer", "author" or
    "tags" as page furniture: the Python FAQ lost "Why are default values shared between
    objects?" with its whole answer. An id whose words are all its heading's words is no sign of
    furniture, only a link target; ids like "content" or "sidebar" stay.
    """
    for element in tree.xpath("//*[@id]"):
        if element.tag in _HEADINGS:
            heading = element
        elif not any(c.tag in _HEADINGS for c in element):
            continue  # an API entry's <dt>, a code block: no heading among its children
        else:
            # The section's first child with text (Sphinx puts an empty anchor <span> first).
            first = next((c for c in element if isinstance(c.tag, str) and c.text_content().strip()), None)
            if first is None or first.tag not in _HEADINGS:
                continue
            heading = first
        words = set(re.findall(r"[a-z0-9]+", heading.text_content().lower()))
        named = re.findall(r"[a-z0-9]+", element.get("id", "").lower())
        # A repeated heading's id ends in a number ("setup-1").
        if named and all(w in words or w.isdigit() for w in named) and not all(w.isdigit() for w in named):
            del element.attrib["id"]


def _one_line_per_paragraph(tree: Any) -> None:
    """Collapse whitespace in the page's text outside <pre>, in place.

    A page's source wraps its paragraphs wherever its author's editor did; those line breaks
    are only spaces to a reader. Collapsed, every paragraph, heading and list item comes out
    of the extractor as one line, and a code block as its own lines, so prose is never glued
    to the code after it ("... as well): import sys try: f = open(...)").
    """
    code = {element for pre in tree.iter("pre") for element in pre.iter()}
    for element in tree.iter():
        if element not in code:
            if element.text:
                element.text = _WHITESPACE.sub(" ", element.text)
            if element.tail:
                element.tail = _WHITESPACE.sub(" ", element.tail)
        elif element.tag == "pre" and element.tail:  # the text after a code block is prose again
            element.tail = _WHITESPACE.sub(" ", element.tail)


def _load_html(raw: RawFile) -> _Loaded | Skipped:
    text = _decode_text(raw, page=True)
    return text if isinstance(text, Skipped) else _page_text(text, raw.source)


#: trafilatura's own default: main text shorter than this makes it re-read the whole page.
_SHORT_MAIN_TEXT_CHARS = 250
#: The re-read is kept when it finds this many times the words (a table of links the main pass
#: dropped); otherwise it only split the same text's inline markup into lines.
_RESCUE_WORDS_RATIO = 1.5


@functools.cache
def _main_text_only_config() -> Any:
    """trafilatura settings that never re-read a page whose main text is short.

    The re-read ("rescue") recovers a page's link tables (a release chronology) but on a short
    page splits inline elements into lines ("Install it with / pip / and read the / manual").
    """
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
    return config


def _extract(text: str, config: Any | None) -> tuple[str, str | None]:
    """trafilatura's main text of a page (after `_without_page_chrome`) and the page's title."""
    import trafilatura

    page, title = _without_page_chrome(text)
    if not isinstance(page, str):
        _one_line_per_paragraph(page)
    # The title comes from the page itself: trafilatura's metadata pass (authors, dates, site
    # names via htmldate) took as long as the extraction and none of it is used. fast=True skips
    # the readability/jusText comparison: on the Python docs it changed 3 of 133 pages (index
    # pages, which kept more text) and saved a fifth of the extraction time.
    extracted: Any = trafilatura.bare_extraction(
        page,
        fast=True,
        with_metadata=False,
        include_comments=False,
        include_tables=True,
        include_formatting=False,
        **({"config": config} if config is not None else {}),
    )
    if isinstance(extracted, dict):  # older trafilatura API shape
        return extracted.get("text") or "", title
    return (extracted.text or "") if extracted is not None else "", title


def _page_text(text: str, source: str, *, rendered: bool = False) -> _Loaded | Skipped:
    """A web page's main text (a paragraph, heading, list item or code line per block) and title.

    A page citeline `rendered` itself (Markdown) is all content and is never re-read. A web page
    whose main text is short is, and the re-read is kept only when it finds much more text.
    """
    body, title = _extract(text, _main_text_only_config())
    if not rendered and len(body) < _SHORT_MAIN_TEXT_CHARS:
        rescued, _ = _extract(text, None)
        if len(rescued.split()) > _RESCUE_WORDS_RATIO * len(body.split()):
            body = rescued
    if not body.strip():
        return Skipped(source, "no main text found in the page (only navigation, scripts or markup)")
    # Each line is a paragraph, a heading, a list item or a line of code: its own block, never
    # joined to the next as a hard-wrapped line would be.
    return _Loaded("\n\n".join(body.splitlines()), title)


#: A line at the top or bottom of this many pages, digits aside, is a running header or footer
#: ("Shared MIME-info Database", "Chapter 2: ASN.1 structure handling 3", a page number).
_RUNNING_LINE_PAGES = 3
#: A line at least this share of the document's long lines' length filled the text width: the
#: paragraph goes on in the next line. A shorter one ended a heading or a paragraph.
_FULL_LINE_SHARE = 0.7
_DIGITS = re.compile(r"\d+")
#: A table of contents entry: dot leaders to a page number ("2.3 Simple parsing . . . . 4").
_CONTENTS_ENTRY = re.compile(r"(?:\.\s?){4,}\s*[\divxlc]+$")
_PDF_BULLET = re.compile(r"[•▪◦●·‣⁃∙■□–*]\s")
_SENTENCE_END = (".", "!", "?", ":")
_HYPHENATED = re.compile(r"[^\W\d_]{2}-$")  # "func-", "SE-": a word broken at the line's end


_EDGE_LINES = 2


def pdf_paragraphs(pages: Sequence[str]) -> tuple[list[str], tuple[Removal, ...]]:
    """Paragraphs from the hard-wrapped lines a PDF's pages give, without running headers and footers.

    A line continues the paragraph when the line before it filled the text width and did not end
    a sentence; a heading ("1.2. What is this spec?", "2 Unified system") is short, so it stays
    a line of its own instead of being glued to the paragraph after it. A word hyphenated across
    lines is joined ("func-" + "tion" -> "function"). Returns the paragraphs and what was dropped.
    """
    page_lines = [[line.strip() for line in page.splitlines() if line.strip()] for page in pages]
    # A page's running lines are its first and last two: a header may sit above (or, as some PDF
    # writers extract it, just before) the page number.
    edges = Counter(
        _DIGITS.sub("#", line) for lines in page_lines for line in {*lines[:_EDGE_LINES], *lines[-_EDGE_LINES:]}
    )
    running = {key for key, n in edges.items() if n >= _RUNNING_LINE_PAGES}
    dropped: Counter[str] = Counter()
    example: dict[str, str] = {}  # each running line as it first appeared
    contents: list[str] = []
    lengths = sorted(len(line) for lines in page_lines for line in lines)
    full = _FULL_LINE_SHARE * lengths[int(0.9 * (len(lengths) - 1))] if lengths else 0
    paragraphs: list[str] = []
    for lines in page_lines:
        for edge in (-1, 0) * _EDGE_LINES:
            key = _DIGITS.sub("#", lines[edge]) if lines else ""
            if key in running:
                dropped[key] += 1
                example.setdefault(key, lines[edge])
                lines = lines[:-1] if edge == -1 else lines[1:]
        current, previous = "", ""
        for line in lines:
            if _CONTENTS_ENTRY.search(line):
                contents.append(line)
                continue
            wrapped = len(previous) >= full and not previous.endswith(_SENTENCE_END)
            if current and wrapped and not _PDF_BULLET.match(line):
                same_case = line[:1].islower() or (current[-2].isupper() and line[:2].isupper())
                broken = bool(_HYPHENATED.search(current)) and same_case
                current = current[:-1] + line if broken else f"{current} {line}"
            else:
                if current:
                    paragraphs.append(current)
                current = line
            previous = line
        if current:
            paragraphs.append(current)
    removed = [
        Removal("page-header", "page numbers" if key == "#" else f"{example[key]} (on {n} pages)")
        for key, n in dropped.items()
    ]
    removed += [Removal("contents", "\n".join(contents))] if contents else []
    return paragraphs, tuple(removed)


# What PDF writers put in the title field when the author gave none: a browser's page address
# ("about:blank"), "Untitled", or the application's name before the file's ("Microsoft Word - a.docx").
_NO_TITLE = re.compile(
    r"^(?:about:\S*|\w+://\S*|untitled(?:\s+document)?|document\d*|\S+\.(?:docx?|odt|pdf|html?))$", re.I
)
_APP_PREFIX = re.compile(r"^(?:Microsoft (?:Word|PowerPoint|Excel)|Word|Pages|LibreOffice \w+)\s+-\s+", re.I)


def _pdf_title(meta: str) -> str | None:
    """A PDF's metadata title, or None when it is a placeholder rather than the document's title."""
    title = _APP_PREFIX.sub("", meta.strip())
    return None if not title or _NO_TITLE.match(title) else title


def _load_pdf(raw: RawFile) -> _Loaded | Skipped:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw.data))
        if reader.is_encrypted and not reader.decrypt(""):
            return Skipped(raw.source, "the PDF is password-protected; save an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = reader.metadata.title if reader.metadata else None
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        return Skipped(raw.source, f"not a readable PDF ({exc})")
    paragraphs, removed = pdf_paragraphs(pages)
    body = "\n\n".join(p for p in paragraphs if p)
    if not body.strip():
        return Skipped(raw.source, "the PDF has no extractable text (scanned images need OCR first)")
    title = _pdf_title(str(meta_title)) if meta_title else None
    title = title or _headline(_first_line("\n".join(pages)))
    return _Loaded(body, title, removed)


def parse(raw: RawFile) -> Document | Skipped:
    """Extract, title and clean one file's text (the raw file's content hash is kept on the Document)."""
    ext = raw.extension
    if ext in HTML_EXTENSIONS:
        loaded = _load_html(raw)
    elif ext in MARKDOWN_EXTENSIONS:
        loaded = _load_markdown(raw)
    elif ext in PDF_EXTENSIONS:
        loaded = _load_pdf(raw)
    else:
        loaded = _load_text(raw)
    if isinstance(loaded, Skipped):
        return loaded
    # What looks like a tag or an entity in text a parser extracted (an HTML page, a Markdown page
    # rendered to one, a PDF: "File "<stdin>"", "<mime-type>", "&amp;") is text the document shows;
    # in a plain text file it is leftover markup.
    text, removed = clean(loaded.body, markup=ext in TEXT_EXTENSIONS)
    if not text.strip():
        return Skipped(raw.source, "no text left after removing boilerplate (ads, navigation, share lines)")
    return Document(
        doc_id=doc_id_for(raw.source),
        source=raw.source,
        title=loaded.title or title_from_filename(raw.source, text),
        text=text,
        content_hash=raw.content_hash,
        removed=loaded.removed + removed,
        metadata={"type": ext.lstrip(".")},
    )


def load_file(path: Path, root: Path, max_file_bytes: int) -> Document | Skipped:
    """Read and parse one file under `root`."""
    raw = read_file(path, root, max_file_bytes)
    return raw if isinstance(raw, Skipped) else parse(raw)
