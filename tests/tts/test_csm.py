"""CsmSynthesizer's streaming, cancel and decode bookkeeping, driven by stand-ins: no torch, no transformers.

CSM is the GPU profile's voice; the CPU profile (and this suite) installs no torch. What this module
tests is ours, not the model: frames go from generate()'s worker thread through the streamer to the
chunk decoder, chunks come out while generation runs, a cancel or a closed stream stops the worker,
the all-EOS frame ends the audio, and chunked decoding with left context equals one-shot decoding.

The stand-ins keep the shapes of the real thing: `generate()` hands the streamer the prompt ids first,
then one (1, codebooks) frame per step, as transformers' CSM does; the codec decodes (1, codebooks,
frames) into 1920 samples per frame at 24 kHz (Mimi: 80 ms per frame), each frame's samples depending
on the frame before it, so a chunk decoded without left context would differ. The few torch calls
csm.py makes (stack, inference_mode, Tensor.clone/to/float/cpu/numpy) are numpy under a `torch`
module put in sys.modules for the test only.
"""
from __future__ import annotations

import contextlib
import sys
import threading
import time
import types

import numpy as np
import pytest
import soundfile as sf

from labvoice.cancel import CancelToken
from labvoice.config import load_config
from labvoice.models import ModelMissing
from labvoice.style import Style
from labvoice.tts.csm import CsmError, CsmSynthesizer, _ChunkDecoder, csm_temperature, load_voice_prompt

SAMPLE_RATE = 24000
SAMPLES_PER_FRAME = 1920          # Mimi: 24 kHz / 12.5 Hz
FRAME_RATE = 12.5
CODEBOOKS = 10
EOS_CODE = 3
FRAMES = 40                       # a 3.2 s "sentence"
FRAMES_PER_CHUNK = 4
STEP_S = 0.005                    # one generation step of the stand-in model


class Tensor(np.ndarray):
    """A numpy array with the torch.Tensor methods csm.py calls."""

    def clone(self) -> "Tensor":
        return self.copy()

    def to(self, where) -> "Tensor":          # a device name, or a dtype
        return self if isinstance(where, str) else self.astype(where)

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def cpu(self) -> "Tensor":
        return self

    def numpy(self) -> np.ndarray:
        return np.asarray(self)

    def unsqueeze(self, axis: int) -> "Tensor":
        return np.expand_dims(self, axis)

    def is_floating_point(self) -> bool:
        return bool(np.issubdtype(self.dtype, np.floating))


def tensor(values) -> Tensor:
    return np.asarray(values).view(Tensor)


@pytest.fixture
def fake_torch(monkeypatch):
    """numpy behind the `torch` name, for this test only."""
    module = types.ModuleType("torch")
    module.stack = lambda tensors, dim=0: np.stack(tensors, axis=dim).view(Tensor)
    module.inference_mode = contextlib.nullcontext
    module.full = lambda shape, value: tensor(np.full(shape, value))
    module.cuda = types.SimpleNamespace(is_available=lambda: False)
    monkeypatch.setitem(sys.modules, "torch", module)
    return module


class Codec:
    """Decodes (1, codebooks, frames) codes to (1, 1, frames * 1920) samples; a frame's samples depend on
    its codes and on the frame before it (a receptive field of one frame of left context)."""

    device = "cpu"
    config = types.SimpleNamespace(sampling_rate=SAMPLE_RATE, frame_rate=FRAME_RATE)

    def decode(self, codes: Tensor) -> types.SimpleNamespace:
        frames = np.asarray(codes[0], dtype=np.float64).T            # (frames, codebooks)
        t = np.arange(SAMPLES_PER_FRAME) / SAMPLE_RATE
        audio = []
        for i, frame in enumerate(frames):
            before = frames[i - 1] if i else np.zeros_like(frame)
            pitch = 100.0 + 10.0 * frame.mean() + 3.0 * before.mean()
            audio.append(0.1 * np.sin(2 * np.pi * pitch * t) * (1.0 + 0.01 * before[0]))
        return types.SimpleNamespace(audio_values=tensor(np.concatenate(audio)[None, None].astype(np.float32)))


