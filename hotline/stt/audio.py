"""WAV files read for recognition: header checks, then 16-bit mono PCM at the model's rate.

Telephone recordings are 8 kHz 16-bit mono (Asterisk MixMonitor); uploads may be 16 kHz,
stereo, 8/24/32-bit, or A-law/µ-law. All of them become 16-bit mono at the model's sample
rate, streamed in chunks so that a two-hour recording never sits in memory whole.

The RIFF header is read here, not by :mod:`wave`: we need the place and announced size of the
``data`` chunk to tell a truncated file from a whole one, and Python 3.11's ``wave`` refuses
WAVE_FORMAT_EXTENSIBLE headers (sox writes them for 24-bit audio).

Resampling uses ``audioop.ratecv`` (C, in the standard library up to Python 3.12): linear
interpolation between neighbouring samples, state carried from chunk to chunk, no
anti-aliasing filter. Upsampling 8 kHz telephone audio to 16 kHz adds nothing above 4 kHz but
attenuated images of the speech band, which a 16 kHz model tolerates; downsampling wideband
uploads may alias a little. (Vosk could also take 8 kHz itself: Kaldi's feature pipeline has
its own resampler; we feed the model's rate so that every input reaches it the same way.)
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from hotline.stt.errors import AudioError, SttError

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

PCM, IEEE_FLOAT, ALAW, MULAW, EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
ENCODINGS = {PCM: "pcm", ALAW: "alaw", MULAW: "ulaw"}
# A recorder that has not closed its file yet leaves these sizes in the header.
UNFINISHED_SIZES = (0, 0xFFFFFFFF)
# Sample rates we resample from: below, no speech band; above, no recorder we know of.
MIN_RATE, MAX_RATE = 4000, 192000


@dataclass(frozen=True)
class WavInfo:
    path: Path
    encoding: str  # pcm / alaw / ulaw
    rate: int
    channels: int
    width: int  # bytes per sample, one channel
    data_offset: int
    data_bytes: int  # whole frames only

    @property
    def frame_bytes(self) -> int:
        return self.width * self.channels

    @property
    def frames(self) -> int:
        return self.data_bytes // self.frame_bytes

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


def read_wav_info(path: Path) -> WavInfo:
    """Check ``path`` and say where its audio is.

    :class:`AudioError` names what is wrong with the file's content (retrying cannot help);
    a file that cannot be opened is a plain :class:`SttError` (it may come back).
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            return _parse_header(path, f, size)
    except OSError as exc:  # missing or unreadable now, maybe not later: worth a retry
        raise SttError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc


def _parse_header(path: Path, f: BinaryIO, size: int) -> WavInfo:
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        what = "an empty file" if size == 0 else "no RIFF/WAVE header"
        raise AudioError(str(path), f"not a WAV file ({what})")
    fmt: tuple[int, int, int, int, int] | None = None
    pos = 12
    while pos + 8 <= size:
        f.seek(pos)
        chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(path, f.read(min(chunk_size, 64)))
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioError(str(path), "the 'data' chunk comes before any 'fmt ' chunk")
            return _info(path, fmt, offset=body, announced=chunk_size, size=size)
        pos = body + chunk_size + (chunk_size & 1)
    if fmt is None:
        raise AudioError(str(path), "not a WAV file (no 'fmt ' chunk)")
    raise AudioError(str(path), "truncated: no 'data' chunk")


def _parse_fmt(path: Path, body: bytes) -> tuple[int, int, int, int, int]:
    if len(body) < 16:
        raise AudioError(str(path), "truncated 'fmt ' chunk")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack_from("<H", body, 24)[0]  # first bytes of the sub-format GUID
    return tag, channels, rate, block_align, bits


def _info(path: Path, fmt: tuple[int, int, int, int, int], *, offset: int, announced: int,
          size: int) -> WavInfo:
    tag, channels, rate, block_align, bits = fmt
    if tag not in ENCODINGS:
        kind = "floating-point samples" if tag == IEEE_FLOAT else f"format tag {tag}"
        raise AudioError(str(path), f"unsupported encoding ({kind}): PCM, A-law or µ-law only")
    if channels not in (1, 2):
        raise AudioError(str(path), f"{channels} channels: mono or stereo only")
    if rate <= 0:
        raise AudioError(str(path), "the header gives a sample rate of 0")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(str(path), f"unsupported sample rate {rate} Hz: "
                                    f"{MIN_RATE}–{MAX_RATE} Hz only")
    width = (bits + 7) // 8
    if width not in (1, 2, 3, 4) or (tag != PCM and width != 1):
        raise AudioError(str(path), f"unsupported sample size ({bits} bits)")
    if block_align and block_align != width * channels:
        raise AudioError(str(path), f"inconsistent header: block of {block_align} bytes for "
                                    f"{channels} channel(s) of {bits} bits")
    present = max(size - offset, 0)
    if announced in UNFINISHED_SIZES:
        data_bytes = present  # never finalised by its recorder: the audio runs to the end
    elif announced > present:
        raise AudioError(str(path), f"truncated: the header announces {announced} bytes of "
                                    f"audio, the file holds {present}")
    else:
        data_bytes = announced
    frame = width * channels
    return WavInfo(path=path, encoding=ENCODINGS[tag], rate=rate, channels=channels,
                   width=width, data_offset=offset, data_bytes=data_bytes - data_bytes % frame)


def pcm_chunks(info: WavInfo, *, rate: int, seconds: float = 1.0) -> Iterator[bytes]:
    """The audio as 16-bit mono at ``rate``, in chunks of about ``seconds`` of input."""
    frames_per_chunk = max(int(info.rate * seconds), 1)
    remaining = info.data_bytes
    state: tuple[int, tuple[tuple[int, int], ...]] | None = None
    try:
        with info.path.open("rb") as f:
            f.seek(info.data_offset)
            while remaining > 0:
                wanted = min(remaining, frames_per_chunk * info.frame_bytes)
                data = f.read(wanted)
                if len(data) < wanted:
                    raise AudioError(str(info.path), "the file became shorter while read")
                remaining -= wanted
                mono = to_mono16(data, info)
                if info.rate != rate:
                    mono, state = audioop.ratecv(mono, 2, 1, info.rate, rate, state)
                yield mono
    except OSError as exc:
        raise SttError(f"{info.path}: cannot read the file: {exc.strerror or exc}") from exc


def to_mono16(data: bytes, info: WavInfo) -> bytes:
    """Frames of ``info``'s format as 16-bit little-endian mono samples."""
    if info.encoding == "ulaw":
        data = audioop.ulaw2lin(data, 2)
    elif info.encoding == "alaw":
        data = audioop.alaw2lin(data, 2)
    elif info.width == 1:
        data = audioop.lin2lin(audioop.bias(data, 1, -128), 1, 2)  # 8-bit WAV is unsigned
    elif info.width != 2:
        data = audioop.lin2lin(data, info.width, 2)
    if info.channels == 2:
        data = audioop.tomono(data, 2, 0.5, 0.5)
    return data


def duration(seconds: float) -> str:
    """``seconds`` as H:MM:SS (a job's error names a recording's length this way)."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def is_silent(pcm: bytes, *, level: int) -> bool:
    """16-bit samples that never reach ``level`` (digital silence: a line on hold, muted)."""
    return not pcm or audioop.max(pcm, 2) < level


def read_pcm(path: Path, *, rate: int) -> bytes:
    """The whole file as 16-bit mono at ``rate`` (short audio: prompts' answers, tests)."""
    return b"".join(pcm_chunks(read_wav_info(path), rate=rate))
