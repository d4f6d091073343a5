"""Fathom's inference engine for DeepSeek V4 and small llama-family models."""

from model_runtime.engine import Engine
from model_runtime.loader import load_model

__all__ = ["Engine", "load_model"]
