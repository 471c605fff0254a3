"""Loaders: every supported type becomes a titled Document; every bad file a Skipped with a reason."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from assistant.types import Document, Skipped
from ingest.loaders import doc_id_for, find_files, load_file, pdf_paragraphs

MAX = 1_000_000

HELP_PAGE = """<!doctype html>
<html><head><title>Reset your password | Acme Help Center</title></head><body>
<header><nav><a href="/">Home</a> <a href="/docs">Docs</a> <a href="/pricing">Pricing</a>
<a href="/login">Log in</a></nav></header>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience on our site.
 <button>Accept all</button> <button>Manage preferences</button></div>
<aside class="sidebar"><h3>Popular articles</h3><ul><li><a href="/a">Billing FAQ for teams</a></li>
<li><a href="/b">Change your subscription plan</a></li></ul></aside>
<main><article><h1>How to reset your password</h1>
<p>If you forgot your password, open the sign-in page and choose <b>Forgot password</b>. We email you a
reset link that works for 30 minutes.</p>
<p>The link can be used once. If it expired, request a new one from the same page &amp; check your
spam folder.</p>
<ul><li>Passwords need at least 12 characters.</li><li>You cannot reuse your last three passwords.</li></ul>
</article></main>
<footer><p>© 2024 Acme Inc. All rights reserved.</p>
<a href="/privacy">Privacy</a> <a href="/terms">Terms</a></footer>
</body></html>"""


def _pdf_bytes(lines: list[str], title: str | None) -> bytes:
    """A minimal one-page PDF with Helvetica text lines and an optional /Title in its Info dict."""
    ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
    for line in lines:
        ops.append(f"({line}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Title (" + (title or "").encode() + b") /Producer (test) >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    info = f" /Info {len(objects)} 0 R" if title else ""
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _load(path: Path, root: Path, max_bytes: int = MAX) -> Document | Skipped:
    return load_file(path, root, max_bytes)


def test_text_article_gets_its_headline_as_title(tmp_path: Path) -> None:
    (tmp_path / "news").mkdir()
    path = tmp_path / "news" / "city-budget.txt"
    path.write_text("City approves new budget\n\nThe council approved the budget on Monday. It adds two parks.\n")
    doc = _load(path, tmp_path)
    assert isinstance(doc, Document)
    assert doc.title == "City approves new budget"
    assert doc.source == "news/city-budget.txt"
    assert doc.doc_id == doc_id_for("news/city-budget.txt") == _load(path, tmp_path).doc_id  # type: ignore[union-attr]
    assert "The council approved the budget on Monday." in doc.text


def test_title_falls_back_to_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "annual_report-summary.txt"
    path.write_text("The company grew by ten percent last year. Costs were flat.\n")
    doc = _load(path, tmp_path)
    assert isinstance(doc, Document) and doc.title == "Annual report summary"


def test_a_file_name_title_spells_its_words_as_the_document_does(tmp_path: Path) -> None:
    path = tmp_path / "statement-on-ai-imagery_grok.txt"
    path.write_text("Regulators said AI tools and Grok misuse images. The statement is short.\nAI is everywhere.\n")
    doc = _load(path, tmp_path)
    # "AI" and "Grok" are never written in lower case there; "statement" is, and stays so.
    assert isinstance(doc, Document) and doc.title == "Statement on AI imagery Grok"


def test_markdown_heading_is_the_title_and_syntax_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text("# Getting started\n\nInstall it with **pip** and read the [manual](https://x.org/m).\n")
    doc = _load(path, tmp_path)
    assert isinstance(doc, Document)
    assert doc.title == "Getting started"
    assert "Install it with pip and read the manual." in doc.text
    assert "#" not in doc.text and "**" not in doc.text and "https" not in doc.text


def test_markdown_is_read_as_rendered_code_lists_and_tables_included(tmp_path: Path) -> None:
    path = tmp_path / "install.md"
    path.write_text(
        "# Installing the CLI\n\nThe `acme` tool runs on **Linux** and\n*Windows*.\n\n"
        "- Python 3.10 or newer\n- About 50 MB of disk space\n\n"
        "```bash\npip install acme-cli\n# then check that it works.\nacme --version\n```\n\n"
        "| Platform | Supported |\n|---|---|\n| Linux | Yes |\n\n"
        "Run `acme login` to connect, see the [login guide](login.md).\n"
    )
    doc = _load(path, tmp_path)
    assert isinstance(doc, Document), doc
    lines = doc.text.split("\n\n")
    # A paragraph is one line, its inline markup gone, however its source was wrapped.
    assert "The acme tool runs on Linux and Windows." in lines
    assert "Run acme login to connect, see the login guide." in lines
    assert "About 50 MB of disk space" in lines
    # Code stays line by line: a shell comment in it is neither a heading nor joined to prose.
    assert lines[4:7] == ["pip install acme-cli", "# then check that it works.", "acme --version"]
    assert "| Linux | Yes |" in lines
    assert "```" not in doc.text and "**" not in doc.text and "login.md" not in doc.text


def test_markdown_front_matter_gives_the_title_and_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "returns.md"
    path.write_text(
        "---\ntitle: Returns and refunds\nauthor: Ops team\ntags: [billing]\n---\n"
        "# Returns\n\nYou can return any item within 30 days of purchase.\n"
    )
    doc = _load(path, tmp_path)
    assert isinstance(doc, Document), doc
    assert doc.title == "Returns and refunds"
    assert doc.text.startswith("Returns\n") and "author" not in doc.text and "Ops team" not in doc.text
    # A page opening with a horizontal rule has no front matter: its text is all kept.
    ruled = tmp_path / "ruled.md"
    ruled.write_text("---\nSome intro text here.\n---\nMore text follows the rule.\n")
    doc = _load(ruled, tmp_path)
    assert isinstance(doc, Document) and "Some intro text here." in doc.text and "More text" in doc.text


def test_html_title_drops_permalink_glyphs_and_falls_back_to_title_tag(tmp_path: Path) -> None:
    sphinx = (
        "<html><head><title>os — Python docs</title></head><body><main><h1>os — OS interfaces"
        '<a class="headerlink" href="#os" title="Permalink">¶</a></h1><p>This module provides a portable way '
        "of using operating system dependent functionality.</p></main></body></html>"
    )
    no_h1 = sphinx.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    (tmp_path / "os.html").write_text(sphinx)
    (tmp_path / "plain.html").write_text(no_h1)
    first, second = _load(tmp_path / "os.html", tmp_path), _load(tmp_path / "plain.html", tmp_path)
    assert isinstance(first, Document) and first.title == "os — OS interfaces"
    assert isinstance(second, Document) and second.title == "os — Python docs"
    # A site header's <h1> names the site, not the page (the Node.js docs): <title> names the page.
    site_header = no_h1.replace("<body>", "<body><header><h1>Python 3.11 documentation</h1></header>")
    (tmp_path / "header.html").write_text(site_header)
    third = _load(tmp_path / "header.html", tmp_path)
    assert isinstance(third, Document) and third.title == "os — Python docs"


def test_html_help_page_keeps_main_text_only(tmp_path: Path) -> None:
    path = tmp_path / "help" / "reset-password.html"
    path.parent.mkdir()
    path.write_text(HELP_PAGE)
    doc = _load(path, tmp_path)
    assert isinstance(doc, Document)
    assert doc.title == "How to reset your password"  # the page's <h1>, what a reader sees
    assert "We email you a reset link that works for 30 minutes." in " ".join(doc.text.split())
    assert "request a new one from the same page & check your spam folder." in doc.text
    assert "Passwords need at least 12 characters." in doc.text
    for noise in (
        "Pricing",
        "Log in",
        "cookies",
        "Accept all",
        "Billing FAQ",
        "subscription plan",
        "©",
        "Terms",
    ):
        assert noise not in doc.text, noise


DOCS_PAGE = """<html><head><title>Errors</title></head><body><main><h1>Errors and Exceptions</h1>
<p>The most common pattern is to print or log
the exception and then re-raise it
(allowing a caller to handle it as well):</p>
<div class="highlight"><pre><span class="kn">import</span> sys
try:
    f = open(<span class="s">'myfile.txt'</span>)
