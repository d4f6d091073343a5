"""The GGUF header's scalars, read without parsing its arrays (or importing gguf)."""

from __future__ import annotations

from pathlib import Path

import gguf
import pytest

from model_runtime.gguf_header import GGUFHeaderError, gguf_scalars
from model_runtime.tokenizer import gguf_path_of_smollm2


def test_the_scalars_are_the_ones_the_gguf_package_reads() -> None:
    path = gguf_path_of_smollm2()
    scalars = gguf_scalars(path)
    reader = gguf.GGUFReader(path)
    fields = {k: f for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    expected = {k: f.contents() for k, f in fields.items()
                if f.types[0] != gguf.GGUFValueType.ARRAY}
    assert scalars.keys() == expected.keys()
    for key, value in expected.items():
        assert scalars[key] == pytest.approx(value), key
    assert scalars["llama.context_length"] == 8192  # SmolLM2-135M's window


def test_a_file_that_is_not_gguf_or_is_cut_short_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "model.gguf"
    text.write_text("not a model\n")
    with pytest.raises(GGUFHeaderError, match="no GGUF magic"):
        gguf_scalars(text)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(gguf_path_of_smollm2().read_bytes()[:4096])
    with pytest.raises(GGUFHeaderError, match="cut.gguf"):
        gguf_scalars(cut)
    with pytest.raises(GGUFHeaderError, match="missing.gguf"):
        gguf_scalars(tmp_path / "missing.gguf")
