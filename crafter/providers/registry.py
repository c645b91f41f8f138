"""Model ids (``provider:model``), which one to use, and building the provider for it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from crafter.config import Config, load_config
from crafter.errors import UsageError
from crafter.providers.base import Provider
from crafter.providers.retry import RetryPolicy

DEFAULT_ANTHROPIC = "anthropic:claude-sonnet-5-5"
DEFAULT_OPENAI = "openai:gpt-5.4-mini"
PROVIDERS = ("anthropic", "openai", "openai-compatible", "local", "scaffold")


@dataclass(frozen=True)
class Choice:
    model_id: str
    reason: str


@dataclass(frozen=True)
class ProviderStatus:
    name: str
    example: str
    available: bool
    why: str


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def resolve_model(explicit: str | None = None, config: Config | None = None) -> Choice:
    """Pick the model: --model, CRAFTER_MODEL, config, then a key in the environment, then scaffold."""
    if explicit:
        return Choice(explicit.strip(), "--model was given")
    if _env("CRAFTER_MODEL"):
        return Choice(_env("CRAFTER_MODEL") or "", "CRAFTER_MODEL is set")
    config = config or load_config()
    if config.model:
        return Choice(config.model, f"set in {config.path}")
    if _env("ANTHROPIC_API_KEY"):
        return Choice(DEFAULT_ANTHROPIC, "ANTHROPIC_API_KEY is set")
    if _env("OPENAI_API_KEY"):
        return Choice(DEFAULT_OPENAI, "OPENAI_API_KEY is set")
    return Choice("scaffold", "no model configured and no API key found; writing a worksheet")


def parse_model_id(model_id: str) -> tuple[str, str]:
    provider, _, model = model_id.strip().partition(":")
    if provider not in PROVIDERS:
        raise UsageError(
            f"unknown model {model_id!r}",
            hint="use provider:model with provider one of "
            + ", ".join(PROVIDERS)
            + " (e.g. anthropic:claude-sonnet-5-5, local:smollm2, scaffold); `crafter models` lists them",
        )
    if provider == "scaffold":
        if model:
            raise UsageError(f"unknown model {model_id!r}", hint="the scaffold is just `scaffold`")
        return provider, ""
    if provider == "local" and not model:
        model = "smollm2"
    if not model:
        raise UsageError(
            f"{model_id!r} names no model", hint=f"write it as {provider}:<model name>"
        )
    return provider, model


TIMEOUT_ENV = "CRAFTER_TIMEOUT"


def call_timeout(config: Config | None = None) -> float | None:
    """Seconds a model server may stay silent before a call is given up: $CRAFTER_TIMEOUT (or
    ``crafter --timeout``), then ``timeout`` in the config file; None means the default (120 s,
    300 s for the embedded local model)."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if raw:
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if value <= 0:
            raise UsageError(
                f"{TIMEOUT_ENV}={raw!r} is not a positive number of seconds",
                hint="e.g. CRAFTER_TIMEOUT=600 for a model served on a CPU",
            )
        return value
    return (config or load_config()).timeout


def build_provider(model_id: str, config: Config | None = None) -> Provider:
    """The provider for ``model_id``; a missing key or base URL is a UsageError saying the fix."""
    provider, model = parse_model_id(model_id)
    if provider != "scaffold":
        timeout = call_timeout(config)
        policy = RetryPolicy(timeout=timeout) if timeout else None
        if provider == "local":
            policy = RetryPolicy(max_attempts=2, timeout=timeout) if timeout else None
    if provider == "scaffold":
        from crafter.providers.scaffold import ScaffoldProvider

        return ScaffoldProvider()
    if provider == "local":
        from crafter.providers.local import LocalProvider

        return LocalProvider(model, policy=policy)
    if provider == "anthropic":
        key = _env("ANTHROPIC_API_KEY")
        if not key:
            raise UsageError(
                f"{model_id} needs an Anthropic API key",
                hint="export ANTHROPIC_API_KEY=... (or pick another model: `crafter models`)",
            )
        from crafter.providers.anthropic_messages import AnthropicProvider

        return AnthropicProvider(f"anthropic:{model}", model, api_key=key, policy=policy)
    if provider == "openai":
        key = _env("OPENAI_API_KEY")
        if not key:
            raise UsageError(
                f"{model_id} needs an OpenAI API key",
                hint="export OPENAI_API_KEY=... (or pick another model: `crafter models`)",
            )
        from crafter.providers.openai_chat import OpenAIChatProvider

        return OpenAIChatProvider(f"openai:{model}", model, api_key=key, strict=True, policy=policy)
    # openai-compatible
    config = config or load_config()
    base_url = _env("CRAFTER_BASE_URL") or config.base_url
    if not base_url:
        raise UsageError(
            f"{model_id} needs the server's base URL",
            hint="export CRAFTER_BASE_URL=http://127.0.0.1:11434/v1 (Ollama; vLLM, LM Studio and "
            "llama.cpp servers work too) or set base_url in the config file",
        )
    from crafter.providers.openai_chat import OpenAIChatProvider

    return OpenAIChatProvider(
        f"openai-compatible:{model}",
        model,
        api_key=_env("CRAFTER_API_KEY"),
        base_url=base_url,
        strict=False,
        policy=policy,
        # Local servers on a CPU take minutes per draft: stream, so the timeout is an idle one.
        # CRAFTER_STREAM=0 turns it off for a server whose streaming is broken.
        stream=(_env("CRAFTER_STREAM") or "1").strip().lower() not in ("0", "false", "no", "off"),
    )


def provider_statuses(config: Config | None = None) -> list[ProviderStatus]:
    """Each provider, whether it is usable here, and why (for ``crafter models``)."""
    from crafter.providers.local import local_status

    config = config or load_config()
    ok_local, why_local = local_status("smollm2")
    base_url = _env("CRAFTER_BASE_URL") or config.base_url
    return [
        ProviderStatus(
            "anthropic",
            DEFAULT_ANTHROPIC,
            bool(_env("ANTHROPIC_API_KEY")),
            "ANTHROPIC_API_KEY is set" if _env("ANTHROPIC_API_KEY") else "set ANTHROPIC_API_KEY",
        ),
        ProviderStatus(
            "openai",
            DEFAULT_OPENAI,
            bool(_env("OPENAI_API_KEY")),
            "OPENAI_API_KEY is set" if _env("OPENAI_API_KEY") else "set OPENAI_API_KEY",
        ),
        ProviderStatus(
            "openai-compatible",
            "openai-compatible:llama3.1",
            bool(base_url),
            f"base URL {base_url}"
            if base_url
            else "set CRAFTER_BASE_URL (Ollama, vLLM, LM Studio, llama.cpp server)",
        ),
        ProviderStatus("local", "local:smollm2", ok_local, why_local),
        ProviderStatus(
            "scaffold",
            "scaffold",
            True,
            "no model: a worksheet with every interviewer-only field marked TODO",
        ),
    ]
