"""Backends of the `agents.llm.ChatModel` seam: embedded, OpenAI-compatible, scripted."""