class Model:
    """generate() as transformers' CSM calls a streamer: the prompt ids, then one frame per step."""

    device = "cpu"
    dtype = np.float32
    config = types.SimpleNamespace(codebook_eos_token_id=EOS_CODE)

    def __init__(self, fail_at: int | None = None) -> None:
        self.codec_model = Codec()
        self.fail_at = fail_at
        self.seen: dict = {}

    def generate(self, input_ids, attention_mask, streamer=None, max_new_tokens=20, **sampling):
        self.seen = {"input_ids": input_ids, "attention_mask": attention_mask, **sampling}
        rng = np.random.default_rng(int(np.asarray(input_ids).sum()))
        if streamer is not None:
            streamer.put(input_ids)
        frames = []
        for step in range(max_new_tokens):
            time.sleep(STEP_S)
            if step == self.fail_at:
                raise RuntimeError("CUDA error: device-side assert triggered")
            frame = tensor(rng.integers(EOS_CODE + 1, 64, size=(1, CODEBOOKS)))
            if streamer is not None:
                streamer.put(frame)
            frames.append(np.asarray(frame[0]))
        return tensor(np.stack(frames)[None])                         # (1, frames, codebooks)


class Processor:
    """The chat template's result: text ids, and the voice prompt's audio when a turn carries it."""

    chat_template = "{{ turns }}"

    def __init__(self) -> None:
        self.conversations: list = []

    def apply_chat_template(self, conversation, tokenize=True, return_dict=True) -> dict:
        self.conversations.append(conversation)
        ids = tensor([[ord(ch) for turn in conversation for ch in turn["content"][0]["text"]]])
        batch = {"input_ids": ids, "attention_mask": tensor(np.ones_like(ids))}
        audio = [part["audio"] for turn in conversation for part in turn["content"] if part["type"] == "audio"]
        if audio:
            batch["input_values"] = tensor(np.concatenate(audio).astype(np.float64)[None, None])
        return batch


def _synth(model: Model | None = None, **kwargs) -> CsmSynthesizer:
    options = dict(frames_per_chunk=FRAMES_PER_CHUNK, max_audio_s=FRAMES / FRAME_RATE)
    options.update(kwargs)
    return CsmSynthesizer(model or Model(), Processor(), **options)


def _worker_alive() -> bool:
    return any(t.name == "csm-generate" and t.is_alive() for t in threading.enumerate())


def test_chunks_stream_before_generation_finishes(fake_torch):
    synth = _synth()
    assert synth.sample_rate == SAMPLE_RATE and synth.max_frames == FRAMES
    chunks, alive_at_first = [], None
    for chunk in synth.synthesize("Hello there, this is a test.", Style(), CancelToken()):
        if alive_at_first is None:
            alive_at_first = _worker_alive()
        chunks.append(chunk)
    assert alive_at_first, "the first chunk should arrive while generate() is still running"
    assert len(chunks) == FRAMES // FRAMES_PER_CHUNK
    for chunk in chunks:
        assert chunk.dtype == np.float32 and chunk.ndim == 1
        assert chunk.shape[0] == FRAMES_PER_CHUNK * SAMPLES_PER_FRAME
        assert np.isfinite(chunk).all()
    assert not _worker_alive()


def test_the_style_sets_both_sampling_temperatures(fake_torch):
    model = Model()
    lively = Style(energy=1.0, warmth=1.0)
    list(_synth(model, max_audio_s=2 / FRAME_RATE).synthesize("Quick.", lively, CancelToken()))
    expected = csm_temperature(0.9, lively)
    assert model.seen["temperature"] == model.seen["depth_decoder_temperature"] == expected
    assert model.seen["do_sample"] and model.seen["depth_decoder_do_sample"]


def test_cancel_after_first_chunk_stops_generation(fake_torch):
    synth = _synth(max_audio_s=2000 / FRAME_RATE)  # would run ~10 s if not stopped
    cancel = CancelToken()
    stream = synth.synthesize("Stop me early, please.", Style(), cancel)
    started = time.perf_counter()
    assert next(stream).size
    cancel.cancel()
    assert list(stream) == []
    assert not _worker_alive()   # generation stopped, it did not run to its end
    assert time.perf_counter() - started < 5.0


def test_closing_the_stream_stops_the_worker(fake_torch):
    stream = _synth(max_audio_s=2000 / FRAME_RATE).synthesize("Nobody listens to the end.", Style(), CancelToken())
    next(stream)
    stream.close()  # e.g. the voice thread dropped a stale turn
    assert not _worker_alive()


def test_already_cancelled_yields_nothing(fake_torch):
    cancel = CancelToken()
    cancel.cancel()
    assert list(_synth().synthesize("Too late.", Style(), cancel)) == []
    assert list(_synth().synthesize("   ", Style(), CancelToken())) == []


def test_a_failing_generation_is_one_csm_error(fake_torch):
    stream = _synth(Model(fail_at=6)).synthesize("This will fail.", Style(), CancelToken())
    with pytest.raises(CsmError, match="CSM generation failed: RuntimeError: CUDA error"):
        list(stream)
    assert not _worker_alive()


