"""Our DeepSeek V4 against transformers' independent implementation, and against itself.

transformers 5.24's ``DeepseekV4ForCausalLM`` writes the checkpoint (``save_pretrained``),
our loader reads it, and both run the same 320-token sequences in fp32 on CPU: long enough
to wrap every sliding window and to fill many CSA (ratio 4) and HCA blocks.
"""

from __future__ import annotations

import pytest
import torch

from model_runtime import load_model
from model_runtime.models import deepseek_v4, v4_attention, v4_compressor
from tests.model_runtime.causality import rounding_tolerance
from tests.model_runtime.v4_checkpoints import TINY_CONFIGS, random_hf_model

pytest.importorskip("transformers")

SEQ_LEN = 320
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    """name -> (checkpoint dir, token ids, transformers' logits)."""
    out = {}
    for i, name in enumerate(TINY_CONFIGS):
        model = random_hf_model(name, seed=i)
        directory = tmp_path_factory.mktemp(name)
        model.save_pretrained(directory)
        ids = torch.randint(0, model.config.vocab_size, (2, SEQ_LEN),
                            generator=torch.Generator().manual_seed(100 + i))
        with torch.no_grad():
            logits = model(ids).logits
        out[name] = (directory, ids, logits)
    return out


@pytest.mark.parametrize("name", list(TINY_CONFIGS))
def test_logits_match_transformers(name: str, checkpoints: dict[str, tuple]) -> None:
    directory, ids, expected = checkpoints[name]
    model = load_model(directory)
    with torch.no_grad():
        logits = model(ids)
    delta = (logits - expected).abs().max().item()
    print(f"{name}: max |dlogit| = {delta:.3g} (logit scale {expected.abs().max().item():.3g})")
    assert logits.shape == expected.shape
    assert expected.abs().max() > 1.0  # the comparison is not between near-zero numbers
    assert delta <= TOLERANCE


@pytest.mark.parametrize("name", ["yarn_hash_topk", "wide_heads"])
def test_prefill_then_decode_equals_full_prefill(name: str, checkpoints: dict[str, tuple]) -> None:
    directory, ids, _ = checkpoints[name]
    model = load_model(directory)
    with torch.no_grad():
        full = model(ids)
        cache = model.new_cache(batch_size=2, max_len=SEQ_LEN)
        # Chunk edges fall inside compressor windows; single steps then cross several
        # window wraps and complete CSA and HCA blocks.
        pieces = [model(ids[:, :37], cache=cache), model(ids[:, 37:101], cache=cache)]
        for t in range(101, 230):
            positions = torch.full((2, 1), t)
            pieces.append(model(ids[:, t : t + 1], positions=positions, cache=cache))
        pieces.append(model(ids[:, 230:], cache=cache))
    assert cache.length == SEQ_LEN
    assert (torch.cat(pieces, dim=1) - full).abs().max().item() <= TOLERANCE


def test_query_blocking_does_not_change_logits(
    checkpoints: dict[str, tuple], monkeypatch: pytest.MonkeyPatch
) -> None:
    directory, ids, _ = checkpoints["yarn_hash_topk"]
    model = load_model(directory)
    with torch.no_grad():
        whole = model(ids)
        monkeypatch.setattr(v4_attention, "_BLOCK_BUDGET", 4096)  # a few queries per block
        monkeypatch.setattr(v4_compressor, "_SCORE_BUDGET", 2048)  # and fewer per score chunk
        chunks = []  # elements of each [rows, heads, cols] per-head indexer score tile
        head_scores = v4_compressor.head_scores

        def recording(q: torch.Tensor, keys_t: torch.Tensor, *rest: torch.Tensor) -> None:
            chunks.append(q.shape[1] * q.shape[2] * keys_t.shape[2])
            head_scores(q, keys_t, *rest)

        monkeypatch.setattr(v4_compressor, "head_scores", recording)
        blocked = model(ids)
    assert (blocked - whole).abs().max().item() <= TOLERANCE
    # The indexer's quadratic scores are computed a few queries at a time, never all at once.
    assert len(chunks) > 100 and max(chunks) <= 2048


@pytest.mark.parametrize("name", ["yarn_hash_topk", "wide_heads"])
def test_long_prefill_in_steps_gives_the_same_logits(
    name: str, checkpoints: dict[str, tuple], monkeypatch: pytest.MonkeyPatch
) -> None:
    directory, ids, _ = checkpoints[name]
    model = load_model(directory)
    with torch.no_grad():
        whole = model(ids)
        # 320 tokens in steps of 96 through a transient cache; the last step is partial.
        monkeypatch.setattr(deepseek_v4, "PREFILL_STEP", 96)
        stepped = model(ids)
        last = model(ids, num_logits=100)  # spans the last two steps
    assert (stepped - whole).abs().max().item() <= TOLERANCE
    # The same streams; only the head runs on fewer rows, which the BLAS may block
    # differently: equal up to rounding, not bit for bit.
    tolerance = rounding_tolerance(stepped, model.config.hidden_size)
    assert (last - stepped[:, -100:]).abs().max().item() <= tolerance


