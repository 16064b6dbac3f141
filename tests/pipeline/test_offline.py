"""`main.py ask --wav`: the whole pipeline on a file (VAD, STT, answer, TTS)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from labvoice.audio.wavio import read_wav

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "Which run had the best validation accuracy on mnist?"


def wer(ref: str, hyp: str) -> float:
    r, h = ref.lower().strip("?. ").split(), hyp.lower().replace("?", "").replace(".", "").split()
    d = np.arange(len(h) + 1)
    for i, rw in enumerate(r, 1):
        prev, d[0] = d.copy(), i
        for j, hw in enumerate(h, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (rw != hw))
    return d[len(h)] / len(r)


def ask(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "ask", *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def test_ask_wav_transcribes_answers_and_speaks(piper_synthesizer, heldout_db, tmp_path):
    wav = piper_synthesizer.synthesize_to_wav(QUESTION, tmp_path / "q.wav", pad_s=(0.5, 0.8))
    out = tmp_path / "answer.wav"
    proc = ask("--wav", str(wav), "--out", str(out), "--db", str(heldout_db[0]), "--index",
               str(tmp_path / "no-index"), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    payload = json.loads(proc.stdout.strip().splitlines()[-1])
    assert wer(QUESTION, payload["transcript"]) <= 0.25, payload["transcript"]
    assert payload["answer"] and len(payload["used_run_ids"]) == 1
    assert payload["latency_ms"]["first_audio"] >= payload["latency_ms"]["endpointing"] > 0
    audio, rate = read_wav(out)
    assert len(audio) > rate and np.abs(audio).max() > 0.1


def test_ask_wav_with_a_corrupt_file_is_one_clear_line(heldout_db, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    proc = ask("--wav", str(bad), "--db", str(heldout_db[0]), "--json")
    assert proc.returncode == 2
    assert "broken.wav" in proc.stderr and "Traceback" not in proc.stderr
