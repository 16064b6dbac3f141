"""Sesame CSM-1B speech through transformers (GPU profile), streamed in small codec chunks.

How a sentence streams:
1. The text (and the optional voice prompt, as an earlier conversation turn with its audio) goes
   through the processor's chat template.
2. `model.generate(...)` runs in a worker thread. transformers calls the streamer once per step
   with one codec frame (one code per codebook, 80 ms of audio for the real Mimi codec); the
   first call carries the prompt and is skipped. Frames go to a queue.
3. The calling thread takes frames off the queue and, every `frames_per_chunk` frames, decodes
   them with the Mimi codec (`model.codec_model.decode`) together with a few frames of left
   context, keeping only the samples of the new frames. The first audio of a sentence is out after
   `frames_per_chunk` generation steps instead of after the whole sentence.

Cancel: checked between frames and chunks; once set, nothing more is yielded and the worker stops
at its next step. CSM's `generate()` keeps only `MaxLengthCriteria` and drops any other
`StoppingCriteria` with a warning (transformers 5.23, `generation_csm.py:_get_stopping_criteria`),
so the stop travels through the streamer instead: its `put()` raises once cancelled, which unwinds
`generate()` in the worker thread.
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from labvoice.cancel import CancelToken
from labvoice.style import Style

if TYPE_CHECKING:
    from labvoice.config import Config

log = logging.getLogger(__name__)

INSTALL_HINT = "install the GPU extras: pip install -e '.[gpu]'"
DECODE_CONTEXT_FRAMES = 12   # left context re-decoded with each chunk (~1 s of Mimi frames)
CANCEL_POLL_S = 0.02         # how often the consumer looks at the cancel token while waiting
WORKER_JOIN_S = 5.0          # a cancelled generate() stops within one step; this is a safety cap
# Style -> sampling temperature: energy and warmth each move it by up to +-15% / +-10% of the base.
ENERGY_GAIN = 0.3
WARMTH_GAIN = 0.2
STYLE_NEUTRAL = 0.5
MIN_TEMPERATURE = 0.3
MAX_TEMPERATURE = 1.3


class CsmError(RuntimeError):
    """CSM could not load or generate; the message is one readable line."""


class _StopGeneration(Exception):
    """Raised inside the worker's generate() by the streamer to end it early."""


_END = object()  # queue marker: generation finished (normally, stopped, or failed)


def csm_temperature(base: float, style: Style) -> float:
    """Energy livens the voice, warmth softens it a little less; clamped to a sane sampling range."""
    factor = 1.0 + ENERGY_GAIN * (style.energy - STYLE_NEUTRAL) + WARMTH_GAIN * (style.warmth - STYLE_NEUTRAL)
    return round(min(MAX_TEMPERATURE, max(MIN_TEMPERATURE, base * factor)), 3)


@dataclass(frozen=True)
class VoicePrompt:
    """A reference recording and its transcript; CSM continues in that voice."""

    text: str
    audio: np.ndarray  # float32 mono at the codec's sample rate


