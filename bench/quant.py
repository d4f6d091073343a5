"""Benchmark FP8/FP4 weights kept quantised against dequantised at load, on a small V4 config.

One checkpoint in DeepSeek's reference layout is written first: FP8 e4m3 linear weights
with ue8m0 128x128 block scales (``wq_a``, ``wq_b``, ``wkv``, ``wo_a``, ``wo_b``, the
indexer's ``wq_b``, shared experts), FP4 e2m1 routed experts with a ue8m0 scale per 32
values, bf16 embedding/head/router, fp32 norms, mHC and compressor weights. Then, for each
compute dtype and each ``quantized`` mode (``keep``, ``dequantize``), a fresh process loads
it with ``load_model`` after a warm-up load of a tiny checkpoint, reads every byte of every
weight (the loader's tensors may be views of the memory-mapped file until touched), and
times prefill forwards (the fastest of ``REPEATS``, after a 16-token warm-up). Memory is
the growth of the process's peak RSS (``VmHWM``, reset after the warm-up) over its RSS
just before ``load_model``, compared with the checkpoint's size on disk. Results go to
bench/results/quant.json.

    .venv/bin/python bench/quant.py
    .venv/bin/python bench/quant.py --tokens 256 --dtypes bfloat16
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results_file import write_results  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "quant.json"
GIB = 1 << 30
MIB = 1 << 20
REPEATS = 3
WARMUP_TOKENS = 16
# Reference spelling (inference/config.json): 4 layers covering sliding / CSA / HCA attention
# and hash / top-k routing, 32 routed experts; the routed experts are ~85% of the bytes.
CONFIG: dict[str, Any] = {
    "vocab_size": 4096, "dim": 1024, "moe_inter_dim": 512, "n_layers": 4, "n_hash_layers": 1,
    "n_mtp_layers": 0, "n_heads": 16, "n_routed_experts": 32, "n_shared_experts": 1,
    "n_activated_experts": 2, "score_func": "sqrtsoftplus", "route_scale": 1.5,
    "swiglu_limit": 10.0, "q_lora_rank": 512, "head_dim": 128, "rope_head_dim": 32,
    "norm_eps": 1e-6, "o_groups": 4, "o_lora_rank": 256, "window_size": 128,
    "compress_ratios": [0, 4, 128, 4], "compress_rope_theta": 160000.0,
    "original_seq_len": 65536, "rope_theta": 10000.0, "rope_factor": 16, "beta_fast": 32,
    "beta_slow": 1, "index_n_heads": 16, "index_head_dim": 64, "index_topk": 64,
    "hc_mult": 4, "hc_sinkhorn_iters": 20, "hc_eps": 1e-6, "dtype": "fp8",
    "scale_fmt": "ue8m0", "expert_dtype": "fp4",
}
WARMUP_CONFIG = CONFIG | {"vocab_size": 512, "dim": 128, "moe_inter_dim": 64,
                          "n_routed_experts": 4, "n_heads": 4, "q_lora_rank": 64,
                          "head_dim": 64, "o_lora_rank": 32, "index_n_heads": 4}
FP4_NAMES = re.compile(r"\.ffn\.experts\.\d+\.w[123]\.weight$")
FP8_NAMES = re.compile(
    r"(attn\.(wq_a|wq_b|wkv|wo_a|wo_b)|indexer\.wq_b|shared_experts\.w[123])\.weight$")
BF16_NAMES = re.compile(r"^(embed|head)\.weight$|gate\.weight$|weights_proj\.weight$")
TARGET = "load peak at most 1.2x the checkpoint size"


def _rss(field: str) -> int:
    """``VmRSS`` (resident set now) or ``VmHWM`` (its peak) of this process, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    """Restart the peak-RSS count from the current RSS (Linux ``clear_refs`` value 5).

    ``ru_maxrss`` cannot be used: Linux carries the parent's peak over fork and exec, and the
    parent held the checkpoint it wrote.
    """
    Path("/proc/self/clear_refs").write_text("5")


