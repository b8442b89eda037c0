from __future__ import annotations

import wave

import numpy as np
import pytest

from speechsite.lib.audio import (
    AudioFrameError,
    StreamResampler,
    WavWriter,
    check_frame,
    check_sample_rate,
    mulaw_decode,
    mulaw_encode,
    pcm_seconds,
    read_wav,
    resample,
    to_base64,
    wav_header,
)
from tests.conftest import fixture_audio


def tone(rate: int, seconds: float, freq: float = 440.0) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * freq * t) * 8000).astype("<i2").tobytes()


def test_it_accepts_a_100_ms_frame():
    check_frame(b"\x00\x00" * 1600, 16000)


def test_it_rejects_odd_byte_frames():
    with pytest.raises(AudioFrameError) as err:
        check_frame(b"\x00\x01\x02", 16000)
    assert err.value.code == "odd_byte_count"
    assert "3 bytes" in err.value.message


def test_it_rejects_frames_over_one_second():
    with pytest.raises(AudioFrameError) as err:
        check_frame(b"\x00\x00" * 16001, 16000)
    assert err.value.code == "frame_too_large"


def test_it_measures_the_one_second_limit_at_the_stream_rate():
    check_frame(b"\x00\x00" * 48000, 48000)
    with pytest.raises(AudioFrameError):
        check_frame(b"\x00\x00" * 48000, 16000)


def test_it_rejects_empty_frames():
    with pytest.raises(AudioFrameError) as err:
        check_frame(b"", 16000)
    assert err.value.code == "empty_frame"


@pytest.mark.parametrize("rate", [12345, 0, -16000, "16000", 16000.0, True, None])
def test_it_rejects_unsupported_sample_rates(rate):
    with pytest.raises(AudioFrameError) as err:
        check_sample_rate(rate)
    assert err.value.code == "unsupported_sample_rate"


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_it_accepts_common_sample_rates(rate):
    assert check_sample_rate(rate) == rate


def test_it_counts_seconds_of_pcm():
    assert pcm_seconds(32000, 16000) == 1.0


def test_stream_resampling_matches_the_expected_length():
    resampler = StreamResampler(48000, 16000)
    source = tone(48000, 1.0)
    out = b"".join(resampler.process(source[i : i + 9600]) for i in range(0, len(source), 9600))
    out += resampler.process(b"", last=True)
    assert abs(len(out) // 2 - 16000) <= 2


def test_stream_resampling_keeps_the_tone():
    out = np.frombuffer(resample(tone(44100, 1.0, 500.0), 44100, 16000), dtype="<i2").astype(float)
    spectrum = np.abs(np.fft.rfft(out))
    peak_hz = np.argmax(spectrum) * 16000 / len(out)
    assert abs(peak_hz - 500) < 5


def test_resampling_at_the_same_rate_is_a_no_op():
    pcm = tone(16000, 0.1)
    assert StreamResampler(16000, 16000).process(pcm) is pcm
    assert resample(pcm, 16000, 16000) is pcm


def test_the_wav_writer_leaves_a_valid_file_after_every_chunk(tmp_path):
    path = tmp_path / "deep" / "rec.wav"
    writer = WavWriter(path, 16000)
    writer.write(b"\x01\x00" * 1600)
    # Not closed: a crash here must still leave a playable file with the chunk in it.
    with wave.open(str(path)) as wav:
        assert wav.getnframes() == 1600
        assert wav.getframerate() == 16000
    writer.write(b"\x02\x00" * 800)
    writer.close()
    assert read_wav(path) == (b"\x01\x00" * 1600 + b"\x02\x00" * 800, 16000)
    assert writer.seconds == pytest.approx(0.15)


def test_an_empty_recording_is_still_a_valid_wav(tmp_path):
    writer = WavWriter(tmp_path / "empty.wav", 16000)
    writer.close()
    writer.close()  # closing twice is harmless
    assert read_wav(tmp_path / "empty.wav") == (b"", 16000)


def test_fixture_audio_is_16_khz_mono():
    pcm, rate = read_wav(fixture_audio("fox_slt"))
    assert rate == 16000
    assert 2.5 < pcm_seconds(len(pcm), rate) < 3.5


def test_resampling_is_repeatable():
    """soxr would dither integer output; the same audio must give the same bytes every time."""
    source = tone(8000, 0.5)
    first = StreamResampler(8000, 16000)
    second = StreamResampler(8000, 16000)
    assert first.process(source) == second.process(source)
    assert resample(source, 8000, 16000) == resample(source, 8000, 16000)


def test_mulaw_matches_the_g711_reference():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop  # the stdlib's G.711, deprecated, used here only as the oracle

    pcm = np.arange(-32768, 32768, 7, dtype="<i2").tobytes()
    assert mulaw_encode(pcm) == audioop.lin2ulaw(pcm, 2)
    encoded = audioop.lin2ulaw(pcm, 2)
    assert mulaw_decode(encoded) == audioop.ulaw2lin(encoded, 2)


def test_mulaw_is_one_byte_per_sample():
    assert len(mulaw_encode(tone(8000, 0.1))) == 800


def test_base64_of_audio():
    assert to_base64(b"\x00\x01\x02") == "AAEC"


def test_the_wav_header_describes_mono_pcm16(tmp_path):
    pcm = tone(16000, 0.25)
    path = tmp_path / "h.wav"
    path.write_bytes(wav_header(16000, len(pcm)) + pcm)
    assert read_wav(path) == (pcm, 16000)
    assert len(wav_header(8000)) == 44
