"""The pure parts of ``make bench-stt``: /proc parsing, rates, the ratio and the table
(no timing asserted: the bench itself is not a test)."""

from __future__ import annotations

from hotline.bench.stt import Run, Worker, proc_cpu_seconds, proc_status_mb, ratio, table

STAT = ("4242 (python -m x) S 1 4242 4242 0 -1 4194304 100 0 0 0 "
        "250 50 0 0 20 0 3 0 100 0 0")
STATUS = "Name:\tpython\nVmHWM:\t  614400 kB\nVmRSS:\t  512000 kB\nThreads:\t3\n"


def run(name: str, *, audio: float, wall: float, cpus: list[float], host: float = 0.0) -> Run:
    workers = [Worker(pid=i, cpu_seconds=c, rss_mb=500.0, peak_rss_mb=600.0)
               for i, c in enumerate(cpus)]
    return Run(name=name, audio_seconds=audio, wall_seconds=wall, workers=workers,
               host_cpu_seconds=host, jobs=8)


def test_proc_stat_gives_user_plus_system_seconds_even_with_spaces_in_the_name() -> None:
    assert proc_cpu_seconds(STAT, 100) == 3.0


def test_proc_status_gives_megabytes_and_zero_for_a_missing_key() -> None:
    assert proc_status_mb(STATUS, "VmRSS") == 500.0
    assert proc_status_mb(STATUS, "VmHWM") == 600.0
    assert proc_status_mb(STATUS, "VmSwap") == 0.0


def test_rates_count_the_host_process_and_the_ratio_is_ours_over_direct() -> None:
    ours = run("ours", audio=240, wall=60, cpus=[59, 59], host=2)
    direct = run("direct", audio=240, wall=64, cpus=[60, 60])

    assert (ours.cpu_seconds, ours.per_cpu, ours.per_wall) == (120, 2.0, 4.0)
    assert ratio(ours, direct) == (1.0, 64 / 60)


def test_the_table_has_one_row_per_path_and_says_whether_the_target_is_met() -> None:
    ours = run("ours", audio=240, wall=60, cpus=[70, 70])
    direct = run("direct", audio=240, wall=60, cpus=[60, 60])

    lines = table(ours, direct).splitlines()

    assert lines[2] == "| ours | 8 | 2 | 240.0 | 60.0 | 140.0 (0.0) | 1.71 | 4.00 | " \
                       "500 (600), 500 (600) |"
    assert lines[3].startswith("| direct | 8 | 2 | 240.0 | 60.0 | 120.0 (0.0) | 2.00 |")
    assert lines[-1] == ("ratio ours / direct: 0.857 per CPU second (target ≥ 0.95: NOT met), "
                         "1.000 per wall second")
    assert "target ≥ 0.95: met" in table(direct, direct)


def test_given_no_cpu_time_then_rates_are_zero_not_an_error() -> None:
    empty = run("empty", audio=0, wall=0, cpus=[])
    assert (empty.per_cpu, empty.per_wall, ratio(empty, empty)) == (0.0, 0.0, (0.0, 0.0))