def write_checkpoint(directory: Path, config: dict[str, Any], seed: int = 0) -> dict[str, int]:
    """Random weights for ``config`` stored as a DeepSeek FP8/FP4 checkpoint; bytes per kind."""
    import torch
    from safetensors.torch import save_file

    from model_runtime.config import parse_config
    from model_runtime.models.deepseek_v4 import DeepseekV4ForCausalLM
    from model_runtime.quant import quantize_fp4, quantize_fp8

    torch.manual_seed(seed)
    with torch.device("meta"):
        shapes = DeepseekV4ForCausalLM(parse_config(config)).state_dict()
    tensors: dict[str, torch.Tensor] = {}
    sizes = {"fp4": 0, "fp8": 0, "other": 0}
    for name, meta in shapes.items():
        if meta.dtype == torch.long:  # tid2eid: distinct experts per token
            picks = torch.rand(meta.shape[0], config["n_routed_experts"]).argsort(dim=1)
            stored = {name: picks[:, : meta.shape[1]].to(torch.int32)}
        elif name.endswith("norm.weight"):
            stored = {name: torch.ones(meta.shape)}
        else:
            value = torch.randn(meta.shape) * (meta.shape[-1] ** -0.5 if meta.dim() == 2 else 0.05)
            prefix = name.removesuffix(".weight")
            if FP4_NAMES.search(name):
                packed, scale = quantize_fp4(value)
                stored = {name: packed, f"{prefix}.scale": scale}
            elif FP8_NAMES.search(name):
                weight, scale = quantize_fp8(value, scale_fmt="ue8m0")
                stored = {name: weight, f"{prefix}.scale": scale}
            else:
                stored = {name: value.to(torch.bfloat16 if BF16_NAMES.search(name) else
                                         torch.float32)}
        kind = "fp4" if FP4_NAMES.search(name) else "fp8" if FP8_NAMES.search(name) else "other"
        sizes[kind] += sum(t.numel() * t.element_size() for t in stored.values())
        tensors.update(stored)
    directory.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(directory / "model.safetensors"))
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return sizes


def load_case(directory: Path, warmup: Path, mode: str, dtype_name: str, tokens: int,
              logits_out: Path) -> dict[str, Any]:
    """Load with ``quantized=mode``, touch every weight, time prefill forwards."""
    import torch

    from model_runtime import load_model
    from model_runtime.models.quant_linear import QuantLinear

    dtype = getattr(torch, dtype_name)
    load_model(warmup, dtype=dtype, quantized=mode)
    _reset_peak()
    before = _rss("VmRSS")
    started = time.perf_counter()
    model = load_model(directory, dtype=dtype, quantized=mode)
    load_seconds = time.perf_counter() - started
    load_peak = _rss("VmHWM")
    with torch.inference_mode():
        for tensor in model.state_dict().values():
            tensor.contiguous().view(torch.uint8).max()  # reads every byte, allocates nothing
    touched_peak = _rss("VmHWM")
    ids = torch.randint(0, CONFIG["vocab_size"], (1, tokens),
                        generator=torch.Generator().manual_seed(tokens))
    times: list[float] = []
    with torch.inference_mode():
        model(ids[:, :WARMUP_TOKENS], num_logits=1)
        for _ in range(REPEATS):
            started = time.perf_counter()
            logits = model(ids, num_logits=1)
            times.append(time.perf_counter() - started)
    torch.save(logits[0, -1].float().clone(), logits_out)
    size = sum(f.stat().st_size for f in directory.glob("*.safetensors"))
    return {
        "quantized": mode, "dtype": dtype_name,
        "quant_layers": sum(isinstance(m, QuantLinear) for m in model.modules()),
        "load_seconds": load_seconds, "checkpoint_bytes": size,
        "model_bytes": sum(t.numel() * t.element_size() for t in model.state_dict().values()),
        "rss_before_load": before, "load_peak_growth_bytes": load_peak - before,
        "peak_growth_bytes": touched_peak - before,
        "peak_growth_over_checkpoint": (touched_peak - before) / size,
        "forward_tokens": tokens, "forward_seconds": min(times), "all_forward_seconds": times,
        "forward_peak_growth_bytes": _rss("VmHWM") - before,
    }


