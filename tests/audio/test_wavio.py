"""WAV reading in every common format, clear errors for bad files, and resampling."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile

from labvoice.audio.resample import StreamingResampler, resample
from labvoice.audio.wavio import AudioFileError, read_for_pipeline, read_wav, to_pipeline_rate, write_wav

# Quantisation error allowed per sample format (one step of the format, rounded up).
SUBTYPES = {"PCM_U8": 1 / 64, "PCM_16": 1e-4, "PCM_24": 1e-6, "PCM_32": 1e-6, "FLOAT": 1e-7, "DOUBLE": 1e-7}


def _tone(rate: int, seconds: float = 0.5, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _dominant_frequency(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.argmax(spectrum) * rate / len(audio))


@pytest.mark.parametrize("subtype", sorted(SUBTYPES))
@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_reads_every_format_as_float32_mono(tmp_path, subtype, rate):
    tone = _tone(rate)
    path = tmp_path / "tone.wav"
    soundfile.write(str(path), tone, rate, subtype=subtype, format="WAV")
    audio, got_rate = read_wav(path)
    assert got_rate == rate
    assert audio.dtype == np.float32 and audio.ndim == 1 and len(audio) == len(tone)
    assert np.max(np.abs(audio - tone)) <= SUBTYPES[subtype]


def test_stereo_is_averaged(tmp_path):
    left, right = _tone(16000, amplitude=0.4), _tone(16000, freq=880, amplitude=0.2)
    path = tmp_path / "stereo.wav"
    soundfile.write(str(path), np.stack([left, right], axis=1), 16000, subtype="PCM_24")
    audio, _ = read_wav(path)
    assert np.allclose(audio, (left + right) / 2, atol=1e-5)


def test_to_pipeline_rate_keeps_length_and_pitch():
    for rate in (8000, 22050, 44100, 48000):
        out = to_pipeline_rate(_tone(rate, seconds=1.0), rate, 16000)
        assert out.dtype == np.float32
        assert abs(len(out) - 16000) <= 1
        assert abs(_dominant_frequency(out, 16000) - 440) < 2
    same = _tone(16000)
    assert to_pipeline_rate(same, 16000, 16000) is same


def test_read_for_pipeline(tmp_path):
    path = write_wav(tmp_path / "a.wav", _tone(44100, seconds=1.0), 44100)
    audio = read_for_pipeline(path)
    assert abs(len(audio) - 16000) <= 1


def test_write_wav_round_trip_and_clipping(tmp_path):
    loud = np.array([0.0, 0.5, 1.5, -2.0], dtype=np.float32)
    path = write_wav(tmp_path / "sub" / "clip.wav", loud, 16000, subtype="FLOAT")
    audio, rate = read_wav(path)
    assert rate == 16000
    assert np.allclose(audio, [0.0, 0.5, 1.0, -1.0])


def _one_line_error(path) -> str:
    with pytest.raises(AudioFileError) as info:
        read_wav(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_missing_file(tmp_path):
    assert "no such file" in _one_line_error(tmp_path / "nope.wav")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert "empty" in _one_line_error(path)


def test_garbage_file(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    assert "not a readable WAV" in _one_line_error(path)


def test_truncated_header(tmp_path):
    path = tmp_path / "truncated.wav"
    write_wav(tmp_path / "good.wav", _tone(16000), 16000)
    path.write_bytes((tmp_path / "good.wav").read_bytes()[:30])
    message = _one_line_error(path)
    assert "WAV" in message


def test_header_without_samples(tmp_path):
    path = tmp_path / "nosamples.wav"
    soundfile.write(str(path), np.zeros(0, dtype=np.float32), 16000, subtype="PCM_16", format="WAV")
    assert "no audio samples" in _one_line_error(path)


def test_non_wav_audio_is_named(tmp_path):
    path = tmp_path / "tone.flac"
    soundfile.write(str(path), _tone(16000), 16000, format="FLAC")
    message = _one_line_error(path)
    assert "not a WAV" in message and "FLAC" in message


def test_directory_is_not_a_file(tmp_path):
    assert "not a file" in _one_line_error(tmp_path)


@pytest.mark.parametrize("rates", [(48000, 16000), (44100, 16000), (22050, 48000), (22050, 44100), (16000, 16000)])
def test_streaming_resampler_matches_a_clean_tone(rates):
    """Blocks of random sizes come out as one clean tone: no clicks at block edges."""
    rate_in, rate_out = rates
    tone = _tone(rate_in, seconds=1.0, amplitude=0.8)
    resampler = StreamingResampler(rate_in, rate_out)
    rng = np.random.default_rng(1)
    pieces, start = [], 0
    while start < len(tone):
        size = int(rng.integers(1, 700))
        pieces.append(resampler.process(tone[start:start + size]))
        start += size
    pieces.append(resampler.flush())
    out = np.concatenate(pieces)
    assert abs(len(out) - rate_out) <= 1
    body = out[500:-500]
    t = (np.arange(len(body)) + 500) / rate_out
    basis = np.stack([np.sin(2 * np.pi * 440 * t), np.cos(2 * np.pi * 440 * t)], axis=1)
    fit, *_ = np.linalg.lstsq(basis, body, rcond=None)
    residual = body - basis @ fit
    assert np.hypot(*fit) == pytest.approx(0.8, rel=0.01)
    assert 10 * np.log10(np.var(basis @ fit) / max(np.var(residual), 1e-20)) > 60  # dB signal to error


@pytest.mark.parametrize("rates", [(48000, 16000), (44100, 16000), (22050, 48000), (16000, 48000)])
def test_streaming_resampler_keeps_the_timeline(rates):
    """A click at input time 0.25 s comes out at output time 0.25 s, whatever the block sizes:
    the echo canceller lines the played signal up with the microphone by these times."""
    rate_in, rate_out = rates
    clicks = np.zeros(rate_in, dtype=np.float32)
    clicks[rate_in // 4] = 1.0
    resampler = StreamingResampler(rate_in, rate_out)
    out = np.concatenate([resampler.process(clicks[i:i + 333]) for i in range(0, rate_in, 333)]
                         + [resampler.flush()])
    assert resampler.delay_s == 0.0
    assert abs(int(np.argmax(np.abs(out))) - rate_out // 4) <= 1
    # After flush() a new stream starts: the same input gives the same output again.
    again = np.concatenate([resampler.process(clicks), resampler.flush()])
    assert np.allclose(again, out, atol=1e-5)


def test_resample_whole_array_and_identity():
    tone = _tone(48000, seconds=1.0)
    assert len(resample(tone, 48000, 16000)) == 16000
    assert resample(tone, 48000, 48000) is not None and len(resample(tone, 48000, 48000)) == 48000
    with pytest.raises(ValueError):
        StreamingResampler(0, 16000)
