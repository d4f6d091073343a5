"""The embedded backend against repetition: repeat controls on by default for small models,
settings that override them, a looping reply reported as such, and the bundled SmolLM2."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

from agents.backends.embedded import (
    LOOP_WARNING,
    SMALL_MODEL_PARAMETERS,
    SMALL_MODEL_REPETITION_PENALTY,
    EmbeddedBackend,
    LoadedModel,
)
from agents.llm import ChatMessage, ChatResult, ContentDelta, chat_model_from_config
from agents.settings import ModelSettings
from model_runtime.chat import ChatMLFormat, Message
from model_runtime.config import LlamaConfig
from model_runtime.generate import generate
from model_runtime.loops import LOOP_NGRAM
from model_runtime.models.llama import LlamaForCausalLM
from tests.conftest import FIXTURES
from tests.model_runtime.looping import Cycle, byte_tokenizer


class _Looping(EmbeddedBackend):
    """The embedded backend over a model that repeats "abcdefghijkl" forever."""

    def _load(self) -> LoadedModel:
        tokenizer = byte_tokenizer()
        return LoadedModel(Cycle(tokenizer, "abcdefghijkl"), tokenizer, ChatMLFormat(), 4096)


class _Large(EmbeddedBackend):
    """The embedded backend over a llama of 1.6B parameters that exist only as shapes."""

    def _load(self) -> LoadedModel:
        config = LlamaConfig(vocab_size=129_280, hidden_size=2048, intermediate_size=8192,
                             num_layers=24, num_heads=16, num_kv_heads=16, head_dim=128)
        with torch.device("meta"):
            model = LlamaForCausalLM(config)
        return LoadedModel(model, byte_tokenizer(), ChatMLFormat(), 4096)


def test_repeat_controls_are_on_by_default_for_small_models_only() -> None:
    small, large = _Looping(), _Large()
    assert small.loaded().parameters < SMALL_MODEL_PARAMETERS < large.loaded().parameters
    on = small.sampling()
    assert (on.repetition_penalty, on.no_repeat_ngram_size) == (
        SMALL_MODEL_REPETITION_PENALTY, 0)
    assert on.repetition_penalty > 1 and on.greedy
    off = large.sampling()
    assert (off.repetition_penalty, off.no_repeat_ngram_size) == (1.0, 0)
    # Given values win either way.
    forced = _Large(repetition_penalty=1.1, no_repeat_ngram_size=9).sampling()
    assert (forced.repetition_penalty, forced.no_repeat_ngram_size) == (1.1, 9)
    plain = _Looping(repetition_penalty=1.0, no_repeat_ngram_size=0).sampling()
    assert (plain.repetition_penalty, plain.no_repeat_ngram_size) == (1.0, 0)
    with pytest.raises(ValueError, match="repetition_penalty"):
        EmbeddedBackend(repetition_penalty=0.8)
    with pytest.raises(ValueError, match="no_repeat_ngram_size"):
        EmbeddedBackend(no_repeat_ngram_size=-2)


def test_settings_pass_the_repeat_controls(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    absent = tmp_path / "absent.toml"
    default = chat_model_from_config(ModelSettings(config_file=absent))
    assert isinstance(default, EmbeddedBackend)
    assert (default.repetition_penalty, default.no_repeat_ngram_size) == (None, None)
    monkeypatch.setenv("FATHOM_REPETITION_PENALTY", "1.15")
    monkeypatch.setenv("FATHOM_NO_REPEAT_NGRAM_SIZE", "7")
    model = chat_model_from_config(ModelSettings(config_file=absent))
    assert isinstance(model, EmbeddedBackend)
    assert (model.repetition_penalty, model.no_repeat_ngram_size) == (1.15, 7)
    config = tmp_path / "fathom.toml"
    config.write_text("[model]\nrepetition_penalty = 1.0\nno_repeat_ngram_size = 0\n")
    monkeypatch.delenv("FATHOM_REPETITION_PENALTY")
    monkeypatch.delenv("FATHOM_NO_REPEAT_NGRAM_SIZE")
    settings = ModelSettings(config_file=config)
    assert (settings.repetition_penalty, settings.no_repeat_ngram_size) == (1.0, 0)
    for name, bad in [("REPETITION_PENALTY", "0.9"), ("REPETITION_PENALTY", "nan"),
                      ("REPETITION_PENALTY", "inf"), ("NO_REPEAT_NGRAM_SIZE", "-1")]:
        monkeypatch.setenv(f"FATHOM_{name}", bad)
        with pytest.raises(ValidationError, match=name.lower()):
            ModelSettings(config_file=absent)
        monkeypatch.delenv(f"FATHOM_{name}")


def test_a_looping_reply_ends_with_repetition_and_a_warning() -> None:
    # No repeat controls: the loop stop is on whatever the sampling settings.
    model = _Looping(repetition_penalty=1.0, no_repeat_ngram_size=0, max_new_tokens=500)
    events = list(model.chat([ChatMessage.user("Go")], stream=True))
    result = events[-1]
    assert isinstance(result, ChatResult)
    assert result.finish_reason == "repetition" and result.warnings == (LOOP_WARNING,)
    assert result.content == "abcdefghijkl" * 2  # cut where the third round began
    assert "".join(e.text for e in events if isinstance(e, ContentDelta)) == result.content
    assert result.usage.completion_tokens == 2 * 12 + LOOP_NGRAM
    # A reply that ends by itself carries no such warning.
    short = _Looping(max_new_tokens=5).chat([ChatMessage.user("Go")])
    assert short.finish_reason == "length" and short.warnings == ()


# -- the bundled SmolLM2 -------------------------------------------------------------------

TOKENS = 140


def _shop_question() -> str:
    """A question about the shop fixture's tests, with the file it is about. Greedy,
    SmolLM2-135M answers it by repeating one sentence (periodic 124 tokens in)."""
    path = "tests/test_pricing.py"
    code = (FIXTURES / "shop" / path).read_text(encoding="utf-8")
    return f"{path}:\n```python\n{code}```\n\nWhich tests cover pricing?"


@pytest.mark.slow
def test_bundled_smollm2_loops_without_the_default_penalty_and_not_with_it() -> None:
    model = EmbeddedBackend(max_new_tokens=TOKENS)
    loaded = model.loaded()
    assert 100_000_000 < loaded.parameters < SMALL_MODEL_PARAMETERS  # 135M, tied once
    question = _shop_question()
    prompt = loaded.tokenizer.encode(loaded.chat_format.encode([Message("user", question)]))
    plain = list(generate(loaded.model, loaded.tokenizer, prompt, TOKENS))
    assert plain[-1].finish_reason == "repetition"  # an 8-gram came a third time, periodically
    result = model.chat([ChatMessage.user(question)])  # the defaults: penalty 1.1
    assert result.finish_reason in ("eos", "length") and result.warnings == ()
    assert result.content.strip() and result.usage.prompt_tokens == len(prompt)
