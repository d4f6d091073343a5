"""Telling a causal leak from float rounding, for tests that change one token.

A causality test changes token ``s`` and checks that the rows which cannot see it keep their
logits. They keep them up to rounding, not bit for bit. The MoE (``v4_moe.MoE``) runs each
expert as one matmul over the rows routed to it. When the changed token (and every later
one, whose hidden state changed with it) is routed differently, those matmuls get other row
counts and the earlier rows other places in them, and the BLAS picks its kernel and
blocking by the shape: MKL's sgemm computes a row of a 1-3-row product differently from the
same row of a taller one, and on its ``MKL_CBWR=COMPATIBLE`` code path also the trailing
``M mod 4`` rows of every product and all rows of products under 8 rows; other CPUs block
in other ways. Rows that never saw the changed token then differ by a few units in the last
place of the logit scale. Changing each of tokens 5..61 in the MTP tests' models moved such
rows by up to 7.5e-6 at logit scale 18, under ``4 * eps * max|logit|`` (one thread, as the
tests run; 1.9e-5 with two threads on MKL's COMPATIBLE path); with every expert run on
every row instead (fixed shapes) they came out bit-identical, every time, either way.

A leak is another size altogether. The first row allowed to see the changed token moves by
about the logit scale itself, and a one-token leak, even one through a compressed entry
that pools the leaked token with up to 31 others, moved its row by at least half a percent
of it. The bound in between:

    tolerance = eps(dtype) * max|logit| * terms

with ``terms`` the number of products each logit sums (the head's input width,
``hidden_size``): about the worst-case error of one reordered ``n``-term dot product,
``n * eps`` times the magnitude of its terms (Higham's ``gamma_n``), taken at the logits'
scale. At ``hidden_size`` 64 in fp32 it is ``2**-17`` of the logit scale: 18 times the
largest rounding measured with one thread (7 times the two-thread one), and under a
seven-hundredth of the smallest injected leak.
``test_mtp_reference.py`` keeps both sides honest: no row past the bound on the models
(also with row-count-dependent blocking emulated in the experts), and every injected
one-token leak, of each kind of attention and of the MTP pairing, more than
``LEAK_MARGIN`` times past it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

# How far a one-token leak must rise above the rounding tolerance for the tests to call
# the separation safe, and how far the first row that legitimately sees the changed token
# must: a dependence of that size is what a leak would look like.
LEAK_MARGIN = 100.0


def rounding_tolerance(reference: Tensor, terms: int) -> float:
    """The largest logit difference rounding explains: ``eps * max|reference| * terms``.

    ``reference``: logits in their compute dtype (its epsilon is used); ``terms``: how many
    products each logit sums (``hidden_size`` for a model's head).
    """
    eps = torch.finfo(reference.dtype).eps
    return eps * reference.detach().abs().max().item() * terms


def row_changes(before: Tensor, after: Tensor) -> Tensor:
    """Per row (token position) the largest ``|after - before|`` over batch and vocabulary:
    ``[B, T, V]`` twice -> ``[T]`` fp32."""
    return (after.float() - before.float()).abs().amax(dim=(0, 2))


@dataclass(frozen=True)
class RowCheck:
    """The logits of one output before and after a token change.

    Attributes:
        name: which output and which change, for messages.
        changes: per row, the largest logit change (:func:`row_changes`).
        first: the first row allowed to see the changed token; rows before it must not.
        tolerance: the rounding bound (:func:`rounding_tolerance`).
    """

    name: str
    changes: Tensor
    first: int
    tolerance: float

    @property
    def leaked_rows(self) -> list[int]:
        """Rows before ``first`` that changed by more than rounding explains."""
        early = self.changes[: self.first]
        return (early > self.tolerance).nonzero().flatten().tolist()

    @property
    def worst_early(self) -> float:
        """The largest change of a row before ``first`` (0 if there is none)."""
        return self.changes[: self.first].max().item() if self.first > 0 else 0.0

    @property
    def first_change(self) -> float:
        """The change of row ``first``, the first that sees the changed token."""
        return self.changes[self.first].item()

    def describe(self) -> str:
        """One line: the leaked rows with their changes, or the rounding seen."""
        rows = self.leaked_rows
        if rows:
            shown = ", ".join(f"row {r}: {self.changes[r].item():.3g}" for r in rows[:6])
            more = f" and {len(rows) - 6} more" if len(rows) > 6 else ""
            return (f"{self.name}: LEAK, {len(rows)} rows before row {self.first} changed "
                    f"beyond rounding ({self.tolerance:.3g}): {shown}{more}")
        return (f"{self.name}: rows before {self.first} changed by at most "
                f"{self.worst_early:.3g} (rounding allows {self.tolerance:.3g}); "
                f"row {self.first} by {self.first_change:.3g}")


def check_rows(name: str, before: Tensor, after: Tensor, first: int, terms: int) -> RowCheck:
    """Compare logits ``[B, T, V]`` before and after a change that row ``first`` is the
    first to see; the tolerance comes from ``before`` (see :func:`rounding_tolerance`)."""
    if not 0 < first < before.shape[1]:
        raise ValueError(f"{name}: row {first} leaves no rows before or at it to compare")
    return RowCheck(name, row_changes(before, after), first, rounding_tolerance(before, terms))


def leaks(checks: Sequence[RowCheck]) -> list[RowCheck]:
    """The checks where a row that cannot see the changed token changed beyond rounding."""
    return [check for check in checks if check.leaked_rows]


def assert_causal(checks: Sequence[RowCheck]) -> None:
    """No leak in any check, and each check able to see one.

    Fails if a row before ``first`` changed beyond rounding (a leak), or if row ``first``
    changed by less than ``LEAK_MARGIN`` tolerances: then a leak of that size could hide
    under the tolerance, and the check would prove nothing.
    """
    report = "\n".join(check.describe() for check in checks)
    assert not leaks(checks), f"causal leak:\n{report}"
    weak = [c.name for c in checks if c.first_change <= LEAK_MARGIN * c.tolerance]
    assert not weak, f"too small a change to tell a leak from rounding in {weak}:\n{report}"


def v4_row_checks(model: torch.nn.Module, ids: Tensor, positions: Sequence[int]) -> list[RowCheck]:
    """Change token ``s`` (each of ``positions`` in turn, in every sequence) and check the
    main logits (row ``t`` sees tokens ``0..t``: first ``s``) and each MTP block ``k``'s
    (row ``t`` sees ``0..t+k+1``: first ``s-k-1``) of a DeepSeek V4 model."""
    terms = model.config.hidden_size
    with torch.no_grad():
        main, mtp = model(ids), model.mtp_logits(ids)
        checks = []
        for s in positions:
            changed = ids.clone()
            changed[:, s] = (changed[:, s] + 1) % model.config.vocab_size
            main_after, mtp_after = model(changed), model.mtp_logits(changed)
            checks.append(check_rows(f"main logits, token {s} changed", main, main_after,
                                     s, terms))
            for k, (a, b) in enumerate(zip(mtp, mtp_after, strict=True)):
                checks.append(check_rows(f"MTP block {k}, token {s} changed", a, b,
                                         s - k - 1, terms))
    return checks
