"""The build, top to bottom: load → validate → assemble → filter → write each format."""

from __future__ import annotations

import dataclasses
import gc
import importlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import panflute as pf

from bookbuild.filters import answers, number, sanitize, subset, xref
from bookbuild.filters import draft as draft_furniture

from . import stamp
from .assemble import assemble, check_templates
from .builders.base import COVER_IMAGES, BuildContext, dump
from .cache import FOLDER, Cache, digest, take_warnings, toolchain_digest
from .dates import BuildDate, build_date
from .errors import BookError, NotADraft, Pos, Report, did_you_mean
from .load import load_book
from .model import FORMATS, Book, Edition
from .options import BuildOptions
from .scancache import Scans
from .output import give_back_memory, remove_scratch, write_atomic
from .templating import template_dirs
from .tree import IMAGE_NODE, rewrite, run_filter
from .validate import editions_to_check, validate

# The filters, in order; each is also a standalone `pandoc --filter`.
FILTERS = (sanitize, number, subset, xref, answers, draft_furniture)


@dataclass
class BuildResult:
    outputs: list[Path] = field(default_factory=list)
    report: Report = field(default_factory=Report)
    notes: list[str] = field(default_factory=list)  # what the build did besides its outputs (stdout)
    checked: list[str] = field(default_factory=list)  # what check found, as printed (a no-op prints it again)
    read: list[Path] = field(default_factory=list)  # the files read outside book/, questions/, templates/
    date_source: str = ""


def check(root: Path, edition: str | None = None, strict: bool = False, cache: Cache | None = None,
          expanded: dict[str, str] | None = None) -> tuple[Book | None, Report]:
    """Load and validate a book; the report holds every problem (errors and warnings).
    `cache`: where what was found in each text is kept for the next build (scancache.py);
    `expanded`: filled with the chapters' Markdown, blocks filled in (see check_templates)."""
    book, report = load_book(root)
    if book is not None:
        if edition is not None and edition not in book.meta.editions:
            report.error(Pos(str(book.meta.path)), f"no edition named {edition!r}; book.yaml has: "
                         + ", ".join(sorted(book.meta.editions)) + did_you_mean(edition, book.meta.editions))
            editions: list[Edition] = []
        else:
            editions = editions_to_check(book, edition)
        scans = Scans(cache)
        report.extend(validate(book, editions, scans))
        scans.save()
        if not report.errors:
            report.extend(check_templates(book, expanded))
    return book, (report.strict() if strict else report)


def apply_filters(doc: pf.Doc) -> pf.Doc:
    """Run every filter in this process, on one document (as its `main` would, but faster)."""
    fragments = doc.get_metadata("bookbuild-fragment-links", False)
    doc.metadata.content.pop("bookbuild-fragment-links", None)
    for module in FILTERS:
        doc = run_filter(module, doc)
    if fragments:  # a walk over the whole book (0.2 s on the sample book): only when book text has `](#`
        drop_broken_links(doc)
    return doc


def drop_broken_links(doc: pf.Doc) -> None:
    """A link to `#id` that no element has (a typo check warned about, or a place an edition
    leaves out) becomes its text: readers and epubcheck refuse a link to nowhere. `#sec:x` is
    taken as the label's anchor, `#sec-x`."""
    ids: set[str] = set()
    links: list[pf.Link] = []

    def visit(elem):
        identifier = getattr(elem, "identifier", "")
        if identifier:
            ids.add(identifier)
        if isinstance(elem, pf.Link) and elem.url.startswith("#"):
            links.append(elem)
    rewrite(doc, visit)
    for link in links:
        target = link.url[1:]
        if target not in ids and target.replace(":", "-") in ids:
            link.url = "#" + target.replace(":", "-")  # `#sec:x` written for a label: its anchor (filters/number.py)
        elif target not in ids:
            container = getattr(link.parent, link.location or "content")
            container[link.index] = pf.Span(*link.content, classes=["broken-link"])


