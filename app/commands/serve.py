"""``fathom serve``: Fathom's inference runtime as an OpenAI-compatible HTTP server.

It serves `model_runtime` directly (beside the agents, not above them), so aider,
Continue, the `openai` client — and Fathom's own `openai` backend — can use it.
"""

import os
from pathlib import Path
from typing import Annotated

import typer

from app.output import err_console, escape, fail

API_KEY_ENV = "FATHOM_SERVE_API_KEY"


def serve_command(
    model: Annotated[Path | None, typer.Option(
        "--model", help="A .gguf file or a DeepSeek V4 checkpoint directory (default: the "
        "bundled SmolLM2-135M-Instruct).")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    api_key: Annotated[str | None, typer.Option(
        "--api-key", help=f"Require this bearer token (or set {API_KEY_ENV}).")] = None,
    max_concurrency: Annotated[int, typer.Option(
        "--max-concurrency", help="Requests generated together.")] = 16,
    max_queue: Annotated[int, typer.Option(
        "--max-queue", help="Requests waiting beyond those; more get HTTP 429.")] = 64,
    max_prompt_tokens: Annotated[int | None, typer.Option(
        "--max-prompt-tokens", help="Largest prompt accepted (default: the model's "
        "context); larger ones get HTTP 413.")] = None,
    device: Annotated[str, typer.Option("--device", help="torch device.")] = "cpu",
) -> None:
    """Serve a model over OpenAI's API: /v1/chat/completions, /v1/completions, /v1/models."""
    import uvicorn
    from model_runtime.engine import Engine, EngineConfig

    from model_runtime.served_model import ModelLoadError, load_chat_model
    from model_runtime.server import ServerConfig, create_app

    if not 1 <= port <= 65535:
        fail(f"--port must be between 1 and 65535, not {port}")
    if max_concurrency < 1 or max_queue < 0:
        fail("--max-concurrency must be at least 1 and --max-queue at least 0")
    try:
        bundle = load_chat_model(model, device=device)
    except ModelLoadError as err:
        fail(str(err))
    engine = Engine(bundle.model, bundle.tokenizer,
                    EngineConfig(max_running=max_concurrency, max_waiting=max_queue))
    key = api_key or os.environ.get(API_KEY_ENV) or None
    app = create_app(bundle, engine, ServerConfig(api_key=key,
                                                  max_prompt_tokens=max_prompt_tokens))
    err_console.print(f"serving [bold]{escape(bundle.name)}[/] at http://{host}:{port}/v1 "
                      f"({engine.context_window:,} tokens of context"
                      f"{', API key required' if key else ''})", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command("serve")(serve_command)
