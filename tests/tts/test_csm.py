"""CsmSynthesizer end to end on CPU with a tiny random-weight CSM built here (no download).

The model follows the shape of transformers' own CSM test config (~1 M parameters), except that its
Mimi codec uses the real codec's upsampling ratios, so one codec frame is 80 ms / 1920 samples at
24 kHz like sesame/csm-1b, and the processor's audio-length arithmetic matches. The processor is
assembled from local parts: a character-level tokenizer carrying CSM's special tokens, an Encodec
feature extractor and a small chat template that renders turns the way sesame/csm-1b's does.
Random weights make noise, not speech: these tests check streaming, cancel and format, not sound.
"""
from __future__ import annotations

import string
import threading
import time

import numpy as np
import pytest
import soundfile as sf

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from labvoice.cancel import CancelToken  # noqa: E402
from labvoice.config import load_config  # noqa: E402
from labvoice.models import ModelMissing  # noqa: E402
from labvoice.style import Style  # noqa: E402
from labvoice.tts.csm import (  # noqa: E402
    CsmSynthesizer, _ChunkDecoder, csm_temperature, load_voice_prompt)

SAMPLE_RATE = 24000
SAMPLES_PER_FRAME = 1920          # Mimi: 24 kHz / 12.5 Hz
FRAMES = 40                       # a 3.2 s "sentence"; random weights never emit the EOS frame
FRAMES_PER_CHUNK = 4
SPECIAL_TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<|AUDIO|>", "<|audio_eos|>", "<pad>", "<unk>"]
# One turn: bos, [speaker], text, eos, then the audio placeholders when the turn carries audio.
CHAT_TEMPLATE = (
    "{%- for turn in messages -%}"
    "{{ bos_token }}[{{ turn['role'] }}]{{ turn['content'][0]['text'] }}{{ eos_token }}"
    "{%- if turn['content'] | length > 1 -%}<|AUDIO|><|audio_eos|>{%- endif -%}"
    "{%- endfor -%}"
)


def _tiny_processor():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import CsmProcessor, EncodecFeatureExtractor, PreTrainedTokenizerFast

    chars = sorted(set(string.printable) - set("\t\n\r\x0b\x0c"))
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS + chars)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split("", "isolated")  # one token per character
    backend.add_special_tokens(SPECIAL_TOKENS)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<|begin_of_text|>",
                                        eos_token="<|end_of_text|>", pad_token="<pad>", unk_token="<unk>")
    features = EncodecFeatureExtractor(feature_size=1, sampling_rate=SAMPLE_RATE, padding_value=0.0)
    return CsmProcessor(features, tokenizer, chat_template=CHAT_TEMPLATE), vocab


def _tiny_model(vocab: dict[str, int]):
    from transformers import CsmConfig, CsmForConditionalGeneration

    codebooks, codes = 10, 64
    config = CsmConfig(
        depth_decoder_config=dict(num_codebooks=codebooks, backbone_hidden_size=64, vocab_size=codes,
                                  hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                  num_attention_heads=4, num_key_value_heads=2, hidden_act="silu",
                                  max_position_embeddings=codebooks),
        codec_config=dict(model_type="mimi", audio_channels=1, chunk_in_sec=None, hidden_size=32,
                          num_filters=8, num_residual_layers=1, upsampling_ratios=[8, 6, 5, 4],
                          codebook_size=codes, num_quantizers=codebooks, vector_quantization_hidden_dimension=64,
                          upsample_groups=32, num_hidden_layers=2, num_attention_heads=2,
                          num_key_value_heads=2, sliding_window=4, codebook_dim=64, use_cache=False),
        num_codebooks=codebooks, vocab_size=codes, text_vocab_size=len(vocab), hidden_size=64,
        intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        hidden_act="silu", max_position_embeddings=512, bos_token_id=vocab["<|begin_of_text|>"],
        pad_token_id=vocab["<pad>"], codebook_pad_token_id=2, codebook_eos_token_id=3,
        audio_token_id=vocab["<|AUDIO|>"], audio_eos_token_id=vocab["<|audio_eos|>"])
    torch.manual_seed(0)
    return CsmForConditionalGeneration(config).eval()