def filter_edition(doc: pf.Doc, edition: Edition, answers: str, extra: dict | None = None) -> pf.Doc:
    """The assembled book (changed in place) filtered for one edition."""
    doc.metadata["bookbuild-answers"] = answers
    if edition.chapters:
        doc.metadata["bookbuild-chapters"] = list(edition.chapters)
    for key, value in (extra or {}).items():
        doc.metadata[key] = value
    return apply_filters(doc)


def take_labels(doc: pf.Doc) -> dict:
    """The labels the number filter left in the metadata for the xref filter, taken out: no
    output shows them, and pandoc would write every one into the template of every page it
    makes (at 3000 questions, 20 of the 30 seconds of the HTML site)."""
    labels = doc.get_metadata("bookbuild-labels", {}) or {}
    doc.metadata.content.pop("bookbuild-labels", None)
    return labels


def render_edition(doc: pf.Doc, edition: Edition, answers: str, extra: dict | None = None) -> tuple[str, dict]:
    """The assembled book filtered for one edition, as pandoc JSON, and its labels."""
    doc = filter_edition(doc, edition, answers, extra)
    labels = take_labels(doc)
    return dump(doc), labels


def builders_for(formats: tuple[str, ...]):
    from .builders.epub import EpubBuilder
    from .builders.html import HtmlBuilder
    from .builders.pdf import PdfBuilder
    available = {"html": HtmlBuilder, "epub": EpubBuilder, "pdf": PdfBuilder}
    return [available[f]() for f in FORMATS if f in formats]


def image_files(doc_json: str, root: Path) -> dict[str, Path]:
    """Every image file the document shows (and the EPUB cover, when the book has one), by URL.

    Image nodes are found in the JSON text and only they are decoded: book text cannot fake one
    (a quote inside text is escaped in JSON), and decoding the whole book would take 10× longer.
    """
    urls: set[str] = set(COVER_IMAGES)
    decoder = json.JSONDecoder()
    for match in IMAGE_NODE.finditer(doc_json):
        node, _ = decoder.raw_decode(doc_json, match.start())
        urls.add(node["c"][2][0])  # Image: [attr, alt inlines, [url, title]]
    return {url: root / url for url in sorted(urls) if (root / url).is_file()}


def image_digest(images: dict[str, Path]) -> str:
    """The content of every image (paths alone would miss an edited image)."""
    return digest(*[part for url, path in images.items() for part in (url, path.read_bytes())])


def sources_digest(book: Book) -> str:
    """Every source a rendering reads: book.yaml, the chapters and the question bank."""
    files = [book.meta.path, *(c.path for c in book.chapters), *sorted((book.root / "questions").glob("*.y*ml"))]
    return digest(*[part for path in files if path.is_file() for part in (path.name, path.read_bytes())])


def build(options: BuildOptions, progress=None) -> BuildResult:
    """Build the formats an edition asks for; raises BookError with every problem found.

    `progress(event, name)` hears "start", "done" and "cached" for each format. A build that
    succeeds is recorded (stamp.py), so that the same build with nothing changed is a no-op.
    """
    begun = stamp.begin(options)
    # no automatic collection meanwhile: it traverses every object alive, and the book as panflute
    # elements is millions (a fifth of an HTML rebuild at 3000 questions); the build collects
    # where it lets a copy of the book go (output.give_back_memory), and its peak is the same
    collecting = gc.isenabled()
    gc.disable()
    try:
        result = _build(options, progress)
    except BaseException:
        stamp.forget(options)
        raise
    finally:
        if collecting:
            gc.enable()
    stamp.record(options, begun, result.read, result.outputs,
                 {"checked": result.checked, "outputs": [str(p) for p in result.outputs], "notes": result.notes,
                  "formats": list(options.formats), "date_source": result.date_source})
    return result


