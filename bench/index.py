"""Benchmark the repository engine on a real repository, against aider's RepoMap.

Each step runs the `fathom` CLI in a new process (as a user would), on a fresh git
checkout of SQLAlchemy's source: cold index, warm no-op update, one-file update, map
of 1k and 64k tokens, 1M-token pack (twice, to check the bytes are identical).  When
aider-chat is installed in its own venv (AIDER_PYTHON, default /tmp/aider-venv), its
RepoMap is timed on the same tree in the same run and the ratios are printed.
Cold runs (COLD_RUNS, ours and aider's 1k map) and updates in a new process
(UPDATE_RUNS) are repeated and their medians reported; a search right after the updates
(it applies their queued search-index changes) and plain searches are timed too.  The
project's bytecode is compiled first, as a regular install does, so an environment with
PYTHONDONTWRITEBYTECODE does not recompile Fathom's modules in every measured process.
The tree-sitter floor (parse alone, parse plus one tags-query pass, in CPU seconds) and the
store floor (SQLite inserting the extracted rows, tantivy indexing the span documents)
show how much of a cold index no change to our code can remove.
Results go to bench/results/index.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import checkout  # noqa: E402
from tools.repo.index import RepoIndex  # noqa: E402
from tools.repo.tokens import v4_tokenizer_path  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = Path(__file__).parent / "results" / "index.json"
AIDER_PYTHON = Path(os.environ.get("AIDER_PYTHON", "/tmp/aider-venv/bin/python"))
EDITED = "lib/sqlalchemy/orm/session.py"
UPDATE_RUNS = 9
COLD_RUNS = 3  # cold index and aider's cold 1k map: medians (a shared machine is noisy)
SEARCH_QUERY = "flush the pending changes of a session"
PROJECT = Path(__file__).resolve().parents[1]


def fathom(*args: str) -> tuple[float, str]:
    """Run the fathom CLI; return wall seconds and stdout."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "fathom"), *args], capture_output=True, text=True, check=True
    )
    return time.perf_counter() - started, done.stdout


