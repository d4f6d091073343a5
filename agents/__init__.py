"""Fathom's agents: LangGraph graphs that join the repository engine and the model."""