def _build(options: BuildOptions, progress=None) -> BuildResult:
    result = BuildResult()
    cache = Cache(Path(options.root).resolve())
    expanded: dict[str, str] = {}
    book, report = check(options.root, options.edition, options.strict, cache, expanded)
    result.report = report
    result.checked = [str(d) for d in report.sorted()]
    if book is None or report.errors:
        raise BookError("the book has errors", report)
    edition = book.meta.editions[options.edition]
    if options.mark_sent and not edition.watermark:
        raise NotADraft(f"--mark-sent records a draft as mailed, and edition {edition.name!r} is not a "
                                 "draft (it has no watermark in book.yaml): give --edition a draft edition")
    record = _drafting().record_path(book, report) if options.mark_sent else None
    date = build_date(book.root, book.meta.date)
    result.date_source = date.source
    if options.strict and not date.reproducible:
        report.error(Pos(str(book.meta.path)), "no reproducible build date: set SOURCE_DATE_EPOCH, commit the "
                     "book to git, or give date: in book.yaml")
        raise BookError("the book has errors", report)
    printing = edition.name == "print" and book.meta.print is not None
    if printing or options.proof:
        options = _print_options(options, book, printing, report)
    answers = options.answers or edition.answers
    out_dir = (options.out or book.root / "dist") / edition.name
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # --out /proc/nope, a file where the folder goes...
        report.error(Pos(str(out_dir)), f"cannot make the output folder: {exc.strerror or exc}")
        raise BookError("the book has errors", report) from None
    remove_scratch(out_dir)
    toolchain = toolchain_digest(template_dirs(book.root))
    draft_state = prepare_draft(book, edition, date, out_dir, options.since, report, record) \
        if edition.watermark else None
    extra = draft_state.metadata() if draft_state else None
    # the assembled, filtered book depends only on the sources, the toolchain and these settings
    render_key = digest(toolchain, sources_digest(book), edition.name, answers, date.when.isoformat(),
                        json.dumps(extra, sort_keys=True, default=str))
    cached = cache.get(render_key)
    # the PDF's layout workers start now when the PDF is to be laid out: they import WeasyPrint
    # while this process assembles the book
    early = None
    if "pdf" in options.formats:
        from .builders.pdf import EarlyWorkers, wants_parallel
        early = EarlyWorkers() if wants_parallel(options.pdf_variant) else None
    if "pdf" in options.formats and cached is None:
        _preload("ziamath", "pypdf")
    try:
        filtered: list[pf.Doc] = []  # the filtered book itself, when it was made now
        try:
            doc_json, labels = json.loads(cached) if cached is not None else (None, None)
            if not isinstance(doc_json, str) or not isinstance(labels, dict):
                raise ValueError("not a rendering")
        except (ValueError, TypeError):
            if cached is not None:
                cache.discard(render_key)
            cached = None
        if cached is None:
            if early is not None:
                early.start()
            doc = assemble(book, date, cache, toolchain, expanded)
            doc.bookbuild_warnings = []  # the xref filter's, each at its place: into the report
            filtered.append(filter_edition(doc, edition, answers, extra))
            report.items.extend(doc.bookbuild_warnings)
            del doc
            labels = take_labels(filtered[0])
            doc_json = dump(filtered[0])
            cache.put(render_key, json.dumps([doc_json, labels]))
        ctx = BuildContext(book=book, edition=edition, answers=answers, doc_json=doc_json, out_dir=out_dir,
                           date=date, page_size=options.page_size or book.meta.page_size,
                           pdf_variant=options.pdf_variant, pdf_workers=early, cache=cache)
        images = image_files(doc_json, book.root)
        result.read = [*images.values(), *(c.path for c in book.chapters)]
        key = digest(toolchain, doc_json, image_digest(images), ctx.page_size, ctx.pdf_variant or "",
                     *([_paperback_setting(book, options.proof)] if printing else []))
        result = _run_builders(options, book, report, result, cache, ctx, key, progress, draft_state, labels, filtered)
        if printing:
            _print_cover(book, date, out_dir, result, report)
        return result
    finally:
        if early is not None:
            early.close()


def _paperback_setting(book: Book, proof: bool) -> str:
    from .interior import Paperback
    return Paperback.of(book, proof).setting()