def load_voice_prompt(wav: Path, text: str | None, sample_rate: int) -> VoicePrompt:
    """Read a reference WAV (any rate, mono or not) and resample it to the codec rate."""
    import soundfile as sf
    from scipy.signal import resample_poly

    if not text:
        raise CsmError(f"tts.csm.voice_prompt_wav is set ({wav}) but tts.csm.voice_prompt_text is empty; "
                       "set it to the words spoken in the recording")
    try:
        audio, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as err:
        raise CsmError(f"cannot read voice prompt {wav}: {err}; set tts.csm.voice_prompt_wav to a WAV file") from None
    mono = audio.mean(axis=1)
    if rate != sample_rate:
        divisor = np.gcd(int(rate), int(sample_rate))
        mono = resample_poly(mono, sample_rate // divisor, rate // divisor)
    return VoicePrompt(text=text, audio=mono.astype(np.float32))


class _FrameStreamer:
    """Receives generate()'s per-step tokens (duck-typed transformers streamer) and queues frames."""

    def __init__(self, frames: queue.Queue, stop: threading.Event, cancel: CancelToken) -> None:
        self._frames = frames
        self._stop = stop
        self._cancel = cancel
        self._prompt_skipped = False

    def put(self, value) -> None:
        if self._stop.is_set() or self._cancel.cancelled:
            raise _StopGeneration
        if not self._prompt_skipped:  # generate() first hands over the prompt ids
            self._prompt_skipped = True
            return
        self._frames.put(value[0].clone())  # batch of one: (num_codebooks,)

    def end(self) -> None:
        """The worker posts the end marker itself, also when generate() raised."""


class _ChunkDecoder:
    """Decodes codec frames incrementally: new frames plus left context in, only new samples out."""

    def __init__(self, codec_model, eos_code: int, context_frames: int = DECODE_CONTEXT_FRAMES) -> None:
        self._codec = codec_model
        self._eos_code = eos_code
        self._context = context_frames
        self._frames: list = []
        self._emitted = 0  # frames already turned into audio
        self.finished = False  # an end-of-audio frame arrived

    @property
    def pending(self) -> int:
        return len(self._frames) - self._emitted

    def add(self, frame) -> None:
        """Keep one frame (codes per codebook); the all-EOS frame that ends the audio is dropped."""
        if self.finished:
            return
        if bool((frame[:-1] == self._eos_code).all()):
            self.finished = True
            return
        self._frames.append(frame)

    def flush(self) -> np.ndarray:
        """Audio of the pending frames as float32 mono; empty when nothing is pending."""
        import torch

        if not self.pending:
            return np.zeros(0, dtype=np.float32)
        start = max(0, self._emitted - self._context)
        codes = torch.stack(self._frames[start:], dim=1).unsqueeze(0)  # (1, codebooks, frames)
        with torch.inference_mode():
            audio = self._codec.decode(codes.to(self._codec.device)).audio_values[0, 0]
        samples_per_frame = audio.shape[-1] // codes.shape[-1]
        new = audio[-self.pending * samples_per_frame:]
        self._emitted = len(self._frames)
        return new.float().cpu().numpy().astype(np.float32, copy=False)


class CsmSynthesizer:
    """Speaks text with a loaded `CsmForConditionalGeneration` and its processor."""

    name = "csm"

    def __init__(self, model, processor, *, speaker_id: int = 0, temperature: float = 0.9,
                 frames_per_chunk: int = 6, max_audio_s: float = 20.0,
                 voice_prompt: VoicePrompt | None = None,
                 context_frames: int = DECODE_CONTEXT_FRAMES) -> None:
        if getattr(processor, "chat_template", None) is None:
            raise CsmError("the CSM processor has no chat template; re-download the model: "
                           "python scripts/download_models.py --profile gpu --only tts")
        self.model = model
        self.processor = processor
        self.speaker_id = speaker_id
        self.temperature = temperature
        self.frames_per_chunk = frames_per_chunk
        self.voice_prompt = voice_prompt
        self.context_frames = context_frames
        codec_config = model.codec_model.config
        self.sample_rate = int(codec_config.sampling_rate)
        self.frame_rate = float(codec_config.frame_rate)
        self.max_frames = max(1, round(max_audio_s * self.frame_rate))

    @classmethod
    def from_config(cls, config: "Config") -> "CsmSynthesizer":
        """Load CSM from models/ (never downloads): bf16 (fp16 without bf16 support) on CUDA, fp32 on CPU."""
        from labvoice.models import resolve_model

        cfg = config.tts.csm
        path = resolve_model("tts", cfg.model, config.paths.models)
        try:
            import torch
            from transformers import AutoProcessor, CsmForConditionalGeneration
        except ImportError as err:
            raise CsmError(f"CSM needs {err.name}; {INSTALL_HINT}") from None
        if torch.cuda.is_available():
            device = "cuda"
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        else:
            device, dtype = "cpu", torch.float32
            log.warning("CSM is running on the CPU: expect it to be far slower than real time")
        log.info("loading CSM from %s on %s (%s)", path, device, dtype)
        try:
            processor = AutoProcessor.from_pretrained(path, local_files_only=True)
            model = CsmForConditionalGeneration.from_pretrained(path, dtype=dtype, local_files_only=True)
            model = model.to(device).eval()  # .to() rather than device_map: no accelerate needed
        except (OSError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CsmError(f"cannot load CSM from {path}: {first}; re-download it: "
                           "python scripts/download_models.py --profile gpu --only tts") from None
        prompt = None
        if cfg.voice_prompt_wav is not None:
            prompt = load_voice_prompt(cfg.voice_prompt_wav, cfg.voice_prompt_text,
                                       int(model.codec_model.config.sampling_rate))
        return cls(model, processor, speaker_id=cfg.speaker_id, temperature=cfg.temperature,
                   frames_per_chunk=cfg.frames_per_chunk, max_audio_s=cfg.max_audio_s, voice_prompt=prompt)

    def _conversation(self, text: str) -> list[dict[str, Any]]:
        role = str(self.speaker_id)
        turns = []
        if self.voice_prompt is not None:
            turns.append({"role": role, "content": [{"type": "text", "text": self.voice_prompt.text},
                                                    {"type": "audio", "audio": self.voice_prompt.audio}]})
        turns.append({"role": role, "content": [{"type": "text", "text": text}]})
        return turns

    def _inputs(self, text: str) -> dict[str, Any]:
        batch = self.processor.apply_chat_template(self._conversation(text), tokenize=True, return_dict=True)
        inputs = {}
        for key, value in batch.items():
            value = value.to(self.model.device)
            if value.is_floating_point():
                value = value.to(self.model.dtype)
            inputs[key] = value
        return inputs

    def _generate(self, inputs: dict[str, Any], temperature: float, streamer: _FrameStreamer,
                  frames: queue.Queue) -> None:
        """Worker thread body: run generate(); always finish with the end marker."""
        try:
            self.model.generate(**inputs, streamer=streamer, max_new_tokens=self.max_frames,
                                do_sample=True, temperature=temperature,
                                depth_decoder_do_sample=True, depth_decoder_temperature=temperature)
        except _StopGeneration:
            log.debug("CSM generation stopped early")
        except Exception as err:  # reported to the consumer thread, which raises it as CsmError
            frames.put(err)
        finally:
            frames.put(_END)

    def synthesize(self, text: str, style: Style, cancel: CancelToken) -> Iterator[np.ndarray]:
        """Yield float32 mono chunks at `sample_rate` as generation goes; stop at once when cancelled."""
        if not text.strip() or cancel.cancelled:
            return
        inputs = self._inputs(text)
        frames: queue.Queue = queue.Queue()
        stop = threading.Event()
        streamer = _FrameStreamer(frames, stop, cancel)
        decoder = _ChunkDecoder(self.model.codec_model, self.model.config.codebook_eos_token_id,
                                self.context_frames)
        worker = threading.Thread(target=self._generate, name="csm-generate", daemon=True,
                                  args=(inputs, csm_temperature(self.temperature, style), streamer, frames))
        worker.start()
        try:
            while True:
                try:
                    item = frames.get(timeout=CANCEL_POLL_S)
                except queue.Empty:
                    if cancel.cancelled:
                        return
                    continue
                if cancel.cancelled:
                    return
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise CsmError(f"CSM generation failed: {type(item).__name__}: {item}") from item
                decoder.add(item)
                if decoder.pending >= self.frames_per_chunk:
                    chunk = decoder.flush()
                    if cancel.cancelled:
                        return
                    yield chunk
            if decoder.pending and not cancel.cancelled:
                yield decoder.flush()
        finally:
            stop.set()
            worker.join(WORKER_JOIN_S)
            if worker.is_alive():
                log.warning("CSM worker still running %.0f s after stop", WORKER_JOIN_S)

    def close(self) -> None:
        """Drop the model so its GPU memory can be reclaimed."""
        self.model = None
        self.processor = None