def test_chunked_decode_matches_one_shot_decode(fake_torch):
    """Decoding with left context gives the same samples as decoding all frames at once."""
    model = Model()
    codes = model.generate(tensor([[72, 105]]), tensor([[1, 1]]), max_new_tokens=20)[0]   # (frames, codebooks)
    decoder = _ChunkDecoder(model.codec_model, eos_code=EOS_CODE, context_frames=4)
    pieces = []
    for frame in codes:
        decoder.add(frame)
        if decoder.pending == 3:
            pieces.append(decoder.flush())
    pieces.append(decoder.flush())
    whole = model.codec_model.decode(codes.T.unsqueeze(0)).audio_values[0, 0].numpy()
    streamed = np.concatenate(pieces)
    assert streamed.shape == whole.shape == (20 * SAMPLES_PER_FRAME,)
    np.testing.assert_allclose(streamed, whole, atol=1e-6)
    no_context = _ChunkDecoder(model.codec_model, eos_code=EOS_CODE, context_frames=0)
    for frame in codes:
        no_context.add(frame)
        if no_context.pending == 3:
            no_context.flush()
    assert not np.allclose(no_context.flush(), whole[-2 * SAMPLES_PER_FRAME:], atol=1e-6)   # the context matters


def test_eos_frame_ends_the_audio(fake_torch):
    decoder = _ChunkDecoder(Codec(), eos_code=EOS_CODE)
    decoder.add(fake_torch.full((CODEBOOKS,), 5))
    decoder.add(fake_torch.full((CODEBOOKS,), EOS_CODE))   # the end-of-audio frame
    decoder.add(fake_torch.full((CODEBOOKS,), 5))          # anything after it is ignored
    assert decoder.finished and decoder.pending == 1
    assert decoder.flush().shape == (SAMPLES_PER_FRAME,)
    assert decoder.flush().shape == (0,)


def test_voice_prompt_is_resampled_and_used(tmp_path, request):
    wav = tmp_path / "me.wav"
    t = np.arange(16000) / 16000
    sf.write(wav, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    prompt = load_voice_prompt(wav, "This is my voice.", SAMPLE_RATE)   # scipy's resampler: before the stand-in,
    assert prompt.audio.dtype == np.float32 and prompt.audio.shape == (SAMPLE_RATE,)   # scipy looks for torch
    request.getfixturevalue("fake_torch")
    model = Model()
    synth = _synth(model, voice_prompt=prompt, max_audio_s=8 / FRAME_RATE)
    turns = synth._conversation("Now say this.")
    assert [t["content"][0]["text"] for t in turns] == ["This is my voice.", "Now say this."]
    audio = np.concatenate(list(synth.synthesize("Now say this.", Style(), CancelToken())))
    assert audio.shape == (8 * SAMPLES_PER_FRAME,)
    assert synth.processor.conversations[-1][0]["content"][1]["audio"] is prompt.audio
    with pytest.raises(CsmError, match="voice_prompt_text is empty"):
        load_voice_prompt(wav, "", SAMPLE_RATE)


def test_style_moves_temperature():
    calm, lively = Style(energy=0.0, warmth=0.0), Style(energy=1.0, warmth=1.0)
    assert csm_temperature(0.9, calm) < csm_temperature(0.9, Style()) == 0.9 < csm_temperature(0.9, lively)
    assert csm_temperature(2.0, lively) <= 1.3


def test_a_processor_without_a_chat_template_names_the_download(fake_torch):
    processor = Processor()
    processor.chat_template = None
    with pytest.raises(CsmError, match="download_models.py"):
        CsmSynthesizer(Model(), processor)


def test_from_config_without_torch_names_the_gpu_extras(tmp_path, monkeypatch):
    (tmp_path / "models" / "sesame--csm-1b").mkdir(parents=True)     # the weights are there, torch is not
    monkeypatch.setitem(sys.modules, "torch", None)
    config = load_config(environ={}).replace(**{"paths.models": str(tmp_path / "models")})
    with pytest.raises(CsmError, match=r"CSM needs torch; install the GPU extras") as caught:
        CsmSynthesizer.from_config(config)
    assert "\n" not in str(caught.value)


def test_from_config_without_weights_names_the_download(tmp_path):
    config = load_config(environ={}).replace(**{"paths.models": str(tmp_path)})
    with pytest.raises(ModelMissing, match="download_models.py"):
        CsmSynthesizer.from_config(config)