def _print_options(options: BuildOptions, book: Book, printing: bool, report: Report) -> BuildOptions:
    """The print edition builds the interior PDF (and its cover) only; --proof is for it alone."""
    if not printing:
        report.error(Pos(str(book.meta.path)), "--proof makes crop marks on the paperback's interior, and this book "
                     "has no print: section in book.yaml (see docs/format.md)")
        raise BookError("the book has errors", report)
    if "pdf" not in options.formats:
        report.error(Pos(str(book.meta.path)), "the print edition is the interior PDF and its cover: give --format "
                     "pdf (or no --format); the HTML site and the EPUB are the release's")
        raise BookError("the book has errors", report)
    return dataclasses.replace(options, formats=("pdf",))


def _print_cover(book: Book, date: BuildDate, out_dir: Path, result: BuildResult, report: Report) -> None:
    """The paperback's cover beside its interior, for the interior's page count."""
    from pypdf import PdfReader

    from .cover import write_cover

    interior = out_dir / f"{book.meta.slug}.pdf"
    pages = len(PdfReader(str(interior)).pages)
    path, notes = write_cover(book, pages, date, report, folder=out_dir)
    result.outputs.append(path)
    result.notes.extend(notes)


def _preload(*modules: str) -> None:
    """Import what the PDF will need in a thread of its own: while this one waits for pandoc to
    parse the chapters, not later on the PDF's way (ziamath's regular expressions take 0.1 s)."""
    def load():
        for name in modules:
            try:
                importlib.import_module(name)
            except ImportError:  # reported where it is used
                pass
    threading.Thread(target=load, name="bookbuild-preload", daemon=True).start()


def _run_builders(options, book, report, result, cache, ctx, key, progress, draft_state, labels,
                  filtered: list[pf.Doc]) -> BuildResult:
    """`filtered`: the filtered book when it was made now, handed to the first builder that
    changes a copy of the book, if any (else let go: it is as large as a copy of the book)."""
    notify = progress or (lambda event, name: None)

    builders = builders_for(options.formats)
    for builder in builders:
        if builder.name == "pdf":
            builder.proof = options.proof
    # a folder where a file goes: the last step, os.replace, would fail after all the work
    folders = [path for b in builders if not b.writes_folder for path in b.targets(ctx) if path.is_dir()]
    if folders:
        for path in folders:
            report.error(Pos(str(path)), "a folder is where the build writes this file: remove it")
        raise BookError("the book has errors", report)
    # whether each output is still what its key says (this hashes every file it wrote): once
    fresh = {b.name: cache.fresh(b.targets(ctx), digest(key, b.name)) for b in builders}

    def run(builder) -> list[Path]:
        targets = builder.targets(ctx)
        if fresh[builder.name]:
            notify("cached", builder.name)
            return targets
        notify("start", builder.name)
        written = builder.build(ctx)
        give_back_memory()
        cache.record(targets, digest(key, builder.name))
        notify("done", builder.name)
        return written

    if filtered and any(not fresh[b.name] and b.takes_document(ctx) for b in builders):
        # the first builder to ask takes the book as it is (the PDF, when it is laid out in
        # workers: it asks first), not a copy from JSON
        ctx.spare.append(filtered[0])
    filtered.clear()
    first = None  # the PDF, when it is laid out: the others wait until pandoc makes its HTML
    if ctx.pdf_workers is not None and not fresh["pdf"]:
        ctx.pdf_workers.start()
        first = next(b for b in builders if b.name == "pdf")
    elif ctx.pdf_workers is not None:
        ctx.pdf_workers.pandoc_free.set()  # no PDF made: no pandoc run to wait for

    def run_first(builder) -> list[Path]:
        try:
            return run(builder)
        finally:  # made or failed: the others wait no longer
            ctx.pdf_workers.handed_over.set()
            ctx.pdf_workers.pandoc_free.set()
    # the PDF beside the others, which go one after another: each holds a copy of the book and
    # a pandoc process of 200 MB, and both cores are busy with the PDF's layout anyway
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {}
        if first is not None:
            futures[first] = pool.submit(run_first, first)
            ctx.pdf_workers.handed_over.wait()
        others = [b for b in builders if b is not first]
        if others and len(others) == len(builders):  # no PDF laid out in workers: the first goes beside
            beside = others.pop(0)
            futures[beside] = pool.submit(run, beside)
        done = pool.submit(lambda: {b: run(b) for b in others})
        for builder in builders:
            future = futures.get(builder)
            result.outputs.extend(future.result() if future is not None else done.result()[builder])
            for message in getattr(builder, "warnings", []):  # at its own place when it knows it (errors.Located)
                report.warning(getattr(message, "pos", None) or Pos(str(book.meta.path)), message)
    if draft_state:
        result.outputs.extend(draft_state.write(labels, report))
        result.notes.extend(draft_state.notes)
    for message in take_warnings(book.root):
        report.warning(Pos(str(book.root / FOLDER)), message)
    return result