@pytest.fixture(scope="module")
def tiny_csm():
    """(model, processor), with torch on one thread: tiny ops on a shared 2-core box run best so."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    processor, vocab = _tiny_processor()
    model = _tiny_model(vocab)
    warm_up = CsmSynthesizer(model, processor, frames_per_chunk=2, max_audio_s=2 / 12.5)
    list(warm_up.synthesize("Warm up.", Style(), CancelToken()))  # first-call costs stay out of timings
    yield model, processor
    torch.set_num_threads(threads)


def _synth(tiny_csm, **kwargs) -> CsmSynthesizer:
    model, processor = tiny_csm
    options = dict(frames_per_chunk=FRAMES_PER_CHUNK, max_audio_s=FRAMES / 12.5)
    options.update(kwargs)
    return CsmSynthesizer(model, processor, **options)


def _worker_alive() -> bool:
    return any(t.name == "csm-generate" and t.is_alive() for t in threading.enumerate())


def test_chunks_stream_before_generation_finishes(tiny_csm):
    synth = _synth(tiny_csm)
    assert synth.sample_rate == SAMPLE_RATE
    start = time.perf_counter()
    chunks, stamps, alive_at_first = [], [], None
    for chunk in synth.synthesize("Hello there, this is a test.", Style(), CancelToken()):
        stamps.append(time.perf_counter() - start)
        if alive_at_first is None:
            alive_at_first = _worker_alive()
        chunks.append(chunk)
    total = time.perf_counter() - start
    print(f"\nCSM tiny: first chunk {stamps[0] * 1000:.0f} ms, total {total * 1000:.0f} ms, "
          f"{len(chunks)} chunks of {FRAMES_PER_CHUNK} frames")
    assert alive_at_first, "the first chunk should arrive while generate() is still running"
    assert len(chunks) == FRAMES // FRAMES_PER_CHUNK
    for chunk in chunks:
        assert chunk.dtype == np.float32 and chunk.ndim == 1
        assert chunk.shape[0] == FRAMES_PER_CHUNK * SAMPLES_PER_FRAME
        assert np.isfinite(chunk).all()
    assert not _worker_alive()


def test_cancel_after_first_chunk_stops_generation(tiny_csm):
    synth = _synth(tiny_csm, max_audio_s=200 / 12.5)  # would run ~5 s if not stopped
    cancel = CancelToken()
    stream = synth.synthesize("Stop me early, please.", Style(), cancel)
    first = next(stream)
    assert first.size
    cancel.cancel()
    rest = list(stream)
    assert rest == []
    assert not _worker_alive()   # generation stopped, it did not run to its ~5 s end


def test_closing_the_stream_stops_the_worker(tiny_csm):
    synth = _synth(tiny_csm, max_audio_s=200 / 12.5)
    stream = synth.synthesize("Nobody listens to the end.", Style(), CancelToken())
    next(stream)
    stream.close()  # e.g. the voice thread dropped a stale turn
    assert not _worker_alive()


def test_already_cancelled_yields_nothing(tiny_csm):
    cancel = CancelToken()
    cancel.cancel()
    assert list(_synth(tiny_csm).synthesize("Too late.", Style(), cancel)) == []


def test_chunked_decode_matches_one_shot_decode(tiny_csm):
    """Decoding with left context gives the same samples as decoding all frames at once."""
    model, processor = tiny_csm
    inputs = processor.apply_chat_template([{"role": "0", "content": [{"type": "text", "text": "Hi."}]}],
                                           tokenize=True, return_dict=True)
    codes = model.generate(**inputs, max_new_tokens=20, do_sample=True, depth_decoder_do_sample=True)[0]
    decoder = _ChunkDecoder(model.codec_model, eos_code=model.config.codebook_eos_token_id, context_frames=4)
    pieces = []
    for frame in codes:
        decoder.add(frame)
        if decoder.pending == 3:
            pieces.append(decoder.flush())
    pieces.append(decoder.flush())
    with torch.inference_mode():
        whole = model.codec_model.decode(codes.T.unsqueeze(0)).audio_values[0, 0].numpy()
    streamed = np.concatenate(pieces)
    assert streamed.shape == whole.shape
    np.testing.assert_allclose(streamed, whole, atol=1e-4)


def test_eos_frame_ends_the_audio(tiny_csm):
    model, _ = tiny_csm
    decoder = _ChunkDecoder(model.codec_model, eos_code=3)
    decoder.add(torch.full((10,), 5))
    decoder.add(torch.full((10,), 3))   # the end-of-audio frame
    decoder.add(torch.full((10,), 5))   # anything after it is ignored
    assert decoder.finished and decoder.pending == 1
    assert decoder.flush().shape == (SAMPLES_PER_FRAME,)


def test_voice_prompt_is_resampled_and_used(tiny_csm, tmp_path):
    wav = tmp_path / "me.wav"
    t = np.arange(16000) / 16000
    sf.write(wav, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    prompt = load_voice_prompt(wav, "This is my voice.", SAMPLE_RATE)
    assert prompt.audio.dtype == np.float32 and prompt.audio.shape == (SAMPLE_RATE,)
    synth = _synth(tiny_csm, voice_prompt=prompt, max_audio_s=8 / 12.5)
    turns = synth._conversation("Now say this.")
    assert [t["content"][0]["text"] for t in turns] == ["This is my voice.", "Now say this."]
    audio = np.concatenate(list(synth.synthesize("Now say this.", Style(), CancelToken())))
    assert audio.shape == (8 * SAMPLES_PER_FRAME,)


def test_style_moves_temperature():
    calm, lively = Style(energy=0.0, warmth=0.0), Style(energy=1.0, warmth=1.0)
    assert csm_temperature(0.9, calm) < csm_temperature(0.9, Style()) == 0.9 < csm_temperature(0.9, lively)
    assert csm_temperature(2.0, lively) <= 1.3


def test_from_config_loads_local_weights_offline(tiny_csm, tmp_path, monkeypatch):
    model, processor = tiny_csm
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    target = tmp_path / "models" / "sesame--csm-1b"
    model.save_pretrained(target)
    processor.save_pretrained(target)
    config = load_config(environ={}).replace(**{"paths.models": str(tmp_path / "models")})
    synth = CsmSynthesizer.from_config(config)
    assert synth.sample_rate == SAMPLE_RATE and synth.frames_per_chunk == config.tts.csm.frames_per_chunk
    synth.max_frames = 6
    audio = np.concatenate(list(synth.synthesize("Loaded from disk.", Style(), CancelToken())))
    assert audio.dtype == np.float32 and audio.shape == (6 * SAMPLES_PER_FRAME,)


def test_from_config_without_weights_names_the_download(tmp_path):
    config = load_config(environ={}).replace(**{"paths.models": str(tmp_path)})
    with pytest.raises(ModelMissing, match="download_models.py"):
        CsmSynthesizer.from_config(config)
