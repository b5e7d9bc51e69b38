"""Benchmark: bookbuild against the hand-made pipeline a user would otherwise script.

    python -m bookbuild.bench [--questions 330,1000,3000] [--repeats 3] [--json FILE] [--peers quarto]

For each size it generates a synthetic book, then times, in the same run (median of repeats):
the baseline (pandoc → HTML, pandoc → EPUB, WeasyPrint HTML → PDF, one after another), a cold
full release build (cache deleted), a no-op rebuild, a rebuild after one answer changes (HTML
only, and all formats) and a 20-question practice sheet with its key (another seed each repeat);
with the peak memory (sum of RSS over the process tree) of each.

`--peers quarto` also writes the book as a Quarto project (bookbuild.quarto_peer), kept beside the
JSON file as quarto-<questions>/. With `quarto` on PATH, each repeat renders it cold to HTML, EPUB
and the PDF via typst (quarto_html, quarto_epub, quarto_pdf; quarto_all is their sum, compared
with bookbuild's full build); without it, the benchmark says so and prints the commands to run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pypandoc

from bookbuild import quarto_peer

WORDS = ("model training data gradient loss feature label sample batch layer weight bias variance "
         "estimate error metric signal noise prior posterior kernel margin tree split node ensemble "
         "embedding token attention sequence vector matrix rank norm projection").split()
INLINE_MATH = [r"x_i", r"\lambda", r"O(n^2)", r"\mathbf{w}^\top \mathbf{x}", r"p(y \mid x)", r"\sigma(z)",
               r"\frac{1}{n}\sum_i x_i", r"\lVert \mathbf{w} \rVert_2^2", r"e^{-x}", r"\hat{\theta}"]
DISPLAY_MATH = [r"\mathcal{L}(\theta) = -\frac{1}{n}\sum_{i=1}^{n} \log p_\theta(y_i \mid x_i)",
                r"\operatorname{Var}(\bar{X}) = \frac{\sigma^2}{n}",
                r"\theta_{t+1} = \theta_t - \eta \nabla_\theta \mathcal{L}(\theta_t)"]
PER_CHAPTER = 30


def _sentence(rng: random.Random, n: int = 14, math: bool = False) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    if math:
        words.insert(rng.randrange(len(words)), f"${rng.choice(INLINE_MATH)}$")
    return " ".join(words).capitalize() + "."


def generate(root: Path, questions: int, seed: int = 0) -> Path:
    """Write a synthetic book root with `questions` questions, 30 to a chapter."""
    rng = random.Random(seed)
    chapters = max(1, (questions + PER_CHAPTER - 1) // PER_CHAPTER)
    (root / "book" / "chapters").mkdir(parents=True, exist_ok=True)
    (root / "questions").mkdir(exist_ok=True)
    names = [f"chapter-{c:03d}.md" for c in range(1, chapters + 1)]
    half = (chapters + 1) // 2
    parts = [("Foundations", names[:half]), ("Applications", names[half:])]
    lines = ["title: Benchmark Book", "author: Bench", "language: en", "version: 1.0.0", "date: 2026-01-01",
             "identifier: urn:uuid:11111111-2222-4333-8444-555555555555", "parts:"]
    for title, chs in parts:
        if chs:
            lines += [f"  - title: {title}", f"    chapters: [{', '.join(chs)}]"]
    (root / "book" / "book.yaml").write_text("\n".join(lines) + "\n")
    made = 0
    for c, name in enumerate(names, 1):
        topic = f"topic-{c:03d}"
        prose = "\n\n".join(" ".join(_sentence(rng, math=rng.random() < .3) for _ in range(5)) for _ in range(3))
        (root / "book" / "chapters" / name).write_text(
            f"# Chapter {c} {{#sec:ch{c}}}\n\n{prose}\n\n::: {{.questions topic=\"{topic}\"}}\n:::\n")
        count = min(PER_CHAPTER, questions - made)
        qs = [f"title: Topic {c}", "questions:"]
        for i in range(count):
            made += 1
            prompt = " ".join(_sentence(rng, math=rng.random() < .4) for _ in range(2))
            answer = " ".join(_sentence(rng, 18, math=rng.random() < .5) for _ in range(4))
            if rng.random() < .25:
                answer += f"\n\n      $${rng.choice(DISPLAY_MATH)}$$"
            qs += [f"  - id: q{c:03d}-{i:02d}", f"    difficulty: {('easy', 'medium', 'hard')[i % 3]}",
                   "    prompt: |", f"      {prompt}", "    answer: |", f"      {answer}"]
        (root / "questions" / f"{topic}.yaml").write_text("\n".join(qs) + "\n")
    return root


def baseline_markdown(root: Path) -> str:
    """The same content as one Markdown file, as a user scripting pandoc would write it."""
    import yaml
    out = []
    for chapter in sorted((root / "book" / "chapters").glob("*.md")):
        text = chapter.read_text()
        topic = text.split('topic="')[1].split('"')[0]
        bank = yaml.safe_load((root / "questions" / f"{topic}.yaml").read_text())
        body = [f"**Question {n}.** {q['prompt']}\n\n**Answer.** {q['answer']}" for n, q in enumerate(bank["questions"], 1)]
        out.append(text.split(":::")[0] + "\n\n" + "\n\n".join(body))
    return "\n\n".join(out)


class PeakRss:
    """Largest sum of RSS over a process and its descendants, sampled every 20 ms."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            try:  # a process may end while it is being looked at
                for task in Path(f"/proc/{pid}/task").glob("*/children"):
                    todo += [int(c) for c in task.read_text().split()]
            except OSError:
                pass
        return pids

    def _run(self):
        while not self._stop.is_set():
            total = 0
            for pid in self._tree():
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1]) * 1024
                except OSError:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(0.02)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def timed(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, int]:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rss = PeakRss(proc.pid)
    _, err = proc.communicate()
    peak = rss.stop()
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{err.decode(errors='replace')[-2000:]}")
    return time.perf_counter() - started, peak


