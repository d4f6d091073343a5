"""Benchmark our DeepSeek V4 forward pass against transformers' on one small config.

Both models hold the same random weights (one checkpoint written by transformers'
``save_pretrained``, read by each side's own loader) and run one prefill over the same
random tokens: batch 1, fp32, CPU, no KV cache, logits of the last position only (ours:
``num_logits=1``, transformers: ``logits_to_keep=1``; at vocabulary 129,280 the full logits
alone would be 0.5 GB per 1K tokens). Every case runs in a fresh process, so one case's
memory never inflates another's: a process imports, loads, runs a 64-token warm-up and then
the timed forwards (the fastest of up to three counts); its peak is ``ru_maxrss`` (resident
set, the interpreter and torch included). Every process gets ``--threads`` torch threads
(one by default, see ``THREADS_NOTE``). The parent watches each child's RSS and stops it
above ``--rss-cap-gib``; transformers is not run beyond ``--hf-max-tokens``.
The load case times ``load_model`` on the same checkpoint and compares the growth of the
peak RSS with the checkpoint's size on disk. Results go to bench/results/model.json.

    .venv/bin/python bench/model.py                    # 1K, 4K, 16K, 64K
    .venv/bin/python bench/model.py --tokens 1024 4096 --hf-max-tokens 4096
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results_file import write_results  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "model.json"
GIB = 1 << 30
WARMUP_TOKENS = 64
# The machine is shared: each case times up to REPEATS forwards (fewer once they have taken
# REPEAT_BUDGET_S) and keeps the fastest, the one least disturbed by other processes.
REPEATS = 3
REPEAT_BUDGET_S = 60.0
THREADS_NOTE = (
    "every case runs with the same number of torch threads, one by default: on a shared "
    "machine whose load average exceeds its cores, two OpenMP threads per process wait on "
    "each other at every op (our 8K forward took 35 s with two threads, 5.5 s with one)")
SLIDING = "sliding_attention"
CSA = "compressed_sparse_attention"
HCA = "heavily_compressed_attention"
# hidden 256, 4 layers covering sliding / CSA / HCA attention and hash / top-k routing,
# 8 experts top-2, V4's real vocabulary, window, compress ratios, top-k and mHC width.
CONFIG: dict[str, Any] = {
    "vocab_size": 129280, "hidden_size": 256, "num_hidden_layers": 4,
    "layer_types": [SLIDING, CSA, HCA, CSA],
    "mlp_layer_types": ["hash_moe", "hash_moe", "moe", "moe"],
    "compress_rates": {CSA: 4, HCA: 128}, "sliding_window": 128,
    "num_attention_heads": 8, "head_dim": 64, "partial_rotary_factor": 0.25,
    "q_lora_rank": 128, "o_groups": 4, "o_lora_rank": 64,
    "moe_intermediate_size": 256, "n_routed_experts": 8, "num_experts_per_tok": 2,
    "index_n_heads": 16, "index_head_dim": 32, "index_topk": 512, "hc_mult": 4,
    "num_nextn_predict_layers": 0, "max_position_embeddings": 1 << 20,
    "rope_parameters": {"rope_type": "yarn", "factor": 16.0,
                        "original_max_position_embeddings": 65536},
}
TARGETS = {
    "speedup_4k": "at least 3x faster than transformers at 4K tokens",
    "rss_16k": "16K tokens in under 2 GiB",
    "rss_64k": "64K tokens complete in under 8 GiB",
    "near_linear": "cost near-linear in length (seconds per token at 64K within 2x of 4K)",
    "load_peak": "load peak at most 1.2x the checkpoint size",
}


def _peak_rss() -> int:
    """Peak resident set of this process in bytes (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _current_rss(pid: int | str = "self") -> int:
    """Resident set of a process now, in bytes (0 once it has exited)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


# -- work done in child processes ------------------------------------------------------------


def prepare(directory: Path, **overrides: Any) -> None:
    """Write a random checkpoint of ``CONFIG`` (with ``overrides``) via ``save_pretrained``."""
    import torch
    from transformers import DeepseekV4Config, DeepseekV4ForCausalLM

    torch.manual_seed(0)
    settings = CONFIG | overrides
    model = DeepseekV4ForCausalLM(DeepseekV4Config(**settings)).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("norm.weight"):
                param.fill_(1.0)
            else:
                param.normal_(0.0, 0.05)
        for layer in model.model.layers:
            gate = layer.mlp.gate
            if hasattr(gate, "tid2eid"):
                picks = torch.rand(settings["vocab_size"], settings["n_routed_experts"])
                gate.tid2eid.copy_(picks.argsort(dim=1)[:, : CONFIG["num_experts_per_tok"]])
    model.save_pretrained(directory)


def forward_case(impl: str, directory: Path, tokens: int, logits_out: Path) -> dict[str, Any]:
    """Load ``impl``'s model, warm it up, time one prefill of ``tokens`` tokens."""
    import torch

    if impl == "ours":
        from model_runtime import load_model

        model = load_model(directory)

        def run(ids: torch.Tensor) -> torch.Tensor:
            return model(ids, num_logits=1)
    else:
        from transformers import DeepseekV4ForCausalLM

        model = DeepseekV4ForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()

        def run(ids: torch.Tensor) -> torch.Tensor:
            return model(ids, use_cache=False, logits_to_keep=1).logits

    generator = torch.Generator().manual_seed(tokens)
    ids = torch.randint(0, CONFIG["vocab_size"], (1, tokens), generator=generator)
    times = []
    with torch.inference_mode():
        run(ids[:, :WARMUP_TOKENS])
        loaded_rss = _current_rss()
        while len(times) < REPEATS and sum(times) < REPEAT_BUDGET_S:
            started = time.perf_counter()
            logits = run(ids)
            times.append(time.perf_counter() - started)
    torch.save(logits[0, -1].clone(), logits_out)
    return {"seconds": min(times), "all_seconds": times, "peak_rss_bytes": _peak_rss(),
            "rss_before_forward": loaded_rss}


def load_case(directory: Path, warmup: Path) -> dict[str, Any]:
    """Time ``load_model`` on ``directory`` and measure how far it lifts the peak RSS.

    Loading the tiny ``warmup`` checkpoint first pays the one-time costs (torch's lazy
    initialisation, code pages of the libraries involved) that any first load carries
    whatever the checkpoint's size. safetensors maps the file and the loader keeps
    same-dtype tensors as views of that mapping, so right after loading the weights are not
    all resident yet; touching every weight pages them in, and that peak is the one
    compared with the file size.
    """
    import torch

    from model_runtime import load_model

    load_model(warmup)
    before = _current_rss()
    started = time.perf_counter()
    model = load_model(directory)
    seconds = time.perf_counter() - started
    load_peak = _peak_rss()
    with torch.inference_mode():
        for tensor in model.state_dict().values():
            tensor.float().sum()
    params = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    size = sum(f.stat().st_size for f in directory.glob("*.safetensors"))
    return {
        "seconds": seconds, "checkpoint_bytes": size, "model_bytes": params,
        "rss_before_load": before, "load_peak_growth_bytes": load_peak - before,
        "peak_growth_bytes": _peak_rss() - before,
    }


# -- the parent: one child per case -----------------------------------------------------------


def run_child(args: list[str], cap: int, timeout: float, threads: int) -> dict[str, Any]:
    """Run ``bench/model.py --child ...``; its JSON result, or why it produced none."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    env = os.environ | {"OMP_NUM_THREADS": str(threads)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    started, watched_peak = time.monotonic(), 0
    while process.poll() is None:
        watched_peak = max(watched_peak, _current_rss(process.pid))
        if watched_peak > cap:
            process.kill()
            process.wait()
            return {"aborted": f"RSS passed the {cap / GIB:.0f} GiB cap"}
        if time.monotonic() - started > timeout:
            process.kill()
            process.wait()
            return {"aborted": f"no result within {timeout:.0f} s"}
        time.sleep(0.1)
    out, err = process.communicate()
    if process.returncode != 0:
        return {"aborted": f"exit {process.returncode}: {err.strip().splitlines()[-1:]}"}
    return json.loads(out.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    """Where and under what load the benchmark ran."""
    import torch
    import transformers

    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "memory_total_gib": round(int(meminfo["MemTotal"].split()[0]) / (1 << 20), 1),
        "memory_available_gib_at_start": round(
            int(meminfo["MemAvailable"].split()[0]) / (1 << 20), 1),
        "load_average_at_start": list(os.getloadavg()),
        "python": platform.python_version(), "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def forward_row(directory: Path, scratch: Path, tokens: int, hf_max: int, cap: int,
                timeout: float, threads: int) -> dict[str, Any]:
    """Both implementations at one length, plus their ratios."""
    row: dict[str, Any] = {"tokens": tokens}
    for impl in ("ours", "transformers"):
        if impl == "transformers" and tokens > hf_max:
            row[impl] = {"skipped": f"would exceed memory: transformers builds a dense "
                                    f"{tokens}x{tokens} mask and eager attention scores "
                                    f"(issue 3 measured 18.7 GB at 16K); --hf-max-tokens "
                                    f"is {hf_max}"}
            continue
        logits = scratch / f"{impl}-{tokens}.pt"
        row[impl] = run_child(["forward", impl, str(directory), str(tokens), str(logits)],
                              cap, timeout, threads)
    ours, theirs = row["ours"], row["transformers"]
    if "seconds" in ours and "seconds" in theirs:
        import torch

        a, b = torch.load(scratch / f"ours-{tokens}.pt"), torch.load(
            scratch / f"transformers-{tokens}.pt")
        row["speedup"] = theirs["seconds"] / ours["seconds"]
        row["peak_rss_ratio_theirs_over_ours"] = (
            theirs["peak_rss_bytes"] / ours["peak_rss_bytes"])
        row["last_logits_max_abs_diff"] = float((a - b).abs().max())
    return row


def targets(rows: list[dict[str, Any]], load: dict[str, Any]) -> dict[str, Any]:
    """Each issue-3 target with the measured value and whether it is met (None: not run)."""
    by_len = {r["tokens"]: r for r in rows}

    def ours(tokens: int, key: str) -> float | None:
        return by_len.get(tokens, {}).get("ours", {}).get(key)

    speedup = by_len.get(4096, {}).get("speedup")
    rss16, rss64 = ours(16384, "peak_rss_bytes"), ours(65536, "peak_rss_bytes")
    t4, t64 = ours(4096, "seconds"), ours(65536, "seconds")
    growth = (t64 / 65536) / (t4 / 4096) if t4 and t64 else None
    load_ratio = load.get("peak_growth_bytes", 0) / load["checkpoint_bytes"] if (
        "checkpoint_bytes" in load) else None
    values = {
        "speedup_4k": (speedup, None if speedup is None else speedup >= 3.0),
        "rss_16k": (rss16 and rss16 / GIB, None if rss16 is None else rss16 < 2 * GIB),
        "rss_64k": (rss64 and rss64 / GIB, None if rss64 is None else rss64 < 8 * GIB),
        "near_linear": (growth, None if growth is None else growth <= 2.0),
        "load_peak": (load_ratio, None if load_ratio is None else load_ratio <= 1.2),
    }
    return {k: {"target": TARGETS[k], "value": v, "met": met} for k, (v, met) in values.items()}


def print_table(rows: list[dict[str, Any]], load: dict[str, Any]) -> None:
    """The human-readable summary."""
    print(f"{'tokens':>7} | {'ours s':>8} {'ours GiB':>9} | {'hf s':>8} {'hf GiB':>7} | "
          f"{'speedup':>7} {'mem x':>6} | {'ours ms/1K tok':>14}")
    for row in rows:
        ours, theirs = row["ours"], row["transformers"]
        hf = (f"{theirs['seconds']:8.2f} {theirs['peak_rss_bytes'] / GIB:7.2f}"
              if "seconds" in theirs else f"{'skipped' if 'skipped' in theirs else 'aborted':>16}")
        mine = (f"{ours['seconds']:8.2f} {ours['peak_rss_bytes'] / GIB:9.2f}"
                if "seconds" in ours else f"{ours.get('aborted', '?'):>18}")
        ratio = (f"{row['speedup']:7.2f} {row['peak_rss_ratio_theirs_over_ours']:6.2f}"
                 if "speedup" in row else f"{'-':>7} {'-':>6}")
        per = (f"{1000 * ours['seconds'] / row['tokens'] * 1024:14.1f}"
               if "seconds" in ours else "")
        print(f"{row['tokens']:>7} | {mine} | {hf} | {ratio} | {per}")
    if "checkpoint_bytes" in load:
        print(f"load: {load['seconds']:.2f} s; peak RSS grew "
              f"{load['load_peak_growth_bytes'] / GIB:.3f} GiB during load_model and "
              f"{load['peak_growth_bytes'] / GIB:.3f} GiB once every weight was touched, for a "
              f"{load['checkpoint_bytes'] / GIB:.3f} GiB checkpoint "
              f"({load['peak_growth_bytes'] / load['checkpoint_bytes']:.2f}x)")


def main() -> None:
    """Run every case (or, with ``--child``, one case) and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[1024, 4096, 16384, 65536])
    parser.add_argument("--hf-max-tokens", type=int, default=4096,
                        help="longest input given to transformers (longer: skipped)")
    parser.add_argument("--rss-cap-gib", type=float, default=14.0)
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per case")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads of every case (see THREADS_NOTE)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "prepare":
            prepare(Path(rest[0]))
            prepare(Path(rest[1]), vocab_size=1024, hidden_size=64)
            result: dict[str, Any] = {"ok": True}
        elif kind == "forward":
            result = forward_case(rest[0], Path(rest[1]), int(rest[2]), Path(rest[3]))
        else:
            result = load_case(Path(rest[0]), Path(rest[1]))
        print(json.dumps(result))
        return

    cap, info = int(args.rss_cap_gib * GIB), machine()
    info["torch_threads"], info["threads_note"] = args.threads, THREADS_NOTE
    with tempfile.TemporaryDirectory(prefix="fathom-bench-model-") as tmp:
        scratch = Path(tmp)
        directory, tiny = scratch / "checkpoint", scratch / "tiny"
        prepared = run_child(["prepare", str(directory), str(tiny)], cap, args.timeout,
                             args.threads)
        if "aborted" in prepared:
            raise SystemExit(f"could not write the checkpoints: {prepared['aborted']}")
        load = run_child(["load", str(directory), str(tiny)], cap, args.timeout, args.threads)
        rows = [forward_row(directory, scratch, t, args.hf_max_tokens, cap, args.timeout,
                            args.threads) for t in args.tokens]
    info["load_average_at_end"] = list(os.getloadavg())
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "config": CONFIG,
        "measured": (
            "one prefill forward, batch 1, fp32, CPU, no KV cache, logits of the last position "
            "only (ours num_logits=1, transformers logits_to_keep=1 use_cache=False), same "
            "checkpoint and tokens, after a 64-token warm-up; seconds = fastest of up to "
            f"{REPEATS} calls (all in all_seconds); peak_rss_bytes = ru_maxrss of the fresh "
            "process running the case (interpreter, torch, weights and forward); load = "
            "load_model in a fresh process after a warm-up load of a tiny checkpoint; "
            "load_peak_growth_bytes = peak RSS after load_model minus RSS just before it; "
            "peak_growth_bytes = the same once every weight was read (the weights are "
            "memory-mapped until touched)"),
        "forward": rows,
        "load": load,
        "targets": targets(rows, load),
    }
    print_table(rows, load)
    for name, target in result["targets"].items():
        print(f"{name}: {target['target']}: value {target['value']}, met {target['met']}")
    write_results(args.out, result)


if __name__ == "__main__":
    main()
