"""LangGraph graphs of Fathom's agents: `ask` (Fast Path), `fix`/`repair` and `review`
(Slow Path), run durably by `agents.graphs.runner`."""