def test_num_logits_and_positions(checkpoints: dict[str, tuple]) -> None:
    directory, ids, _ = checkpoints["plain_rope_sigmoid"]
    model = load_model(directory)
    with torch.no_grad():
        full = model(ids[:, :64])
        last = model(ids[:, :64], positions=torch.arange(64).expand(2, 64), num_logits=5)
        # The head on 10 rows instead of 128: equal up to rounding (see causality.py).
        tolerance = rounding_tolerance(full, model.config.hidden_size)
        assert (last - full[:, -5:]).abs().max().item() <= tolerance
        with pytest.raises(ValueError, match="positions"):
            model(ids[:, :8], positions=torch.arange(1, 9).expand(2, 8))
        cache = model.new_cache(batch_size=2, max_len=8)
        with pytest.raises(ValueError, match="exceed"):
            model(ids[:, :9], cache=cache)


def test_bfloat16_runs_close_to_fp32(checkpoints: dict[str, tuple]) -> None:
    directory, ids, expected = checkpoints["yarn_hash_topk"]
    model = load_model(directory, dtype=torch.bfloat16)
    assert model.embed.weight.dtype == torch.bfloat16
    assert model.layers[0].hc_attn_fn.dtype == torch.float32  # mHC stays fp32
    with torch.no_grad():
        logits = model(ids[:, :96]).float()
    reference = expected[:, :96]
    assert torch.isfinite(logits).all()
    cosine = torch.nn.functional.cosine_similarity(logits.flatten(), reference.flatten(), dim=0)
    assert cosine > 0.99
    assert (logits.argmax(-1) == reference.argmax(-1)).float().mean() > 0.9


def test_indexer_ties_go_to_lower_indices() -> None:
    from model_runtime.models.v4_compressor import _topk_lowest_index_ties

    scores = torch.tensor([[1.0, 0.0, 0.0, 0.0, 2.0, 0.0], [3.0, 2.0, 1.0, 0.0, -1.0, -2.0]])
    picked = _topk_lowest_index_ties(scores, 3)
    assert [sorted(row) for row in picked.tolist()] == [[0, 1, 4], [0, 1, 2]]
    # The same rows, longer (as in a prefill that sees more entries): same choice.
    longer = torch.cat([scores, torch.full((2, 5), float("-inf"))], dim=1)
    assert [sorted(row) for row in _topk_lowest_index_ties(longer, 3).tolist()] == [
        [0, 1, 4], [0, 1, 2],
    ]


def _stable_top_k(scores: torch.Tensor, k: int) -> torch.Tensor:
    """The specified choice, sorted: largest first, equal scores in index order, first k."""
    top = scores.sort(dim=-1, descending=True, stable=True).indices[..., :k]
    return top.sort(dim=-1).values


@pytest.fixture(params=["numpy", "torch"])
def selection_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CPU selection (numpy partitions) and, on CPU too, the torch one other devices use."""
    if request.param == "torch":
        monkeypatch.setattr(v4_compressor, "_on_numpy", lambda x: False)


# (entries, k): short rows selected whole-row by threshold (n < 4k); long rows cut to
# candidates first (n >= 4k), with and without entries left over from the strided groups
# (16384 = 5 * 3276 + 4 at k 512); k equal to or above the row length.
@pytest.mark.parametrize(("n", "k"), [(40, 16), (63, 16), (64, 16), (640, 16), (997, 16),
                                      (16384, 512), (16, 16), (10, 16)])
def test_indexer_top_k_matches_a_stable_sort(n: int, k: int, selection_backend: None) -> None:
    from model_runtime.models.v4_compressor import _topk_lowest_index_ties

    generator = torch.Generator().manual_seed(n + k)
    scores = torch.randn(7, 3, n, generator=generator)
    scores[0] = scores[0].relu()  # half of all scores tie at zero
    scores[1] = scores[1].round()  # ties at every value
    scores[2, :, n - n // 3 :] = float("-inf")  # entries a query cannot see yet
    scores[2, 0, k // 2 :] = float("-inf")  # fewer visible entries than k
    scores[3] = 0.0  # every head's ReLU zero: the whole row ties
    scores[4] = scores[4, :, torch.arange(n) // 2 * 2]  # each value twice: ties at any floor
    scores[5, :, : n // 2] = scores[5, :, n // 2 : 2 * (n // 2)]  # the same, far apart
    picked = _topk_lowest_index_ties(scores, k)
    assert picked.shape == (7, 3, min(k, n))
    assert torch.equal(picked.sort(dim=-1).values, _stable_top_k(scores, k))


def test_indexer_top_k_of_random_rows_matches_a_stable_sort(selection_backend: None) -> None:
    from model_runtime.models.v4_compressor import _topk_lowest_index_ties

    generator = torch.Generator().manual_seed(3)
    for trial in range(60):
        k = int(torch.randint(1, 24, (1,), generator=generator))
        n = int(torch.randint(k, 40 * k, (1,), generator=generator))
        scores = torch.randn(4, n, generator=generator)
        if trial % 3 == 1:
            scores = (2 * scores).round().clamp(min=0)  # a few values, many ties
        elif trial % 3 == 2:  # each row sees a different number of entries
            visible = torch.randint(0, n + 1, (4, 1), generator=generator)
            scores = scores.masked_fill(torch.arange(n) >= visible, float("-inf"))
        picked = _topk_lowest_index_ties(scores, k)
        assert torch.equal(picked.sort(dim=-1).values, _stable_top_k(scores, k))
