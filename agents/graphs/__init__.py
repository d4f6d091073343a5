"""LangGraph graphs of Fathom's agents, one package each with its helpers: `ask` (Fast
Path), `fix` (fix and repair, Slow Path), `review`, `describe`. Shared by all: `base`
(the run context, budgets), `runner` (durable runs, resume, approvals) and `checks`
(syntax and lint). Callers above `agents/` use `agents.api`, not these."""
