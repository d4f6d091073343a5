"""Benchmark the inference engine on the bundled SmolLM2-135M (fp32, CPU).

One run measures, with `--threads` torch threads (2 by default):

* single-session decode: tokens per second after a 200-token prompt (first token to
  last), and time to first token;
* 16 concurrent sessions against one: aggregate generated tokens per second, each
  session a distinct 200-token prompt, all submitted at once (wall time from submit to
  the last token, prefill included, the same measure for one session);
* the prefix cache: time to first token of a follow-up question on a cached 4K-token
  prefix against the same request cold (a fresh engine);
* where one decode step's time goes: `torch.profiler` over decode steps of one sequence
  and of 16, its operators grouped by what they compute, and the rate at which the step
  reads the weights (every decode step reads all of them once).

The machine is shared and noisy: every timing is the median of `--repeats` runs.
Results go to bench/results/engine.json.

    .venv/bin/python bench/engine.py
    .venv/bin/python bench/engine.py --repeats 5 --threads 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.model import machine  # noqa: E402
from bench.results_file import write_results  # noqa: E402
from model_runtime.engine import (  # noqa: E402
    Engine,
    EngineConfig,
    Finished,
    GenerationParams,
    RequestHandle,
    TokenEvent,
)
from model_runtime.gguf_loader import load_gguf_with_tokenizer  # noqa: E402
from model_runtime.loops import LOOP_NGRAM  # noqa: E402
from model_runtime.models.llama import LlamaForCausalLM  # noqa: E402
from model_runtime.sampling import SamplingParams  # noqa: E402
from model_runtime.tokenizer import Tokenizer, gguf_path_of_smollm2  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "engine.json"
PROMPT_TOKENS = 200
PREFIX_TOKENS = 4096
SESSIONS = 16
# Greedy, and never an 8-gram twice: no session ends early on a loop, so every session
# decodes exactly as many tokens as asked.
DECODE = SamplingParams(no_repeat_ngram_size=LOOP_NGRAM)
TARGETS = {"concurrency": 3.0, "cached_ttft": 0.05}


def _prompt(tokenizer: Tokenizer, n: int, seed: int) -> list[int]:
    """`n` tokens of real text (this repository's model runtime), from offset `seed`."""
    root = Path(__file__).resolve().parents[1] / "model_runtime"
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.py")))
    ids = tokenizer.encode(text)
    start = (seed * 997) % (len(ids) - n)
    return ids[start:start + n]


def _timed(engine: Engine, prompts: list[list[int]], new_tokens: int) -> dict[str, float]:
    """Submit every prompt at once, each read by a thread of its own as a client would;
    wall time to the last token, the latest first token, tokens generated, and the time
    from the earliest first token to the last token."""
    firsts: list[float] = []
    lasts: list[float] = []
    generated: list[int] = []

    def client(handle: RequestHandle) -> None:
        count = 0
        for event in handle.events():
            if isinstance(event, TokenEvent):
                if not count:
                    firsts.append(time.perf_counter() - start)
                count += 1
            elif isinstance(event, Finished) and event.finish_reason != "length":
                raise RuntimeError(f"a session ended with {event.finish_reason}: {event.error}")
        lasts.append(time.perf_counter() - start)
        generated.append(count)

    start = time.perf_counter()
    handles = [engine.submit(p, GenerationParams(new_tokens, DECODE)) for p in prompts]
    threads = [threading.Thread(target=client, args=(h,)) for h in handles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(generated) != len(prompts):
        raise RuntimeError("a session failed")
    return {"wall_s": max(lasts), "first_token_s": max(firsts), "generated": sum(generated),
            "decode_s": max(lasts) - min(firsts)}


def _median(runs: int, measure: Callable[[], dict[str, float]]) -> dict[str, float]:
    """Each key's median over `runs` measurements."""
    samples = [measure() for _ in range(runs)]
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def decode_rates(model: LlamaForCausalLM, tokenizer: Tokenizer, repeats: int,
                 new_tokens: int) -> dict[str, Any]:
    """One session, then SESSIONS at once: tokens per second."""
    engine = Engine(model, tokenizer, EngineConfig(prefix_cache_bytes=0))
    one = _median(repeats, lambda: _timed(engine, [_prompt(tokenizer, PROMPT_TOKENS, 0)],
                                          new_tokens))
    many = _median(repeats, lambda: _timed(
        engine, [_prompt(tokenizer, PROMPT_TOKENS, s) for s in range(SESSIONS)], new_tokens))
    engine.close()
    single_decode = (new_tokens - 1) / one["decode_s"]
    return {
        "single_session": {"decode_tok_s": single_decode,
                           "first_token_s": one["first_token_s"],
                           "aggregate_tok_s": one["generated"] / one["wall_s"]},
        "sessions_16": {"aggregate_tok_s": many["generated"] / many["wall_s"],
                        "wall_s": many["wall_s"], "generated": many["generated"]},
        "concurrency_speedup": (many["generated"] / many["wall_s"])
        / (one["generated"] / one["wall_s"]),
    }


def cached_prefix(model: LlamaForCausalLM, tokenizer: Tokenizer, repeats: int
                  ) -> dict[str, Any]:
    """Time to first token of a follow-up on a cached 4K prefix, against cold."""
    prefix = _prompt(tokenizer, PREFIX_TOKENS, 1)

    def question(n: int) -> list[int]:
        return prefix + tokenizer.encode(f"\nQuestion {n}: what does this code do?\n")

    def cold() -> dict[str, float]:
        engine = Engine(model, tokenizer)
        result = _timed(engine, [question(0)], 1)
        engine.close()
        return result

    engine = Engine(model, tokenizer)
    _timed(engine, [question(0)], 1)  # caches the prefix
    asked = iter(range(1, 1000))
    warm = _median(repeats, lambda: _timed(engine, [question(next(asked))], 1))
    cold_ttft = _median(repeats, cold)["first_token_s"]
    engine.close()
    return {"prefix_tokens": PREFIX_TOKENS, "cold_first_token_s": cold_ttft,
            "cached_first_token_s": warm["first_token_s"],
            "ratio": warm["first_token_s"] / cold_ttft}


def profile_decode(model: LlamaForCausalLM, tokenizer: Tokenizer, sessions: int
                   ) -> dict[str, Any]:
    """Share of one decode step's CPU time per kind of operator, `sessions` decoding."""
    from torch.profiler import ProfilerActivity, profile

    engine = Engine(model, tokenizer, EngineConfig(prefix_cache_bytes=0))
    decoding: set[str] = set()
    for s in range(sessions):
        engine.add_request(_prompt(tokenizer, PROMPT_TOKENS, s), GenerationParams(64, DECODE))
    while len(decoding) < sessions:  # until every session has its first token
        decoding.update(r for r, e in engine.step() if isinstance(e, TokenEvent))
    steps = 8
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            engine.step()
        wall = (time.perf_counter() - start) / steps
    engine.abort_all()
    groups: dict[str, float] = {}
    for row in prof.key_averages():
        group = _group(row.key)
        groups[group] = groups.get(group, 0.0) + row.self_cpu_time_total / 1e6 / steps
    total = sum(groups.values())
    weights = sum(p.nbytes for p in model.parameters())  # tied embedding and head once
    return {"step_ms": wall * 1e3,
            "share": {k: round(v / total, 3) for k, v in sorted(groups.items(),
                                                                 key=lambda kv: -kv[1])},
            "weights_mb": weights / 1e6, "lm_head_mb": model.lm_head.weight.nbytes / 1e6,
            "weights_read_gb_s": weights / wall / 1e9}


def _group(op: str) -> str:
    """What an operator computes, for the profile."""
    if op in ("aten::addmm", "aten::mm", "aten::linear", "aten::matmul", "aten::bmm"):
        return "matmul (projections, MLP, LM head, attention scores)"
    if op in ("aten::_softmax", "aten::softmax"):
        return "softmax"
    if op in ("aten::copy_", "aten::index_put_", "aten::cat", "aten::clone", "aten::index",
              "aten::contiguous", "aten::empty", "aten::slice", "aten::view", "aten::select",
              "aten::transpose", "aten::reshape", "aten::as_strided", "aten::unsqueeze",
              "aten::_unsafe_view", "aten::expand", "aten::t", "aten::empty_strided",
              "aten::arange", "aten::to", "aten::_to_copy", "aten::embedding",
              "aten::index_select", "aten::lift_fresh", "aten::detach_"):
        return "memory and views (cache writes, copies, reshapes)"
    if op in ("aten::mul", "aten::add", "aten::rsqrt", "aten::pow", "aten::mean",
              "aten::neg", "aten::silu", "aten::cos", "aten::sin", "aten::float",
              "aten::div", "aten::sub", "aten::cumsum", "aten::argmax", "aten::topk"):
        return "elementwise (norms, RoPE, SwiGLU, sampling)"
    return "other"


def main() -> None:
    """Run every measurement and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    info = machine()
    info["torch_threads"] = args.threads
    model, tokenizer = load_gguf_with_tokenizer(gguf_path_of_smollm2())
    rates = decode_rates(model, tokenizer, args.repeats, args.new_tokens)
    print(f"decode: {rates['single_session']['decode_tok_s']:.1f} tok/s one session; "
          f"16 sessions {rates['sessions_16']['aggregate_tok_s']:.1f} tok/s aggregate "
          f"({rates['concurrency_speedup']:.2f}x one)", flush=True)
    prefix = cached_prefix(model, tokenizer, args.repeats)
    print(f"first token on a cached {PREFIX_TOKENS}-token prefix: "
          f"{prefix['cached_first_token_s']:.3f} s against {prefix['cold_first_token_s']:.2f} s "
          f"cold ({prefix['ratio']:.1%})", flush=True)
    profiles = {str(n): profile_decode(model, tokenizer, n) for n in (1, SESSIONS)}
    for n, prof in profiles.items():
        print(f"decode step, {n} sessions: {prof['step_ms']:.1f} ms; {prof['share']}")
    info["load_average_at_end"] = list(os.getloadavg())
    write_results(RESULTS, {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "model": "SmolLM2-135M-Instruct (bundled GGUF), fp32",
        "config": {"prompt_tokens": PROMPT_TOKENS, "new_tokens": args.new_tokens,
                   "sessions": SESSIONS, "repeats": args.repeats, "statistic": "median"},
        "decode": rates,
        "prefix_cache": prefix,
        "decode_step_profile": profiles,
        "targets": {
            "concurrency": {"target": f"{SESSIONS} sessions >= {TARGETS['concurrency']}x "
                                      "one session's aggregate tok/s",
                            "value": rates["concurrency_speedup"],
                            "met": rates["concurrency_speedup"] >= TARGETS["concurrency"]},
            "cached_ttft": {"target": "follow-up on a cached 4K prefix: time to first token "
                                      f"<= {TARGETS['cached_ttft']:.0%} of cold",
                            "value": prefix["ratio"],
                            "met": prefix["ratio"] <= TARGETS["cached_ttft"]},
        },
    })
    print(f"results: {RESULTS}")


if __name__ == "__main__":
    main()
