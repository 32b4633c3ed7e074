"""Warm-up: what torch imports lazily on a first fit, done once when the adapter is imported.

A first `fit` in a process makes torch import some 800 more modules (torch._dynamo, sympy,
torch._inductor, ...) from inside AdamW and `Module.to_empty`: seconds on a busy machine, on
the training thread, holding the GIL in long stretches, so the acquisition threads stall for
up to a second (measured by `hexloop bench`, row acquisition.gap_training). Importing
`hexloop.adapters.torch` happens where the experiment is put together, before streams run, so
the cost is paid there instead.
"""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)


def warm_up() -> None:
    """One tiny optimizer step on a tiny network; never raises (a failure only costs speed)."""
    try:
        linear = torch.nn.Linear(2, 2)
        network = torch.nn.Sequential(linear).to_empty(device="cpu")  # in place: linear's too
        torch.nn.init.zeros_(linear.weight)
        torch.nn.init.zeros_(linear.bias)
        optimizer = torch.optim.AdamW(network.parameters(), lr=1e-3)
        network(torch.zeros(1, 2)).sum().backward()
        optimizer.step()
    except Exception as e:  # noqa: BLE001 - a warm-up must never break the import
        log.debug("torch warm-up failed (the first fit will be slower): %s", e)
