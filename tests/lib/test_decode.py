"""decode_file/probe: uploads in every common format become 16 kHz mono PCM16; the rest is refused."""

from __future__ import annotations

import io
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from speechsite.lib.audio import read_wav
from speechsite.lib.decode import AudioFileError, DecodedAudio, decode_file, iter_pcm_chunks, probe
from tests.support.audio_files import FOX, encode, has_encoder, long_wav, video_encoder, video_without_audio

FOX_PCM, FOX_RATE = read_wav(FOX)
FOX_SECONDS = len(FOX_PCM) / 2 / FOX_RATE
PADDING = 0.08  # codec priming/padding (aac adds ~43 ms, mp3/opus a few ms)


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def envelope(pcm: bytes, rate: int = 16000, window: float = 0.02) -> np.ndarray:
    x = samples(pcm)
    n = int(rate * window)
    x = x[: len(x) // n * n].reshape(-1, n)
    return np.sqrt((x**2).mean(axis=1))


def envelope_match(decoded: bytes, original: bytes = FOX_PCM) -> float:
    """Best correlation of 20 ms loudness envelopes over small shifts (codecs delay the audio)."""
    a, b = envelope(decoded), envelope(original)
    best = -1.0
    for shift in range(4):
        n = min(len(a) - shift, len(b))
        best = max(best, float(np.corrcoef(a[shift : shift + n], b[:n])[0, 1]))
    return best


def assert_sounds_like_fox(decoded: DecodedAudio) -> None:
    assert decoded.sample_rate == 16000
    assert len(decoded.pcm) % 2 == 0
    assert abs(decoded.duration - FOX_SECONDS) <= PADDING
    assert decoded.duration == pytest.approx(len(decoded.pcm) / 2 / 16000)
    rms_ratio = np.sqrt((samples(decoded.pcm) ** 2).mean() / (samples(FOX_PCM) ** 2).mean())
    assert 0.7 < rms_ratio < 1.3
    assert envelope_match(decoded.pcm) > 0.9


@pytest.fixture(scope="session", autouse=True)
def warm_engine():
    """Decoding needs no speech engine; skip starting one (conftest's autouse) for this module."""
    yield


@pytest.fixture
def fox_mp3(tmp_path: Path) -> Path:
    return encode(FOX, tmp_path / "fox.mp3")


# --- formats ----------------------------------------------------------------------------------


def test_it_decodes_a_wav_unchanged():
    decoded = decode_file(FOX, max_seconds=60)
    assert decoded.pcm == FOX_PCM
    assert decoded.source_format == "wav"


def test_it_decodes_an_mp3_to_16k_mono(fox_mp3: Path):
    decoded = decode_file(fox_mp3, max_seconds=60)
    assert_sounds_like_fox(decoded)
    assert decoded.source_format == "mp3"


@pytest.mark.parametrize(
    ("name", "kwargs", "label"),
    [
        ("fox.flac", {}, "flac"),
        ("fox.ogg", {}, "ogg/opus"),
        ("fox.webm", {}, "webm/opus"),
        ("fox.m4a", {}, "mp4/aac"),
        ("stereo.mp3", {"rate": 44100, "channels": 2}, "mp3"),
    ],
)
def test_it_decodes_compressed_formats_to_16k_mono(tmp_path: Path, name: str, kwargs: dict, label: str):
    decoded = decode_file(encode(FOX, tmp_path / name, **kwargs), max_seconds=60)
    assert_sounds_like_fox(decoded)
    assert decoded.source_format == label


def test_it_decodes_flac_losslessly(tmp_path: Path):
    assert decode_file(encode(FOX, tmp_path / "fox.flac"), max_seconds=60).pcm == FOX_PCM


@pytest.mark.skipif(not has_encoder("vorbis"), reason="this PyAV build has no vorbis encoder")
def test_it_decodes_ogg_vorbis(tmp_path: Path):
    decoded = decode_file(encode(FOX, tmp_path / "fox.ogg", codec="vorbis"), max_seconds=60)
    assert_sounds_like_fox(decoded)
    assert decoded.source_format == "ogg/vorbis"


def test_it_downmixes_and_resamples_a_44k_stereo_wav(tmp_path: Path):
    decoded = decode_file(encode(FOX, tmp_path / "fox44.wav", rate=44100, channels=2), max_seconds=60)
    assert_sounds_like_fox(decoded)
    n = min(len(decoded.pcm), len(FOX_PCM)) // 2
    assert np.corrcoef(samples(decoded.pcm)[:n], samples(FOX_PCM)[:n])[0, 1] > 0.99  # no shift, no distortion


def test_it_decodes_to_another_sample_rate(fox_mp3: Path):
    decoded = decode_file(fox_mp3, sample_rate=8000, max_seconds=60)
    assert decoded.sample_rate == 8000
    assert abs(decoded.duration - FOX_SECONDS) <= PADDING
    assert len(decoded.pcm) == pytest.approx(FOX_SECONDS * 8000 * 2, rel=0.03)


def test_it_decodes_a_webm_without_a_duration_like_mediarecorder_makes(tmp_path: Path):
    live = encode(FOX, tmp_path / "live.webm", options={"live": "1"})
    assert probe(live, max_seconds=60) == 0.0
    assert_sounds_like_fox(decode_file(live, max_seconds=60))


def test_it_follows_a_change_of_rate_and_channels_midway(tmp_path: Path, fox_mp3: Path):
    # Concatenated mp3s are common (joined voice notes); the resampler must be rebuilt, not crash.
    joined = tmp_path / "joined.mp3"
    joined.write_bytes(fox_mp3.read_bytes() + encode(FOX, tmp_path / "b.mp3", rate=44100, channels=2).read_bytes())
    decoded = decode_file(joined, max_seconds=60)
    assert abs(decoded.duration - 2 * FOX_SECONDS) <= 2 * PADDING
    second = len(decoded.pcm) // 4 * 2  # the second file starts about halfway, on a sample boundary
    assert envelope_match(decoded.pcm[second:], FOX_PCM) > 0.9


def test_it_decodes_silence(tmp_path: Path):
    silent = long_wav(tmp_path / "silent.wav", 1.0, source=FOX.with_name("silence.wav"))
    decoded = decode_file(encode(silent, tmp_path / "silent.mp3"), max_seconds=60)
    assert abs(decoded.duration - 1.0) <= PADDING
    assert np.abs(samples(decoded.pcm)).max() < 50


# --- sources ----------------------------------------------------------------------------------


def test_it_reads_an_open_file_from_its_start(fox_mp3: Path):
    with fox_mp3.open("rb") as file:
        file.read(100)
        decoded = decode_file(file, max_seconds=60)
        assert not file.closed  # the caller's file stays the caller's
    assert decoded.pcm == decode_file(fox_mp3, max_seconds=60).pcm


class Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_it_reads_an_unseekable_stream(tmp_path: Path):
    m4a = encode(FOX, tmp_path / "fox.m4a")  # mp4 needs seeking, so this one is buffered
    assert_sounds_like_fox(decode_file(Unseekable(m4a.read_bytes()), max_seconds=60))


def test_it_is_safe_to_call_from_several_threads_at_once(tmp_path: Path, fox_mp3: Path):
    files = [fox_mp3, encode(FOX, tmp_path / "fox.ogg"), encode(FOX, tmp_path / "fox.m4a"), FOX] * 2
    expected = [decode_file(f, max_seconds=60).pcm for f in files]
    with ThreadPoolExecutor(max_workers=len(files)) as pool:
        results = list(pool.map(lambda f: decode_file(f, max_seconds=60).pcm, files))
    assert results == expected


# --- not audio --------------------------------------------------------------------------------


def assert_not_audio(source) -> AudioFileError:
    with pytest.raises(AudioFileError) as err:
        decode_file(source, max_seconds=60)
    assert err.value.code == "not_audio"
    assert err.value.message.startswith("This file is not audio we can read")
    with pytest.raises(AudioFileError):
        probe(source, max_seconds=60)
    return err.value


def test_it_rejects_a_text_file_as_not_audio(tmp_path: Path):
    text = tmp_path / "notes.txt"
    text.write_text("The quick brown fox jumps over the lazy dog.\n" * 20)
    assert_not_audio(text)


def test_it_rejects_a_text_file_named_like_audio(tmp_path: Path):
    text = tmp_path / "notes.mp3"
    text.write_text("not really an mp3\n")
    assert_not_audio(text)


def test_it_rejects_a_png_as_not_audio(tmp_path: Path):
    import av

    png = tmp_path / "picture.png"
    with av.open(str(png), "w", format="image2") as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "rgb24"
        out.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")))
        out.mux(stream.encode(None))
    assert_not_audio(png)


def test_it_rejects_a_pdf_as_not_audio(tmp_path: Path):
    pdf = tmp_path / "homework.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    assert_not_audio(pdf)


def test_it_rejects_random_bytes_as_not_audio():
    assert_not_audio(io.BytesIO(np.random.default_rng(7).bytes(64_000)))


def test_it_rejects_a_zero_byte_file_as_not_audio(tmp_path: Path):
    empty = tmp_path / "empty.wav"
    empty.touch()
    assert "empty" in assert_not_audio(empty).message


def test_it_refuses_a_playlist_that_points_at_other_files_on_the_server(tmp_path: Path, fox_mp3: Path):
    # ffmpeg would happily "decode" files a playlist names; uploads must only ever read themselves.
    playlist = tmp_path / "upload.m3u8"
    playlist.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3,\n{fox_mp3}\n#EXTINF:3,\nfox.mp3\n#EXT-X-ENDLIST\n"
    )
    assert_not_audio(playlist)
    concat = tmp_path / "upload.ffconcat"
    concat.write_text("ffconcat version 1.0\nfile fox.mp3\n")
    assert_not_audio(concat)


