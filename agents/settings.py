"""Which model Fathom talks to: the `[model]` section of `fathom.toml` and `FATHOM_*` variables.

Precedence, highest first: values passed in code, `FATHOM_<FIELD>` environment variables,
the `[model]` table of the config file (`config_file`, default `./fathom.toml`), then the
defaults below — which select the bundled SmolLM2, so nothing needs configuring. Example
(DeepSeek's API; its model ids are `deepseek-flash`, V4.1-Flash, and `deepseek-v4-pro`;
the prices are its peak rates in USD per million tokens — check its pricing page):

    [model]
    backend = "openai"
    base_url = "https://api.deepseek.com"
    model = "deepseek-flash"
    context_tokens = 1048576
    price_prompt_per_mtok = 0.30          # cache miss
    price_cached_prompt_per_mtok = 0.006  # cache hit
    price_completion_per_mtok = 1.20
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_CONFIG_FILE = Path("fathom.toml")
ThinkingField = Literal["deepseek", "chat_template_kwargs", "none"]


class ModelSettings(BaseSettings):
    """How to reach the chat model; every field is also `FATHOM_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="FATHOM_", extra="forbid",
                                      validate_default=True)

    config_file: Path | None = Field(
        None, description="TOML file whose [model] table is read (default ./fathom.toml).")
    backend: Literal["embedded", "openai", "scripted", "none"] = Field(
        "embedded", description="embedded: in-process runtime; openai: an OpenAI-compatible "
        "HTTP endpoint; scripted: replay a JSON transcript; none: no model (answers are "
        "the ranked code spans).")
    model: str | None = Field(
        None, description="openai: the model name. embedded: a .gguf file or a DeepSeek V4 "
        "checkpoint directory (default: the bundled SmolLM2-135M-Instruct).")
    base_url: str | None = Field(
        None, description="openai: the endpoint, e.g. https://api.deepseek.com or "
        "http://127.0.0.1:8000/v1.")
    api_key: SecretStr | None = Field(None, description="openai: the key sent as a bearer token.")
    script: Path | None = Field(None, description="scripted: the JSON transcript to replay.")
    max_tokens: int = Field(1024, ge=1, description="Most tokens generated per reply.")
    context_tokens: int | None = Field(
        None, ge=1024, description="Tokens of context to use. openai: what the remote "
        "model holds (e.g. 1048576 for DeepSeek V4; default 131072). embedded: a cap below "
        "the model's own (default 4096 for the bundled SmolLM2, the model's own otherwise).")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 is greedy.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    repetition_penalty: float | None = Field(
        None, ge=1.0, allow_inf_nan=False, description="embedded: divide the positive "
        "logits, and multiply the negative ones, of tokens the reply already holds (the "
        "prompt does not count); 1 is off. Default: 1.1 for models of at most 1B "
        "parameters (the bundled SmolLM2), whose greedy replies otherwise loop; off for "
        "larger ones.")
    no_repeat_ngram_size: int | None = Field(
        None, ge=0, description="embedded: never let the reply repeat one of its own "
        "n-grams of this many tokens (the prompt does not count, so code can be quoted); "
        "0 is off. Default: off — a path or identifier is often 6-10 tokens, and an "
        "answer may need to write one twice.")
    seed: int | None = Field(None, description="embedded: seed for reproducible sampling.")
    device: str = Field("cpu", description="embedded: torch device for the model.")
    timeout: float = Field(120.0, gt=0, description="openai: seconds per HTTP request.")
    thinking_field: ThinkingField = Field(
        "deepseek", description="openai: how thinking mode is requested — DeepSeek's "
        "`thinking` field, vLLM/SGLang `chat_template_kwargs`, or not at all.")
    price_prompt_per_mtok: float = Field(
        0.0, ge=0.0, description="USD per 1M prompt tokens the server computed (DeepSeek: "
        "the cache-miss price).")
    price_cached_prompt_per_mtok: float | None = Field(
        None, ge=0.0, description="USD per 1M prompt tokens the server read from its "
        "context cache (DeepSeek: the cache-hit price; others report them as "
        "prompt_tokens_details.cached_tokens). Unset: priced as price_prompt_per_mtok, so "
        "the cost shown is never below the bill.")
    price_completion_per_mtok: float = Field(
        0.0, ge=0.0, description="USD per 1M completion tokens.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Code, then environment, then the config file's [model] table."""
        return init_settings, env_settings, ModelTableSource(settings_cls)


class ModelTableSource(PydanticBaseSettingsSource):
    """The `[model]` table of the config file named by the sources before it (or the default).

    A missing file or table gives nothing; a file that is not valid TOML, or a `model`
    entry that is not a table, is an error naming the file.
    """

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: `__call__` reads the whole table at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """The table's values, keyed by field name."""
        path = Path(self.current_state.get("config_file") or DEFAULT_CONFIG_FILE)
        if not path.is_file():
            return {}
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: not valid TOML: {err}") from err
        table = data.get("model", {})
        if not isinstance(table, dict):
            raise ValueError(f"{path}: 'model' must be a table ([model])")
        return table
