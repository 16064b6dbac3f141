"""Typed, frozen configuration mirroring config/config.yaml.

`load_config()` reads the YAML, applies overrides from `.env` / the environment
(LABVOICE_<SECTION>__<KEY>=value), validates everything once and returns a frozen `Config`.
A bad value raises `ConfigError` with one line naming the key, the value and what is allowed.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from labvoice.errors import LabvoiceError
from labvoice.locations import CHECKOUT_ROOT, locations

PROJECT_ROOT = CHECKOUT_ROOT        # a checkout's root; installed, nothing may need it (see locations.py)
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config" / "config.yaml"
ENV_PREFIX = "LABVOICE_"


class ConfigError(LabvoiceError, ValueError):
    """A configuration problem, phrased as one line a person can act on."""

    def __init__(self, message: str) -> None:
        super().__init__("config", message)


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PathsConfig(_Section):
    db: Path
    knowledge_base: Path
    index: Path
    logs: Path
    models: Path
    artifacts: Path


class AudioConfig(_Section):
    input_device: str | int | None = None
    output_device: str | int | None = None
    sample_rate: Literal[16000] = 16000
    frame_samples: Literal[512] = 512
    output_blocksize: int = Field(ge=32, le=8192)
    level_events_per_s: float = Field(gt=0, le=100)
    echo_canceller: Literal["webrtc", "system", "none"] = "webrtc"


class VadConfig(_Section):
    model: str
    threshold: float = Field(gt=0, lt=1)
    min_speech_ms: int = Field(ge=0, le=5000)
    end_silence_ms: int = Field(ge=32, le=5000)
    pre_roll_ms: int = Field(ge=0, le=2000)
    max_utterance_s: float = Field(gt=0.5, le=120)
    turn_model: str = "bundled"           # bundled (Smart Turn v3.2 from pipecat-ai) | none | a path
    turn_check_ms: int = Field(default=200, ge=32, le=5000)
    turn_fallback_ms: int = Field(default=1200, ge=64, le=10000)
    turn_complete_at: float = Field(default=0.85, gt=0, lt=1)
    unclear_wait_ms: int = Field(default=1000, ge=0, le=10000)
    unsure_complete_at: float = Field(default=1.0, gt=0, le=1)


class WhisperModelConfig(_Section):
    model: str
    device: Literal["cpu", "cuda", "auto"]
    compute_type: Literal["int8", "int8_float16", "int8_float32", "float16", "float32", "bfloat16", "default"]
    second_ear: str = "none"


class SttConfig(_Section):
    language: str = Field(min_length=2, max_length=5)
    beam_size: int = Field(ge=1, le=10)
    hint_db_names: bool
    cpu: WhisperModelConfig
    gpu: WhisperModelConfig


class KnowledgeConfig(_Section):
    embedding_model: str
    embedding_device: Literal["cpu", "cuda"]
    batch_size: int = Field(ge=1, le=1024)
    chunk_chars: int = Field(ge=100, le=10000)
    chunk_overlap: int = Field(ge=0, le=2000)
    top_k_passages: int = Field(ge=0, le=50)
    top_k_runs: int = Field(ge=1, le=50)
    min_passage_score: float = Field(ge=-1, le=1)


class LlamaCppConfig(_Section):
    model: str
    n_ctx: int = Field(ge=256, le=131072)
    seed: int


class VllmConfig(_Section):
    model: str
    base_url: str | None = None
    host: str
    port: int = Field(ge=1, le=65535)
    gpu_memory_utilization: float = Field(gt=0, le=1)
    max_model_len: int = Field(ge=256)
    dtype: Literal["auto", "bfloat16", "float16"]
    startup_timeout_s: float = Field(gt=0)
    stop: tuple[str, ...] = ()
    executable: Path | None = None  # `vllm` CLI; None = external/vllm/.venv/bin/vllm


class OpenAIConfig(_Section):
    base_url: str
    model: str
    api_key_env: str
    timeout_s: float = Field(gt=0)
    stop: tuple[str, ...] = ()
    max_retries: int = Field(default=2, ge=0, le=10)


class LlmConfig(_Section):
    cpu_backend: Literal["llama_cpp", "openai"]
    gpu_backend: Literal["vllm", "openai", "llama_cpp"]
    max_tokens: int = Field(ge=1, le=4096)
    temperature: float = Field(ge=0, le=2)
    history_turns: int = Field(ge=0, le=20)
    facts_first: bool
    planner: Literal["auto", "on", "off"] = "auto"
    planner_below_confidence: float = Field(default=0.6, ge=0, le=1)
    joke_budget_ms: int = Field(default=200, ge=0, le=60000)
    llama_cpp: LlamaCppConfig
    vllm: VllmConfig
    openai: OpenAIConfig


class PiperConfig(_Section):
    voice: str
    length_scale: float = Field(gt=0.2, lt=3)
    noise_scale: float = Field(ge=0, le=2)
    noise_w_scale: float = Field(ge=0, le=2)


class CsmConfig(_Section):
    model: str
    speaker_id: int = Field(ge=0)
    voice_prompt_wav: Path | None = None
    voice_prompt_text: str | None = None
    temperature: float = Field(gt=0, le=2)
    frames_per_chunk: int = Field(ge=1, le=100)
    max_audio_s: float = Field(gt=0, le=120)


class TtsConfig(_Section):
    cpu_backend: Literal["piper"]
    gpu_backend: Literal["csm", "piper"]
    piper: PiperConfig
    csm: CsmConfig


class StyleConfig(_Section):
    """The four sliders, each 0..1."""

    warmth: float = Field(ge=0, le=1)
    humour: float = Field(ge=0, le=1)
    energy: float = Field(ge=0, le=1)
    verbosity: float = Field(ge=0, le=1)


class PipelineConfig(_Section):
    barge_in: Literal["auto", "headphones", "speaker", "off"]
    barge_in_min_speech_ms: int = Field(ge=32, le=5000)
    barge_in_hold_ms: int = Field(default=32, ge=0, le=5000)
    speaker_mode_threshold: float = Field(gt=0, lt=1)
    chunk_min_words: int = Field(ge=1, le=100)
    chunk_max_words: int = Field(ge=2, le=200)
    queue_size: int = Field(ge=4, le=10000)


class GuiConfig(_Section):
    appearance: Literal["system", "light", "dark"]
    settings_file: Path | None = None


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Config(_Section):
    profile: Literal["auto", "cpu", "gpu"]
    threads: int = Field(ge=1, le=256)
    paths: PathsConfig
    audio: AudioConfig
    vad: VadConfig
    stt: SttConfig
    knowledge: KnowledgeConfig
    llm: LlmConfig
    tts: TtsConfig
    style: StyleConfig
    pipeline: PipelineConfig
    gui: GuiConfig
    logging: LoggingConfig
    source: Path | None = None  # the file it was loaded from (not a YAML key)

    def replace(self, **changes: Any) -> "Config":
        """A copy with top-level or dotted keys changed (`paths.db=...`), validated again."""
        data = self.model_dump()
        for dotted, value in changes.items():
            _set_dotted(data, dotted.split("__") if "__" in dotted else dotted.split("."), value)
        return _validate(data, self.source)


def _set_dotted(data: dict, keys: list[str], value: Any) -> None:
    node = data
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[keys[-1]] = value


def _format_error(err: ValidationError, source: Path | None) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"])
    where = f"{source}: " if source else ""
    if first["type"] == "missing":
        return f"{where}missing key '{key}'; add it (see config/config.yaml for the default)"
    if first["type"] == "extra_forbidden":
        return f"{where}unknown key '{key}'; remove it or check its spelling"
    value = first.get("input")
    return f"{where}{key} = {value!r} is not allowed: {first['msg']}"


def _validate(data: dict, source: Path | None) -> Config:
    try:
        return Config.model_validate({**data, "source": source})
    except ValidationError as err:
        raise ConfigError(_format_error(err, source)) from None


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == f"{ENV_PREFIX}CONFIG":
            continue
        keys = name[len(ENV_PREFIX):].lower().split("__")
        if keys[0] not in Config.model_fields or keys[0] == "source":
            continue  # e.g. LABVOICE_OPENAI_API_KEY is a secret, not a config key
        try:
            value = yaml.safe_load(raw) if raw != "" else None
        except yaml.YAMLError:
            value = raw
        overrides[".".join(keys)] = value
    return overrides


def _resolve_paths(data: dict, root: Path) -> None:
    def resolve(value: Any) -> Any:
        if value is None:
            return None
        path = Path(os.path.expanduser(str(value)))
        return path if path.is_absolute() else (root / path)

    for key, value in (data.get("paths") or {}).items():
        data["paths"][key] = resolve(value)
    csm = ((data.get("tts") or {}).get("csm") or {})
    if csm.get("voice_prompt_wav"):
        csm["voice_prompt_wav"] = resolve(csm["voice_prompt_wav"])
    gui = data.get("gui") or {}
    if gui.get("settings_file"):
        gui["settings_file"] = resolve(gui["settings_file"])


def project_root_for(config_path: Path) -> Path:
    """The folder relative paths are resolved against: the parent of config/, else the file's folder."""
    folder = config_path.resolve().parent
    return folder.parent if folder.name == "config" else folder


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{line}; fix the syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    if "source" in data:
        raise ConfigError(f"{path}: unknown key 'source'; remove it")
    return data


