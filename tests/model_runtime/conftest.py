"""Settings and fixtures shared by the model-runtime tests."""

import pytest
import torch

from model_runtime.models.llama import LlamaForCausalLM
from model_runtime.tokenizer import Tokenizer
from tests.model_runtime.tiny_models import tiny_llama, tiny_tokenizer

# The tests run many small tensor ops. On a shared 2-core machine, or under `pytest -n 2`,
# torch's intra-op worker threads are often descheduled and every op waits for them at its
# barrier: with one thread this directory ran in 50 s instead of 101 s at load average 4.
# Results change only by float rounding, far inside every tolerance here.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def byte_level() -> Tokenizer:
    """`tiny_models.tiny_tokenizer`: ids 0..255 are bytes, 256 is EOS."""
    return tiny_tokenizer()


@pytest.fixture(scope="session")
def llama() -> LlamaForCausalLM:
    """`tiny_models.tiny_llama(tied=False)`: a random llama whose greedy output varies for
    a dozen tokens or more (tests must not change its weights)."""
    return tiny_llama(tied=False)