def baseline(work: Path) -> tuple[float, int]:
    """pandoc → HTML, pandoc → EPUB, WeasyPrint HTML → PDF, one after another."""
    pandoc = pypandoc.get_pandoc_path()
    script = (f"set -e; {pandoc} book.md -s --mathml -M title=Bench -o book.html; "
              f"{pandoc} book.md --mathml -M title=Bench -M lang=en -o book.epub; "
              f"{sys.executable} -c \"import weasyprint; weasyprint.HTML('book.html').write_pdf('book.pdf')\"")
    return timed(["sh", "-c", script], cwd=work)


def measure(questions: int, repeats: int, work: Path, peers: tuple[str, ...] = ()) -> dict:
    book = generate(work / f"book-{questions}", questions)
    quarto = project = None
    if "quarto" in peers:
        project = quarto_peer.write_quarto_project(book, work / f"quarto-{questions}")
        quarto = quarto_peer.find_quarto()
    (work / "baseline").mkdir(exist_ok=True)
    (work / "baseline" / "book.md").write_text(baseline_markdown(book))
    build = [sys.executable, "-m", "bookbuild.cli", "--book", str(book)]
    env = {"SOURCE_DATE_EPOCH": "1767225600"}
    answer_file = book / "questions" / "topic-001.yaml"
    original = answer_file.read_text()
    runs: dict[str, list[tuple[float, int]]] = {k: [] for k in
                                                  ("baseline", "full", "noop", "answer_html", "answer_all", "sheet")}
    if quarto:
        runs.update({k: [] for k in ("quarto_html", "quarto_epub", "quarto_pdf", "quarto_all")})
    for r in range(repeats):
        runs["baseline"].append(baseline(work / "baseline"))
        shutil.rmtree(book / ".bookbuild-cache", ignore_errors=True)
        shutil.rmtree(book / "dist", ignore_errors=True)
        runs["full"].append(timed(build, env))
        runs["noop"].append(timed(build, env))
        answer_file.write_text(original.replace("    answer: |\n      ", f"    answer: |\n      Edit {r}. ", 1))
        runs["answer_html"].append(timed(build + ["--format", "html"], env))
        answer_file.write_text(original.replace("    answer: |\n      ", f"    answer: |\n      Again {r}. ", 1))
        runs["answer_all"].append(timed(build, env))
        answer_file.write_text(original)
        # a 20-question practice sheet and its key, another choice each time
        runs["sheet"].append(timed([sys.executable, "-m", "bookbuild.cli", "sheet", "--book", str(book),
                                    "--count", str(min(20, questions)), "--seed", str(r + 1)], env))
        if quarto:  # cold, as the full build is: each format one after another, their sum is quarto_all
            quarto_peer.clean(project)
            times = [timed(cmd, cwd=cwd) for cmd, cwd in quarto_peer.commands(project, quarto).values()]
            for fmt, run in zip(("html", "epub", "pdf"), times):
                runs[f"quarto_{fmt}"].append(run)
            runs["quarto_all"].append((sum(t for t, _ in times), max(m for _, m in times)))
    result = {"questions": questions, "repeats": repeats}
    for key, values in runs.items():
        result[key] = {"seconds": statistics.median(v[0] for v in values),
                       "min": min(v[0] for v in values), "max": max(v[0] for v in values),
                       "peak_rss_mb": round(max(v[1] for v in values) / 2**20, 1)}
    full = result["full"]["seconds"]
    result["ratios"] = {"full/baseline": full / result["baseline"]["seconds"],
                        "noop/full": result["noop"]["seconds"] / full,
                        "answer_html/full": result["answer_html"]["seconds"] / full,
                        "answer_all/full": result["answer_all"]["seconds"] / full}
    if project:
        result["quarto"] = {"available": bool(quarto), "project": str(project)}
    if quarto:
        result["quarto"]["version"] = subprocess.run([quarto, "--version"], capture_output=True, text=True,
                                                     timeout=60).stdout.strip()
        result["ratios"]["full/quarto_all"] = full / result["quarto_all"]["seconds"]
    return result