@pytest.mark.skipif(video_encoder() is None, reason="this PyAV build has no video encoder (mpeg4/libx264/mjpeg)")
def test_it_rejects_a_video_without_an_audio_track(tmp_path: Path):
    video = video_without_audio(tmp_path / "clip.mp4")
    with pytest.raises(AudioFileError) as err:
        decode_file(video, max_seconds=60)
    assert err.value.code == "no_audio_stream"
    assert "no sound" in err.value.message
    with pytest.raises(AudioFileError, match="no sound"):
        probe(video, max_seconds=60)


def test_it_reports_a_wav_with_no_samples_as_empty_audio(tmp_path: Path):
    empty = long_wav(tmp_path / "empty.wav", 0)
    with pytest.raises(AudioFileError) as err:
        decode_file(empty, max_seconds=60)
    assert err.value.code == "empty_audio"


# --- damaged files ----------------------------------------------------------------------------


def test_it_decodes_what_there_is_of_a_truncated_mp3(tmp_path: Path, fox_mp3: Path):
    half = tmp_path / "half.mp3"
    half.write_bytes(fox_mp3.read_bytes()[: fox_mp3.stat().st_size // 2])
    decoded = decode_file(half, max_seconds=60)
    assert 0.3 * FOX_SECONDS < decoded.duration < 0.7 * FOX_SECONDS
    assert envelope_match(decoded.pcm, FOX_PCM[: len(decoded.pcm)]) > 0.9


def test_it_skips_a_corrupt_stretch_in_an_mp3(tmp_path: Path, fox_mp3: Path):
    data = bytearray(fox_mp3.read_bytes())
    data[len(data) // 4 : len(data) // 2] = np.random.default_rng(3).bytes(len(data) // 2 - len(data) // 4)
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(bytes(data))
    decoded = decode_file(corrupt, max_seconds=60)
    assert 0.2 * FOX_SECONDS < decoded.duration < FOX_SECONDS + PADDING


def test_it_rejects_an_mp3_whose_frames_are_all_garbage(tmp_path: Path, fox_mp3: Path):
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(fox_mp3.read_bytes()[:333] + np.random.default_rng(5).bytes(20_000))  # ID3 + Info frame only
    with pytest.raises(AudioFileError) as err:
        decode_file(junk, max_seconds=60)
    assert err.value.code in ("unreadable", "not_audio")


def wav_header(format_tag: int, n_bytes: int) -> bytes:
    fmt = struct.pack("<HHIIHH", format_tag, 1, 16000, 32000, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + n_bytes)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", n_bytes)
    )


def test_it_reports_audio_that_fails_to_decode_as_unreadable(tmp_path: Path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(wav_header(0x55, 20_000) + np.random.default_rng(0).bytes(20_000))  # "mp3 inside" but garbage
    with pytest.raises(AudioFileError) as err:
        decode_file(bad, max_seconds=60)
    assert err.value.code == "unreadable"
    assert "damaged" in err.value.message


def test_it_rejects_audio_in_a_codec_ffmpeg_cannot_decode(tmp_path: Path):
    odd = tmp_path / "odd.wav"
    odd.write_bytes(wav_header(0x1234, 20_000) + bytes(20_000))
    assert "format we cannot decode" in assert_not_audio(odd).message


def test_it_reports_a_truncated_m4a_without_leaking_av_errors(tmp_path: Path):
    m4a = encode(FOX, tmp_path / "fox.m4a")
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(m4a.read_bytes()[:2000])
    try:
        decoded = decode_file(cut, max_seconds=60)
    except AudioFileError as err:
        assert err.code in ("unreadable", "not_audio", "empty_audio")
    else:
        assert decoded.duration <= FOX_SECONDS + PADDING


# --- limits -----------------------------------------------------------------------------------


class CountingReader(io.BufferedReader):
    """Counts how much of the file decoding actually read."""

    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer) -> int:
        n = super().readinto(buffer)
        self.bytes_read += n or 0
        return n


def test_probe_reports_the_container_duration(fox_mp3: Path):
    assert probe(fox_mp3, max_seconds=60) == pytest.approx(FOX_SECONDS, abs=PADDING)


def test_probe_rejects_a_file_over_the_duration_limit(tmp_path: Path):
    with pytest.raises(AudioFileError) as err:
        probe(long_wav(tmp_path / "long.wav", 90), max_seconds=60)
    assert err.value.code == "too_long"
    assert "1 min 30 s" in err.value.message and "1 min" in err.value.message


def test_it_refuses_a_long_file_without_decoding_it(tmp_path: Path):
    long = long_wav(tmp_path / "long.wav", 1800)  # the container says 30 min
    with CountingReader(io.FileIO(long)) as reader, pytest.raises(AudioFileError) as err:
        decode_file(reader, max_seconds=60)
    assert err.value.code == "too_long"
    assert reader.bytes_read < 200_000


def test_it_stops_at_the_duration_limit(tmp_path: Path):
    # A 6 s file that claims only a little over the limit is decoded, and decoding stops at 5 s.
    mp3 = encode(long_wav(tmp_path / "six.wav", 6), tmp_path / "six.mp3")
    calls: list[float] = []
    with pytest.raises(AudioFileError) as err:
        decode_file(mp3, max_seconds=5, progress=calls.append)
    assert err.value.code == "too_long"
    assert calls and 0.7 < calls[-1] < 0.95


def test_it_stops_at_the_duration_limit_when_the_container_reports_no_duration(tmp_path: Path):
    live = encode(long_wav(tmp_path / "long.wav", 40), tmp_path / "live.webm", options={"live": "1"})
    assert probe(live, max_seconds=5) == 0.0  # nothing to reject it on up front
    with CountingReader(io.FileIO(live)) as reader, pytest.raises(AudioFileError) as err:
        decode_file(reader, max_seconds=5)
    assert err.value.code == "too_long"
    assert reader.bytes_read < live.stat().st_size / 3


def test_it_accepts_a_file_just_under_the_duration_limit(fox_mp3: Path):
    assert decode_file(fox_mp3, max_seconds=FOX_SECONDS + PADDING).duration <= FOX_SECONDS + PADDING


def test_it_rejects_a_file_over_the_byte_limit_before_decoding(fox_mp3: Path):
    with pytest.raises(AudioFileError) as err:
        decode_file(fox_mp3, max_seconds=60, max_bytes=fox_mp3.stat().st_size - 1)
    assert err.value.code == "too_large"
    assert "limit" in err.value.message
    assert decode_file(fox_mp3, max_seconds=60, max_bytes=fox_mp3.stat().st_size).duration > 0


def test_it_applies_the_byte_limit_to_unseekable_streams(fox_mp3: Path):
    with pytest.raises(AudioFileError) as err:
        decode_file(Unseekable(fox_mp3.read_bytes()), max_seconds=60, max_bytes=1000)
    assert err.value.code == "too_large"


# --- progress and chunks ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["fox.mp3", "fox.m4a", "fox.webm"])
def test_it_reports_monotonic_progress_ending_at_one(tmp_path: Path, name: str):
    calls: list[float] = []
    thread_ids: set[int] = set()

    def progress(fraction: float) -> None:
        calls.append(fraction)
        thread_ids.add(threading.get_ident())

    decode_file(encode(FOX, tmp_path / name), max_seconds=60, progress=progress)
    assert len(calls) >= 5
    assert calls == sorted(calls)
    assert all(0.0 <= c <= 1.0 for c in calls)
    assert calls[-1] == 1.0 and calls.count(1.0) == 1
    assert thread_ids == {threading.get_ident()}


@pytest.mark.parametrize("error", [RuntimeError, ValueError])
def test_it_lets_the_progress_callback_abort_decoding(fox_mp3: Path, error: type[Exception]):
    def cancel(fraction: float) -> None:
        raise error("cancelled")

    with pytest.raises(error, match="cancelled"):
        decode_file(fox_mp3, max_seconds=60, progress=cancel)


def test_it_splits_pcm_into_even_sized_chunks():
    decoded = decode_file(FOX, max_seconds=60)
    chunks = list(iter_pcm_chunks(decoded, seconds=0.5))
    assert b"".join(chunks) == decoded.pcm
    assert all(len(c) % 2 == 0 for c in chunks)
    assert {len(c) for c in chunks[:-1]} == {16000}
    assert len(chunks) == 6


def test_it_chunks_odd_durations_into_whole_samples():
    decoded = DecodedAudio(pcm=b"\x01\x00" * 333 + b"\x02", sample_rate=1000, duration=0.333, source_format="wav")
    chunks = list(iter_pcm_chunks(decoded, seconds=0.0105))
    assert all(len(c) % 2 == 0 for c in chunks)
    assert b"".join(chunks) == b"\x01\x00" * 333
