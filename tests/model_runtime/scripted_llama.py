"""A real `LlamaForCausalLM` whose weights make it say a script: for tests that need a
model with known output (tool calls, reasoning) running through the real engine.

Each piece of the script is one token of the tokenizer (an added token over a byte-level
BPE), and the model's next token depends only on its current one: the embedding is one
hot, attention and MLP write nothing back (zero output projections), and the LM head maps
each token to its successor. So any prompt that ends with the token `after` is continued
greedily by the script's pieces, then EOS; a prompt ending with any other token gets EOS
at once. The pieces must be distinct (one successor per token).
"""

from __future__ import annotations

import tokenizers
import torch
from tokenizers import AddedToken, decoders, models, pre_tokenizers

from model_runtime.config import LlamaConfig
from model_runtime.models.llama import LlamaForCausalLM
from model_runtime.tokenizer import Tokenizer

EOS = "<|eos|>"
MARGIN = 8.0  # logit of the successor token; every other token's is 0


def scripted_llama(script: list[str], after: str,
                   context: int = 4096) -> tuple[LlamaForCausalLM, Tokenizer]:
    """The model and tokenizer saying `script` after any prompt ending with `after`."""
    if len(set(script)) != len(script) or after in script:
        raise ValueError("the script's pieces and `after` must all be distinct")
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    backend = tokenizers.Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)},
                                              merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_tokens([AddedToken(p, normalized=False) for p in [after, *script]])
    backend.add_special_tokens([AddedToken(EOS, special=True)])
    tokenizer = Tokenizer(backend, bos_token=None, eos_token=EOS)
    ids = [tokenizer.token_to_id(p) for p in [after, *script]]
    vocab = backend.get_vocab_size()
    config = LlamaConfig(vocab_size=vocab, hidden_size=vocab, num_layers=1, num_heads=1,
                         num_kv_heads=1, head_dim=16, intermediate_size=16,
                         max_position_embeddings=context)
    model = LlamaForCausalLM(config).eval()
    successor = torch.full((vocab,), tokenizer.eos_id, dtype=torch.long)
    for current, following in zip(ids, ids[1:] + [tokenizer.eos_id], strict=True):
        successor[current] = following
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        model.model.embed_tokens.weight.copy_(torch.eye(vocab))
        model.model.norm.weight.fill_(1.0)
        model.model.layers[0].input_layernorm.weight.fill_(1.0)
        model.model.layers[0].post_attention_layernorm.weight.fill_(1.0)
        head = torch.zeros(vocab, vocab)
        head[successor, torch.arange(vocab)] = MARGIN / vocab ** 0.5
        model.lm_head.weight.copy_(head)
    return model, tokenizer