def table(results: list[dict]) -> str:
    rows = ["| questions | run | median s | min s | max s | peak RSS MB | ratio |", "|---|---|---|---|---|---|---|"]
    for res in results:
        keys = [("baseline", None), ("full", "full/baseline"), ("noop", "noop/full"),
                ("answer_html", "answer_html/full"), ("answer_all", "answer_all/full"), ("sheet", None)]
        if "quarto_all" in res:
            keys += [("quarto_html", None), ("quarto_epub", None), ("quarto_pdf", None),
                     ("quarto_all", "full/quarto_all")]
        for key, ratio in keys:
            r = res[key]
            shown = "" if ratio is None else f"{res['ratios'][ratio]:.3f}"
            rows.append(f"| {res['questions']} | {key} | {r['seconds']:.2f} | {r['min']:.2f} | {r['max']:.2f} | "
                        f"{r['peak_rss_mb']} | {shown} |")
    if len(results) > 1:
        by = {r["questions"]: r["full"]["seconds"] for r in results}
        small, large = min(by), max(by)
        rows.append(f"\nfull build, {large} vs {small} questions: {by[large] / by[small]:.2f}× "
                    f"({large / small:.1f}× the questions)")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bookbuild.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", default="330", help="comma-separated sizes (default 330; e.g. 330,1000,3000)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path("dist/bench/bench.json"))
    parser.add_argument("--keep", action="store_true", help="keep the generated books")
    parser.add_argument("--peers", default="", help="comma-separated peers to time as well: quarto")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.questions.split(",") if s.strip()]
    peers = tuple(p.strip() for p in args.peers.split(",") if p.strip())
    if set(peers) - {"quarto"}:
        parser.error(f"unknown peer: {', '.join(sorted(set(peers) - {'quarto'}))} (known: quarto)")
    work = Path(tempfile.mkdtemp(prefix="bookbuild-bench-"))
    try:
        results = [measure(n, args.repeats, work, peers) for n in sizes]
        for res in results:  # the Quarto project outlives the work folder: beside the JSON file
            if "quarto" in res:
                kept = (args.json.parent / f"quarto-{res['questions']}").resolve()
                shutil.rmtree(kept, ignore_errors=True)
                shutil.copytree(res["quarto"]["project"], kept, ignore=shutil.ignore_patterns(*quarto_peer.OUTPUTS))
                res["quarto"]["project"] = str(kept)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(table(results))
    for res in results:
        if "quarto" in res and not res["quarto"]["available"]:
            project = Path(res["quarto"]["project"])
            print(f"\nquarto was not found on PATH, so Quarto was not timed. The {res['questions']}-question book "
                  f"is written as a Quarto project in {project}; to time it (Quarto 1.4 or later):\n  "
                  + "\n  ".join(quarto_peer.shell_commands(project)))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