def run_child(args: list[str], threads: int, timeout: float) -> dict[str, Any]:
    """Run ``bench/quant.py --child ...`` in a fresh process; its JSON result, or why none."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    env = os.environ | {"OMP_NUM_THREADS": str(threads)}
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return {"aborted": f"no result within {timeout:.0f} s"}
    if done.returncode != 0:
        return {"aborted": f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    """Where and under what load the benchmark ran."""
    import torch

    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return {
        "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
        "memory_total_gib": round(int(meminfo["MemTotal"].split()[0]) / (1 << 20), 1),
        "load_average_at_start": list(os.getloadavg()),
        "python": platform.python_version(), "torch": torch.__version__,
    }


def compare(cases: list[dict[str, Any]], scratch: Path) -> list[dict[str, Any]]:
    """Per dtype: keep vs dequantize memory and time ratios, and their logits' difference."""
    import torch

    rows = []
    for dtype in sorted({c["dtype"] for c in cases}):
        keep, deq = (next((c for c in cases if c["dtype"] == dtype and c["quantized"] == m), {})
                     for m in ("keep", "dequantize"))
        if "forward_seconds" not in keep or "forward_seconds" not in deq:
            continue
        a = torch.load(scratch / f"keep-{dtype}.pt")
        b = torch.load(scratch / f"dequantize-{dtype}.pt")
        rows.append({
            "dtype": dtype,
            "peak_growth_keep_over_dequantize": keep["peak_growth_bytes"]
            / deq["peak_growth_bytes"],
            "model_bytes_keep_over_dequantize": keep["model_bytes"] / deq["model_bytes"],
            "forward_seconds_keep_over_dequantize": keep["forward_seconds"]
            / deq["forward_seconds"],
            "last_logits_max_abs_diff": float((a - b).abs().max()),
            "last_logits_max_abs": float(b.abs().max()),
            "target": TARGET, "met_with_keep": keep["peak_growth_over_checkpoint"] <= 1.2,
            "met_with_dequantize": deq["peak_growth_over_checkpoint"] <= 1.2,
        })
    return rows


def main() -> None:
    """Write the checkpoints, run every case in its own process, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=128, help="prefill length timed")
    parser.add_argument("--dtypes", nargs="+", default=["bfloat16", "float32"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads per case")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per case")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import torch

        torch.set_num_threads(args.threads)
        directory, warmup, mode, dtype, tokens, out = args.child
        print(json.dumps(load_case(Path(directory), Path(warmup), mode, dtype, int(tokens),
                                   Path(out))))
        return

    info = machine() | {"torch_threads": args.threads}
    with tempfile.TemporaryDirectory(prefix="fathom-bench-quant-") as tmp:
        scratch = Path(tmp)
        directory, warmup = scratch / "checkpoint", scratch / "warmup"
        sizes = write_checkpoint(directory, CONFIG)
        write_checkpoint(warmup, WARMUP_CONFIG)
        cases = []
        for dtype in args.dtypes:
            for mode in ("keep", "dequantize"):
                result = run_child([str(directory), str(warmup), mode, dtype, str(args.tokens),
                                    str(scratch / f"{mode}-{dtype}.pt")], args.threads,
                                   args.timeout)
                cases.append({"quantized": mode, "dtype": dtype} | result)
                print(json.dumps(cases[-1]))
        comparisons = compare(cases, scratch)
    info["load_average_at_end"] = list(os.getloadavg())
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "config": CONFIG,
        "checkpoint_bytes_by_kind": sizes,
        "measured": (
            "each case a fresh process: load_model(dtype, quantized) after a warm-up load of a "
            "tiny checkpoint; load_peak_growth_bytes = peak RSS (VmHWM, reset after the "
            "warm-up) during load_model minus RSS just before it; peak_growth_bytes = the "
            "same after reading every byte of every weight (the loader's tensors may be "
            "views of the memory-mapped file until "
            "touched); model_bytes = bytes of the state dict; forward_seconds = fastest of "
            f"{REPEATS} prefills (batch 1, no KV cache, last position's logits) after a "
            f"{WARMUP_TOKENS}-token warm-up; forward_peak_growth_bytes = peak RSS growth "
            "including the forwards"),
        "cases": cases,
        "comparisons": comparisons,
    }
    for row in comparisons:
        print(json.dumps(row))
    write_results(args.out, result)


if __name__ == "__main__":
    main()
