"""Needles in a haystack: can `fathom search` find 100 facts hidden in a real repository?

A fresh checkout of SQLAlchemy's source gets 100 unique facts written as comments into
random Python files at random depths.  The repository is indexed and packed to 1M
tokens; then each fact is asked for in natural language through the `fathom search`
CLI (a new process per question, as a user or an agent would run it).  A question is
answered when a hit's span holds the needle's line.  Reports top-1/top-5 accuracy,
latency, and how many needles the 1M-token pack shows whole.  Results go to
bench/results/niah.json.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import checkout  # noqa: E402
from tools.repo.index import RepoIndex  # noqa: E402
from tools.repo.search import search  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = Path(__file__).parent / "results" / "niah.json"
NEEDLES = 100
SEED = 20261129

# (fact, question) templates; {x} is a made-up codename unique to each needle.
TEMPLATES = (
    ("The maintenance window for the {x} cluster is {day} at {n}:00 UTC.",
     "When is the maintenance window for the {x} cluster?"),
    ("The retry budget of the {x} importer is {n} attempts.",
     "How many retry attempts does the {x} importer get?"),
    ("Invoices from {x} Logistics are archived after {n} days.",
     "After how many days are invoices from {x} Logistics archived?"),
    ("The {x} feature flag was owned by the {word} team.",
     "Which team owned the {x} feature flag?"),
    ("Database shard {x} lives in the {word} region.",
     "Which region hosts database shard {x}?"),
    ("The fallback colour of the {x} theme is {word}.",
     "What is the fallback colour of the {x} theme?"),
    ("Project {x} exports its metrics on port {n}.",
     "Which port does project {x} use for metrics?"),
    ("The nightly {x} batch job must finish before {n}:30.",
     "By what time must the {x} batch job finish each night?"),
    ("Legacy customers of {x} keep a discount of {n} percent.",
     "What discount do legacy customers of {x} keep?"),
    ("The {x} webhook signs its payloads with {word}.",
     "Which algorithm signs the payloads of the {x} webhook?"),
)
SYLLABLES = ("ka", "vel", "mor", "tri", "zan", "qua", "lio", "pex", "dru", "sol", "nym", "xo")
WORDS = ("teal", "amber", "falcon", "orchid", "granite", "harbor", "sha512", "ed25519")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


@dataclass(slots=True)
class Needle:
    """One hidden fact."""

    path: str
    line: int
    fact: str
    question: str


def codename(rng: random.Random, used: set[str]) -> str:
    """A pronounceable made-up word, unique in this run."""
    while True:
        name = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
        if name not in used:
            used.add(name)
            return name


def hide_needles(root: Path, rng: random.Random) -> list[Needle]:
    """Write NEEDLES facts as comments into random Python files at random lines."""
    files = sorted(p for p in root.rglob("*.py") if ".git" not in p.parts)
    used: set[str] = set()
    planted: dict[Path, list[tuple[int, str, str]]] = {}
    for i in range(NEEDLES):
        fact, question = TEMPLATES[i % len(TEMPLATES)]
        values = {"x": codename(rng, used), "n": rng.randint(2, 23), "day": rng.choice(DAYS),
                  "word": rng.choice(WORDS)}
        path = rng.choice(files)
        lines = path.read_text(encoding="utf-8").count("\n")
        planted.setdefault(path, []).append(
            (rng.randint(0, lines), fact.format(**values), question.format(**values))
        )
    needles = []
    for path, items in planted.items():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        # Insert from the bottom up so earlier insertions do not move later ones.
        for position, fact, _question in sorted(items, reverse=True):
            lines.insert(position, f"# {fact}\n")
        path.write_text("".join(lines), encoding="utf-8")
        text = "".join(lines)
        for _, fact, question in items:
            line = text[: text.index(f"# {fact}\n")].count("\n") + 1
            needles.append(Needle(str(path.relative_to(root)), line, fact, question))
    return sorted(needles, key=lambda n: n.question)


def ask(root: Path, needle: Needle) -> tuple[float, int | None]:
    """Run `fathom search`; return wall seconds and the 1-based rank of the needle."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "fathom"), "search", needle.question, "--repo", str(root), "--limit", "5",
         "--json"], capture_output=True, text=True, check=True,
    )
    seconds = time.perf_counter() - started
    for rank, hit in enumerate(json.loads(done.stdout), start=1):
        if hit["path"] == needle.path and hit["line"] <= needle.line <= hit["end_line"]:
            return seconds, rank
    return seconds, None


def main() -> None:
    """Hide, index, pack, ask; write the results."""
    rng = random.Random(SEED)
    root = checkout()
    try:
        needles = hide_needles(root, rng)
        started = time.perf_counter()
        subprocess.run([str(BIN / "fathom"), "index", str(root), "--json"], check=True,
                       capture_output=True)
        index_seconds = time.perf_counter() - started
        out = root.parent / "pack.txt"
        started = time.perf_counter()
        packed = json.loads(subprocess.run(
            [str(BIN / "fathom"), "pack", str(root), "--budget", "1000000", "--out", str(out),
             "--json"], check=True, capture_output=True, text=True,
        ).stdout)
        pack_seconds = time.perf_counter() - started
        text = out.read_text(encoding="utf-8")
        in_pack = sum(f"# {n.fact}" in text for n in needles)
        cli = [ask(root, n) for n in needles]
        index = RepoIndex(root)
        with index.connect() as conn:
            fulltext = index.fulltext()
            in_process = []
            for needle in needles:
                began = time.perf_counter()
                search(conn, fulltext, needle.question, 5)
                in_process.append(time.perf_counter() - began)
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    ranks = [rank for _, rank in cli]
    misses = [asdict(n) for n, r in zip(needles, ranks, strict=True) if r is None]
    report = {
        "load_average_1m_at_end": os.getloadavg()[0],
        "needles": len(needles),
        "top1": sum(r == 1 for r in ranks) / len(ranks),
        "top5": sum(r is not None for r in ranks) / len(ranks),
        "cli_latency_s": {"median": statistics.median(s for s, _ in cli),
                          "max": max(s for s, _ in cli)},
        "search_latency_ms": {"median": 1000 * statistics.median(in_process),
                              "max": 1000 * max(in_process)},
        "index_s": index_seconds,
        "pack_1m_s": pack_seconds,
        "pack_tokens": packed["total_tokens"],
        "needles_in_pack": in_pack,
        "misses": misses,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