def _merge(base: dict, changes: dict) -> None:
    """Deep-merge `changes` into `base` (a user config names only the keys it changes)."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def load_config(path: str | os.PathLike | None = None, environ: dict[str, str] | None = None) -> Config:
    """Load, override from env/.env, resolve paths, validate. Raises ConfigError (one line).

    Which file: `path`, else LABVOICE_CONFIG, else the checkout's config/config.yaml, else the
    package's default_config.yaml with the user config file's keys over it (locations.py)."""
    where = locations(environ)
    if environ is None:
        try:
            from dotenv import load_dotenv

            for env_file in where.env_files:        # first wins; the real environment wins over all
                load_dotenv(env_file, override=False)
        except ImportError:  # python-dotenv is a dependency; tolerate its absence in odd envs
            pass
        environ = dict(os.environ)
    named = path or environ.get(f"{ENV_PREFIX}CONFIG")
    path = Path(named or where.default_config)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found; pass --config FILE or copy config/config.yaml")
    data = _read_yaml(path)
    root = project_root_for(path) if named else where.data_dir
    if not named and where.user_config is not None and where.user_config.is_file():
        _merge(data, _read_yaml(where.user_config))
        path = where.user_config
    for dotted, value in _env_overrides(environ).items():
        _set_dotted(data, dotted.split("."), value)
    _resolve_paths(data, root)
    return _validate(data, path)
