"""Fathom's inference engine for DeepSeek V4 and small llama-family models."""