def _drafting():
    """bookbuild.draft, imported by the builds of draft editions alone (a fifth of the pipeline's
    imports: git, the email's CSS inliner)."""
    from . import draft
    return draft


@dataclass
class DraftState:
    """What a draft build knows before rendering: its stamp, its fingerprint and what changed."""

    book: Book
    edition: Edition
    out_dir: Path
    stamp: str
    manifest: dict
    changes: "draft.Changes"
    date: BuildDate | None = None
    record: Path | None = None  # --mark-sent: where this draft is recorded as mailed
    notes: list[str] = field(default_factory=list)

    def metadata(self) -> dict:
        watermark = f"{self.edition.watermark} · {self.stamp}"
        return {"bookbuild-draft": {"stamp": self.stamp, "watermark": watermark,
                                    "feedback": self.edition.feedback or "", "changes": self.changes.as_metadata()},
                "draft-watermark": watermark, "subtitle": f"{self.edition.watermark}: {self.stamp}"}

    def write(self, labels: dict, report: Report) -> list[Path]:
        drafting = _drafting()
        written = [self.out_dir / "changes.md", self.out_dir / "manifest.json"]
        write_atomic(written[0], drafting.changes_markdown(self.changes, labels, self.stamp))
        if self.edition.url:
            html, text = drafting.render_email(self.book, drafting.email_context(
                self.book, self.edition, self.stamp, self.changes, labels))
            write_atomic(self.out_dir / "email.html", html)
            write_atomic(self.out_dir / "email.txt", text)
            written += [self.out_dir / "email.html", self.out_dir / "email.txt"]
        else:
            report.warning(self.edition.pos or Pos(str(self.book.meta.path)),
                           f"edition {self.edition.name!r} has no url: the email excerpt needs absolute links, "
                           "so email.html was not written")
        # for inspection only: the next draft compares with the last one marked as sent, not this
        write_atomic(written[1], json.dumps(self.manifest, indent=1, ensure_ascii=False) + "\n")
        if self.record is not None:  # last: a draft is recorded as mailed only once it is whole
            replaced = drafting.mark_sent(self.record, self.manifest, self.date)
            self.notes.append(f"{self.record}: draft {self.stamp} marked as sent; the next draft's changes are "
                              f"listed since this one" + (f" (replaces the record of {drafting.sent_label(replaced)})"
                                                          if replaced else ""))
        return written


def prepare_draft(book: Book, edition: Edition, date: BuildDate, out_dir: Path, since: str | None,
                  report: Report | None = None, record: Path | None = None) -> DraftState:
    """The draft's stamp, manifest and changes: compared with the book at `since`, else with the
    draft last marked as sent (book/drafts/); `record`: where to mark this one as sent."""
    drafting = _drafting()
    version = drafting.stamp(book, date)
    current = drafting.manifest(book, edition, version)
    if since:
        previous, label = drafting.manifest_at_ref(book, edition, since), since
    else:
        report = report if report is not None else Report()
        mailed = drafting.sent_drafts(book, edition, report)
        if report.errors:
            raise BookError("the book has errors", report)
        previous = mailed[-1][1] if mailed else None
        label = drafting.sent_label(previous) if previous else None
    return DraftState(book, edition, out_dir, version, current, drafting.compare(previous, current, label),
                      date, record)
