"""Settings shared by the model-runtime tests."""

import torch

# The tests run many small tensor ops. On a shared 2-core machine, or under `pytest -n 2`,
# torch's intra-op worker threads are often descheduled and every op waits for them at its
# barrier: with one thread this directory ran in 50 s instead of 101 s at load average 4.
# Results change only by float rounding, far inside every tolerance here.
torch.set_num_threads(1)