def aider(root: Path, tokens: int) -> dict[str, float]:
    """One aider RepoMap run in a new process."""
    done = subprocess.run(
        [str(AIDER_PYTHON), str(Path(__file__).parent / "aider_repomap.py"), str(root),
         str(tokens), str(v4_tokenizer_path())],
        capture_output=True, text=True, check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def touch(root: Path) -> None:
    """Change one file the way an editor would."""
    path = root / EDITED
    path.write_text(path.read_text() + f"\n# edited at {time.time_ns()}\n")


def measure_fathom(root: Path) -> dict[str, object]:
    """Every fathom step, timed."""
    out = root.parent / "out"
    results: dict[str, object] = {}
    colds = []
    for _ in range(COLD_RUNS):
        shutil.rmtree(root / ".fathom", ignore_errors=True)
        seconds, stdout = fathom("index", str(root), "--json")
        colds.append(seconds)
    stats = json.loads(stdout)
    results["cold_index_s"] = statistics.median(colds)
    results["cold_index_all_s"] = colds
    results["index"] = {k: stats[k] for k in ("files", "definitions", "references", "parsed")}
    noops = [fathom("index", str(root), "--json")[0] for _ in range(UPDATE_RUNS)]
    results["noop_update_s"] = statistics.median(noops)
    results["noop_update_all_s"] = noops
    updates, parsed = [], []
    for _ in range(UPDATE_RUNS):
        time.sleep(2.1)  # let the mtime of the last indexing age past git's racy window
        touch(root)
        seconds, stdout = fathom("index", str(root), "--json")
        updates.append(seconds)
        parsed.append(json.loads(stdout)["parsed"])
    results["one_file_update_s"] = statistics.median(updates)
    results["one_file_update_all_s"] = updates
    results["one_file_parsed"] = max(parsed)
    # A search applies what updates queued for the search index (tools.repo.search_queue):
    # the first one after edits pays that tantivy commit.
    search = ("search", SEARCH_QUERY, "--repo", str(root), "--json")
    results["search_after_edits_s"] = fathom(*search)[0]
    results["search_s"] = statistics.median(fathom(*search)[0] for _ in range(UPDATE_RUNS))
    results.update(measure_in_process(root))
    for tokens in (1024, 65536):
        seconds, stdout = fathom("map", "--repo", str(root), "--tokens", str(tokens), "--json")
        results[f"map_{tokens}_s"] = seconds
        results[f"map_{tokens}_tokens"] = json.loads(stdout)["tokens"]
    digests = []
    for run in (1, 2):
        seconds, stdout = fathom(
            "pack", str(root), "--budget", "1000000", "--out", str(out / "pack.txt"),
            "--manifest", str(out / "manifest.json"), "--json",
        )
        summary = json.loads(stdout)
        results[f"pack_1m_run{run}_s"] = seconds
        digests.append(hashlib.sha256((out / "pack.txt").read_bytes()).hexdigest())
    results["pack_1m_tokens"] = summary["total_tokens"]
    results["pack_1m_counts"] = summary["counts"]
    results["pack_deterministic"] = digests[0] == digests[1]
    return results


def measure_in_process(root: Path) -> dict[str, float]:
    """Updates as a long-lived process (the TUI, an agent) sees them: no start-up cost."""
    index = RepoIndex(root)
    index.update()
    started = time.perf_counter()
    index.update()
    noop = time.perf_counter() - started
    time.sleep(2.1)
    touch(root)
    started = time.perf_counter()
    index.update()
    return {"noop_update_in_process_s": noop,
            "one_file_update_in_process_s": time.perf_counter() - started}


def tree_sitter_floor(root: Path) -> dict[str, float]:
    """CPU seconds tree-sitter alone spends on the corpus: parsing, then one pass of our
    tags query over each tree (the C work every cold index must do, without Python's)."""
    from tree_sitter import QueryCursor

    from tools.repo.files import discover
    from tools.repo.languages import TAGGED_LANGUAGES
    from tools.repo.parse import _grammar, _parser

    files = [f for f in discover(root).files if f.language in TAGGED_LANGUAGES]
    sources = [(f.language, (root / f.path).read_bytes()) for f in files]
    started = time.process_time()
    trees = [(lang, _parser(lang, _grammar(lang).language).parse(data)) for lang, data in sources]
    parse = time.process_time() - started
    started = time.process_time()
    for lang, tree in trees:
        QueryCursor(_grammar(lang).query).matches(tree.root_node)
    query = time.process_time() - started
    cpus = os.cpu_count() or 1
    return {"files": len(files), "parse_cpu_s": parse, "query_cpu_s": query,
            "wall_s_if_perfectly_parallel": (parse + query) / cpus}


def precompile() -> None:
    """Compile the project's bytecode, as a regular (non-editable) install does."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "app", "tools", "agents"],
                   cwd=PROJECT, check=True, capture_output=True)


def store_floor(root: Path) -> dict[str, float]:
    """CPU seconds the two stores alone spend on the corpus's extracted rows: SQLite
    inserting every blob's definitions, references and spans (rows built beforehand), and
    tantivy indexing every span document (documents built beforehand) and committing.
    Native work every cold index must also do, whatever language the rest is written in."""
    import tempfile

    import tantivy

    from tools.repo.extract import extract_all
    from tools.repo.files import FileOptions, discover
    from tools.repo.fulltext import FullTextIndex
    from tools.repo.store import open_for_write, search_path

    files = discover(root).files
    blobs = [e.blob for part in extract_all(root, files, set(), FileOptions())
             for e in part if e.blob is not None]
    with tempfile.TemporaryDirectory() as scratch:
        conn, _ = open_for_write(Path(scratch))
        blob_rows = [(b.sha, b.language, b.lines, 0, b.secret, len(b.definitions), 0)
                     for b in blobs]
        def_rows = [(i, *d[:6]) for i, b in enumerate(blobs, 1) for d in b.definitions]
        ref_rows = [(i, n, c) for i, b in enumerate(blobs, 1) for n, c in b.references]
        span_rows = [(i, s.start, s.end, s.name) for i, b in enumerate(blobs, 1) for s in b.spans]
        started = time.process_time()
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO blobs(sha, language, lines, has_errors, secret, n_defs, "
                         "n_refs) VALUES (?,?,?,?,?,?,?)", blob_rows)
        conn.executemany("INSERT INTO defs VALUES (?,?,?,?,?,?,?)", def_rows)
        conn.executemany("INSERT INTO refs VALUES (?,?,?)", ref_rows)
        conn.executemany("INSERT INTO spans VALUES (?,?,?,?)", span_rows)
        conn.execute("COMMIT")
        sqlite = time.process_time() - started
        conn.close()
        docs = [tantivy.Document(blob=b.sha, start=s.start, end=s.end, body=text,
                                 grams=grams, defines=defines)
                for b in blobs for s, text, grams, defines
                in zip(b.spans, b.span_texts, b.span_grams, b.span_defines, strict=True)]
        with FullTextIndex(search_path(Path(scratch))).writer() as writer:
            started = time.process_time()  # counts tantivy's indexing threads too
            native = writer._open()  # tantivy's own writer: the documents exist already
            for doc in docs:
                native.add_document(doc)
        search = time.process_time() - started
    return {"blobs": len(blobs), "rows": len(def_rows) + len(ref_rows) + len(span_rows),
            "documents": len(docs), "sqlite_cpu_s": sqlite, "tantivy_cpu_s": search}


def measure_aider(root: Path) -> dict[str, object] | None:
    """aider's RepoMap: cold 1k, cold 64k, and 1k in a new process after one edit."""
    if not AIDER_PYTHON.exists():
        return None
    cache = root / ".aider.tags.cache.v4"
    results: dict[str, object] = {}
    for tokens, runs in ((1024, COLD_RUNS), (65536, 1)):
        times = []
        for _ in range(runs):
            shutil.rmtree(cache, ignore_errors=True)
            run = aider(root, tokens)
            times.append(run["seconds"])
        results[f"cold_map_{tokens}_s"] = statistics.median(times)
        results[f"cold_map_{tokens}_all_s"] = times
        results[f"cold_map_{tokens}_tokens"] = run["tokens"]
    touch(root)
    results["map_1024_after_edit_s"] = aider(root, 1024)["seconds"]
    return results


def main() -> None:
    """Run everything on one checkout and write the results."""
    precompile()
    root = checkout()
    try:
        ours = measure_fathom(root)
        theirs = measure_aider(root)
        floor = tree_sitter_floor(root)
        stores = store_floor(root)
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    report: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_1m_at_end": os.getloadavg()[0]},
        "corpus": "sqlalchemy 2.0.36 sdist without built HTML, as a git repository",
        "fathom": ours,
        "aider": theirs,
        "tree_sitter_floor": floor,
        "store_floor": stores,
    }
    if theirs:
        report["ratios"] = {
            "cold_index_vs_aider_cold_map_1k": theirs["cold_map_1024_s"] / ours["cold_index_s"],
            "cold_index_plus_map_1k_vs_aider_cold_map_1k": theirs["cold_map_1024_s"]
            / (ours["cold_index_s"] + ours["map_1024_s"]),
            "map_64k_vs_aider_cold_map_64k": theirs["cold_map_65536_s"]
            / (ours["cold_index_s"] + ours["map_65536_s"]),
            "one_file_update_plus_map_vs_aider_after_edit": theirs["map_1024_after_edit_s"]
            / (ours["one_file_update_s"] + ours["map_1024_s"]),
            "best_possible_cold_index_vs_aider_cold_map_1k": theirs["cold_map_1024_s"]
            / floor["wall_s_if_perfectly_parallel"],
            "best_possible_with_stores_vs_aider_cold_map_1k": theirs["cold_map_1024_s"]
            / ((floor["parse_cpu_s"] + floor["query_cpu_s"] + stores["sqlite_cpu_s"]
                + stores["tantivy_cpu_s"]) / (os.cpu_count() or 1)),
        }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