except OSError as err:
    print("OS error:", err)
</pre></div>
<p>When you run it, the interpreter prints
<code>File "&lt;stdin&gt;", line 1</code> and checks whether a&lt;b.</p>
<h2>Why is my loop slow?<a class="headerlink" href="#why-slow" title="Permalink">¶</a></h2>
<p>Each iteration looks up the global name again.</p>
</main></body></html>"""


def test_a_short_help_page_keeps_its_sentences_whole(tmp_path: Path) -> None:
    path = tmp_path / "reset.html"
    path.write_text(
        "<html><head><title>Reset your password</title></head><body><nav><a href='/'>Home</a></nav>"
        "<main><h1>Reset your password</h1><p>Click <b>Forgot password</b> on the "
        "<a href='/login'>sign-in page</a>.</p></main></body></html>"
    )
    doc = _load(path, tmp_path)
    assert isinstance(doc, Document), doc
    assert doc.text == "Reset your password\n\nClick Forgot password on the sign-in page."


def test_html_paragraphs_are_one_line_each_and_code_blocks_line_by_line(tmp_path: Path) -> None:
    (tmp_path / "errors.html").write_text(DOCS_PAGE)
    doc = _load(tmp_path / "errors.html", tmp_path)
    assert isinstance(doc, Document)
    lines = doc.text.splitlines()
    # A paragraph the page's source wrapped is one line, never glued to the code after it.
    assert (
        "The most common pattern is to print or log the exception and then re-raise it "
        "(allowing a caller to handle it as well):"
    ) in lines
    assert "import sys" in lines and "try:" in lines and "except OSError as err:" in lines
    # What looks like markup in a parsed page is text the reader sees.
    assert 'When you run it, the interpreter prints File "<stdin>", line 1 and checks whether a<b.' in lines
    # A heading's permalink glyph is a link, not part of the heading.
    assert "Why is my loop slow?" in lines
    assert "¶" not in doc.text


SECTIONS_PAGE = """<html><head><title>FAQ</title></head><body>
<aside class="sidebar"><p>Related topics: Billing, Accounts and more pages of this site.</p></aside>
<div role="main"><h1>Files FAQ</h1>
<section id="how-do-i-share-a-folder"><span id="faq-sharing"></span>
<h2>How do I share a folder?<a class="headerlink" href="#how-do-i-share-a-folder">¶</a></h2>
<p>Open the folder, choose Share and type the names of the people to invite.</p></section>
<section id="related-settings">
<h2 id="related-settings-1">Related settings</h2>
<p>Storage limits are set per team by an administrator, see the admin guide.<a href="#f1">1</a></p>
<aside class="footnote"><p>Teams on the free plan have a fixed limit of 5 GB per member.</p></aside>
<div class="admonition note"><p class="admonition-title">Note</p>
<p>A shared folder keeps the access list of its owner: pass <a href="/api#folder"><code>Folder</code></a>
to <a href="/api#share"><code>share()</code></a> and read its <a href="/api#acl"><code>acl</code></a> to see who can
open it.</p></div>
</section>
{topics}
<div id="share-buttons"><p>Share this page on Twitter, Facebook, LinkedIn or by email.</p></div>
</div></body></html>""".format(
    topics="".join(
        f'<section id="topic-{i}"><h2>Topic {i}</h2><p>Paragraph {i} explains in detail how folders, files '
        "and storage behave for every member of a team.</p></section>"
        for i in range(6)
    )
)


def test_a_section_whose_heading_names_furniture_is_kept_with_its_footnotes(tmp_path: Path) -> None:
    # Section ids spelled from their headings hold "share" and "related": the extractor had
    # dropped both sections as share buttons and related links.
    (tmp_path / "files.html").write_text(SECTIONS_PAGE)
    doc = _load(tmp_path / "files.html", tmp_path)
    assert isinstance(doc, Document), doc
    lines = doc.text.splitlines()
    assert "How do I share a folder?" in lines
    assert "Open the folder, choose Share and type the names of the people to invite." in lines
    assert "Related settings" in lines
    # A footnote (an <aside> in the main content) is the document's text; a sidebar is not.
    assert "Teams on the free plan have a fixed limit of 5 GB per member." in lines
    # A note box is prose, though a docs generator links every name of code in it.
    note = "A shared folder keeps the access list of its owner: pass Folder to share() and read its acl to see who can"
    note += " open it."
    assert note in lines
    assert "Related topics" not in doc.text
    # A real share widget is still dropped.
    assert "Twitter" not in doc.text


def test_pdf_loads_with_its_metadata_title(tmp_path: Path) -> None:
    path = tmp_path / "policy.pdf"
    path.write_bytes(
        _pdf_bytes(["Refunds are paid within 14 days.", "Contact support to ask for one."], "Refund Policy")
    )
    doc = _load(path, tmp_path)
    assert isinstance(doc, Document), doc
    assert doc.title == "Refund Policy"
    assert "Refunds are paid within 14 days." in doc.text
    assert "Contact support to ask for one." in doc.text


def test_pdf_lines_become_paragraphs_without_running_headers_or_contents() -> None:
    wide = "x" * 60  # the text width: a line this long was wrapped
    pages = [
        "Shared Database Spec\nTable of Contents\n1 Introduction . . . . . . . . . 2\n1",
        "Shared Database Spec\n1.2. What is this spec?\n"
        f"Many programs use the database to work out the type {wide[:4]} of a file, and this\n"
        "specification says where its files live and how the func-\n"
        "tion that reads them must behave when a file is missing.\n"
        "• Applications may add new rules.\n• Users may override them.\n2",
        "Shared Database Spec\n2 Unified system\nThe databases of the three desktops were merged into\n"
        f"one, which {wide[:30]} all of them read.\n3",
    ]
    paragraphs, removed = pdf_paragraphs(pages)
    assert "Shared Database Spec" not in paragraphs and "2" not in paragraphs and "3" not in paragraphs
    assert not any(". . ." in p for p in paragraphs)
    # What was dropped is reported (`ingest --report`).
    assert [(r.kind, r.text) for r in removed] == [
        ("page-header", "page numbers"),
        ("page-header", "Shared Database Spec (on 3 pages)"),
        ("contents", "1 Introduction . . . . . . . . . 2"),
    ]
    # A heading is short: it stays on its own instead of being glued to the paragraph after it.
    assert "1.2. What is this spec?" in paragraphs and "2 Unified system" in paragraphs
    assert (
        f"Many programs use the database to work out the type {wide[:4]} of a file, and this specification says "
        "where its files live and how the function that reads them must behave when a file is missing."
    ) in paragraphs
    assert "• Applications may add new rules." in paragraphs and "• Users may override them." in paragraphs


def test_pdf_running_header_just_before_the_page_number_is_dropped_too() -> None:
    # Some writers (Chromium's print to PDF) extract the header after the page's text, right
    # before its footer: only the footer was the page's last line, so the header was kept.
    bodies = ["The trust met to review the lighthouse repairs.", "Storms closed the harbour twice.", "The budget grew."]
    pages = [f"{body}\nOrvane Harbour Trust - Annual Report\nPage {n}" for n, body in enumerate(bodies, 1)]
    paragraphs, removed = pdf_paragraphs(pages)
    assert not any("Orvane Harbour Trust" in p or p.startswith("Page") for p in paragraphs)
    assert len(paragraphs) == 3
    assert ("page-header", "Orvane Harbour Trust - Annual Report (on 3 pages)") in [(r.kind, r.text) for r in removed]


@pytest.mark.parametrize("placeholder", ["about:blank", "Untitled", "https://intranet/report", "report-2024.docx"])
def test_a_placeholder_pdf_title_gives_way_to_the_first_line(tmp_path: Path, placeholder: str) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(_pdf_bytes(["Orvane Lighthouse Report", "The lighthouse was built in 1874."], placeholder))
    doc = _load(path, tmp_path)
    assert isinstance(doc, Document) and doc.title == "Orvane Lighthouse Report"
    # The application's name before a real title is dropped.
    path.write_bytes(_pdf_bytes(["Some text here."], "Microsoft Word - Lighthouse Survey"))
    doc = _load(path, tmp_path)
    assert isinstance(doc, Document) and doc.title == "Lighthouse Survey"


def test_pdf_without_a_metadata_title_is_titled_by_its_first_line_and_keeps_its_tags(tmp_path: Path) -> None:
    path = tmp_path / "spec-v2.pdf"
    lines = ["Shared Database Spec", "Each type is described in a <comment> element of the file."]
    path.write_bytes(_pdf_bytes(lines, None))
    doc = _load(path, tmp_path)
    assert isinstance(doc, Document), doc
    assert doc.title == "Shared Database Spec"
    # A tag in a PDF's text is text the document shows (an XML example), not leftover markup.
    assert "Each type is described in a <comment> element of the file." in doc.text


def test_an_html_page_in_the_encoding_it_declares_loads(tmp_path: Path) -> None:
    page = (
        '<html><head><meta charset="windows-1252"><title>Café hours</title></head><body>'
        "<main><h1>Café hours</h1><p>The café opens at 8 o’clock every weekday morning.</p></main>"
        "</body></html>"
    )
    (tmp_path / "cafe.html").write_bytes(page.encode("cp1252"))
    # Browsers read an ISO-8859-1 label as windows-1252: 0x92 is a closing quote, not a control.
    legacy = page.replace("windows-1252", "ISO-8859-1")
    (tmp_path / "legacy.htm").write_bytes(legacy.encode("cp1252"))
    # A page declaring nothing is read as windows-1252, as a browser would.
    (tmp_path / "bare.html").write_bytes(page.replace('<meta charset="windows-1252">', "").encode("cp1252"))
    for name in ("cafe.html", "legacy.htm", "bare.html"):
        doc = _load(tmp_path / name, tmp_path)
        assert isinstance(doc, Document), doc
        assert doc.title == "Café hours"
        assert "The café opens at 8 o’clock every weekday morning." in doc.text
    # A page claiming UTF-8 that is not, a UTF-8 page with a stray byte (read as windows-1252,
    # its "é" would become "Ã©"), or a text file that is not UTF-8, is still skipped.
    (tmp_path / "liar.html").write_bytes(page.replace("windows-1252", "utf-8").encode("cp1252"))
    bare_utf8 = page.replace('<meta charset="windows-1252">', "").encode("utf-8")
    (tmp_path / "glitch.html").write_bytes(bare_utf8.replace(b"every", b"ev\xe9ry"))
    (tmp_path / "notes.txt").write_bytes("The café opens at 8.".encode("cp1252"))
    for name in ("liar.html", "glitch.html", "notes.txt"):
        skipped = _load(tmp_path / name, tmp_path)
        assert isinstance(skipped, Skipped) and "not valid UTF-8" in skipped.reason, skipped


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_or_utf32_file_with_a_byte_order_mark_is_read(tmp_path: Path, encoding: str) -> None:
    # Windows Notepad's "Unicode" is UTF-16 with a byte-order mark: NUL bytes, yet text.
    text = "Opening hours\n\nThe café opens at 8 and closes at 18 on weekdays.\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    (tmp_path / "hours.txt").write_bytes(data)
    doc = _load(tmp_path / "hours.txt", tmp_path)
    assert isinstance(doc, Document), doc
    assert doc.title == "Opening hours" and "The café opens at 8" in doc.text
    (tmp_path / "torn.txt").write_bytes(codecs.BOM_UTF16_LE + "Some words".encode("utf-16-le")[:-1])
    torn = _load(tmp_path / "torn.txt", tmp_path)
    assert isinstance(torn, Skipped) and "not valid UTF-16" in torn.reason and "save the file as UTF-8" in torn.reason


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n  ", "empty file"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        ("latin1.txt", "Café au lait costs 3 euros.".encode("latin-1"), "not valid UTF-8"),
        ("slides.pptx", b"PK\x03\x04 whatever", "unsupported file type .pptx"),
        (
            "nav-only.html",
            b"<html><body><nav><a href='/'>Home</a></nav><script>x()</script></body></html>",
            "no main text",
        ),
        ("scan.pdf", _pdf_bytes([], "Scanned"), "no extractable text"),
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "PDF"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = _load(path, tmp_path)
    assert isinstance(result, Skipped)
    assert result.source == name
    assert reason in result.reason


def test_over_size_file_is_skipped_naming_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("A sentence that repeats. " * 100)
    result = _load(path, tmp_path, max_bytes=1000)
    assert isinstance(result, Skipped)
    assert "over the 1,000 bytes limit" in result.reason and "CITELINE_MAX_FILE_BYTES" in result.reason


def test_unreadable_files_are_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    broken = _load(tmp_path / "gone.txt", tmp_path)
    assert isinstance(broken, Skipped) and "broken symbolic link" in broken.reason

    locked = tmp_path / "locked.txt"
    locked.write_text("Secret but fine text.\n")
    real_read = Path.read_bytes

    def deny(self: Path) -> bytes:
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    result = _load(locked, tmp_path)
    assert isinstance(result, Skipped) and "Permission denied" in result.reason


def test_find_files_skips_hidden_entries_and_recurses(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD.txt").write_text("x")
    (tmp_path / ".DS_Store").write_text("x")
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep.txt").write_text("Deep text here.")
    (tmp_path / "top.md").write_text("Top text here.")
    assert [p.relative_to(tmp_path).as_posix() for p in find_files(tmp_path)] == ["a/b/deep.txt", "top.md"]


def test_find_files_leaves_out_excluded_globs(tmp_path: Path) -> None:
    for rel in ["index.html", "_sources/index.rst.txt", "guide/a.html", "guide/drafts/b.html"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("Some text here.")
    found = find_files(tmp_path, exclude=["_sources", "*/drafts/*"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["guide/a.html", "index.html"]


WIDGETS_PAGE = """<html><head><title>Search</title></head><body><main><article><h1>Searching the archive</h1>
<p>Type a word in the box below and choose the collection to search.</p>
<p><label for="q">Words to look for, such as a street or a family name:</label> <input id="q" value="harbour"></p>
<p>Collection: <select name="collection"><option>Letters, 1850-1900</option><option selected>Maps</option></select></p>
<p><textarea name="notes">Notes you type here stay on this computer.</textarea></p>
<p>Results list the dates and places each record names, oldest first.</p>
<form action="/subscribe"><p>Get the newsletter every month.</p><button>Subscribe</button></form>
</article></main></body></html>"""


@pytest.mark.parametrize("page", [HELP_PAGE, DOCS_PAGE, SECTIONS_PAGE, WIDGETS_PAGE])
def test_a_page_reads_the_same_as_through_lxml_html_own_parser(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pages are parsed with every element an lxml.html HtmlElement picked in C, not by
    # lxml.html's per-element Python lookup (form controls get classes of their own there):
    # the extractor walks the tree many times and those lookups were a tenth of its time.
    import lxml.html

    from ingest import loaders

    (tmp_path / "page.html").write_text(page)
    doc = _load(tmp_path / "page.html", tmp_path)
    tree, _ = loaders._without_page_chrome(page)
    assert all(isinstance(e, lxml.html.HtmlElement) for e in tree.iter() if isinstance(e.tag, str))
    monkeypatch.setattr(loaders, "_html_parser", lambda: lxml.html.html_parser)
    with_lxml_html = _load(tmp_path / "page.html", tmp_path)
    assert isinstance(doc, Document) and doc == with_lxml_html
    if page is WIDGETS_PAGE:  # the text of form controls (their own classes in lxml.html) is read too
        assert "family name:" in doc.text and "Maps" in doc.text and "stay on this computer." in doc.text
