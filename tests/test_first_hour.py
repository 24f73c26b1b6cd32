"""The first hour with the suite, through the command line: a file needs no ``name``, defaults fit the
cell, unknown keys get the suite's name for them, contradictions are shown in units, the noise density's
meaning is stated, and the progress line counts towards a total and stays on screen.

Expected values by hand: C = 149.7 pF with g_L = 10 nS gives tau_m = C/g_L = 14.97 ms; sigma = 2 pA s^0.5
at dt = 0.1 ms is 2e-12 / sqrt(1e-4) = 200 pA per sample, and on the textbook membrane (R = 100 MOhm,
tau_m = 20 ms) R sigma / sqrt(2 tau_m) = 1e8 * 2e-12 / sqrt(0.04) = 1 mV.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from comparisons.cli import main
from comparisons.config import load_comparison
from conftest import TEXTBOOK_NEURON, small_sections

ROOT = Path(__file__).resolve().parent.parent

NEURON = TEXTBOOK_NEURON


def write(tmp_path: Path, text: str, name: str = "my_cell.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(args, capsys) -> tuple[int, str]:
    status = main(args)
    return status, capsys.readouterr().err


def test_name_defaults_to_the_file_name(tmp_path, capsys):
    source = write(tmp_path, NEURON + small_sections(backends=["reference"]))
    out = tmp_path / "out"
    status, err = run_cli(["run", str(source), "--out", str(out)], capsys)
    assert status == 0, err
    assert load_comparison(source).spec.name == "my_cell"
    assert "<title>my_cell" in (out / "report.html").read_text(encoding="utf-8")
    assert err.startswith("my_cell: ")


def test_a_written_name_is_still_checked(tmp_path, capsys):
    source = write(tmp_path, 'name = ""\n' + NEURON)
    status, err = run_cli(["run", str(source), "--out", str(tmp_path / "out")], capsys)
    assert status == 2 and "name: expected a non-empty string" in err


def test_refractory_period_off_the_default_grids_gets_fitting_defaults(tmp_path, capsys):
    """t_ref = 1.5 ms is 3.75 steps of the default 0.4 ms convergence dt: the defaults must fit the cell,
    not refuse a value the user never wrote."""
    source = write(tmp_path, NEURON.replace('t_ref = "2 ms"', 't_ref = "1.5 ms"'))
    c = load_comparison(source)
    for dt in (c.dt,) + c.convergence.dts:
        steps = c.spec.t_ref / dt
        assert abs(steps - round(steps)) < 1e-9, dt
        assert abs(c.convergence.duration / dt - round(c.convergence.duration / dt)) < 1e-6, dt
    assert max(c.convergence.dts) == pytest.approx(1e-4)  # 0.4 ms / 4: the largest that divides 1.5 ms
    # an error names what the user wrote, not a default
    bad = write(tmp_path, NEURON.replace('t_ref = "2 ms"', 't_ref = "1.5 ms"')
                + '[convergence]\ndt = ["0.4 ms", "0.1 ms", "0.05 ms"]\n', "bad.toml")
    status, err = run_cli(["run", str(bad), "--out", str(tmp_path / "out")], capsys)
    assert status == 2
    assert "convergence.dt[0]" in err and 'got "0.4 ms"' in err and "default" not in err


@pytest.mark.parametrize("key, suggestion", [("C_m", "C"), ("Cm", "C"), ("tau_ref", "t_ref"),
                                             ("V_rest", "E_L"), ("tau_rc", "tau_m")])
def test_other_simulators_key_names_get_a_suggestion(tmp_path, capsys, key, suggestion):
    source = write(tmp_path, NEURON + f'{key} = "1 ms"\n')
    status, err = run_cli(["run", str(source), "--out", str(tmp_path / "out")], capsys)
    assert status == 2
    assert f'neuron.{key}: unknown key (did you mean "{suggestion}"?)' in err


def test_contradictory_membrane_is_shown_in_units(tmp_path, capsys):
    text = NEURON.replace('R = "100 Mohm"', 'C = "149.7 pF"\ng_L = "10 nS"')
    status, err = run_cli(["run", str(write(tmp_path, text)), "--out", str(tmp_path / "out")], capsys)
    assert status == 2
    assert "neuron.tau_m: contradicts the other membrane values" in err
    assert "14.97 ms" in err and "0.01497" not in err


def test_noise_density_is_explained_in_readme_and_report(tmp_path, capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "per sample" in readme and "sigma / sqrt(dt)" in readme
    from reports.html import noise_rows
    source = write(tmp_path, NEURON.replace('t_ref = "2 ms"', 't_ref = "2 ms"\nsigma = "2 pA*s**0.5"')
                   + small_sections(backends=["reference"], duration="100 ms", fi_num=3, fi_duration="100 ms"))
    rows = dict(noise_rows(load_comparison(source)))
    assert rows["standard deviation of the input per sample (dt 0.1 ms)"] == "200 pA"
    assert rows["free-membrane standard deviation of V"] == "1 mV"
    out = tmp_path / "out"
    status, err = run_cli(["run", str(source), "--out", str(out), "--quiet"], capsys)
    assert status == 0, err
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="noise"' in page
    assert "standard deviation of the input per sample (dt 0.1 ms)</th><td class=\"num\">200 pA" in page
    assert "free-membrane standard deviation of V</th><td class=\"num\">1 mV" in page


def test_progress_bar_counts_to_a_total_and_stays(tmp_path):
    """On a terminal (a pseudo-terminal here) the progress line shows runs done of a total and the time
    left, and its last state is still on screen after the summary; off when stderr is not a terminal."""
    source = write(tmp_path, NEURON + small_sections(backends=["reference"], duration="100 ms", fi_num=3,
                                                      fi_duration="100 ms"))
    args = [sys.executable, "-m", "comparisons", "run", str(source), "--out", str(tmp_path / "out")]
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # a 120-column terminal
    proc = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary)
    os.close(secondary)
    chunks = []
    while True:
        ready, _, _ = select.select([primary], [], [], 120)
        if not ready:
            break
        try:
            data = os.read(primary, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    assert proc.wait(timeout=120) == 0
    text = b"".join(chunks).decode("utf-8", "replace")
    assert "5/5 runs" in text  # 1 backend x (stimuli + f-I + 3 convergence dts)
    assert "<00:00]" in text  # elapsed<time left
    lines = text.replace("\r\n", "\n").split("\n")
    summary = next(i for i, line in enumerate(lines) if line.startswith("my_cell: "))
    bar = lines[summary - 1].rsplit("\r", 1)[-1]  # what the terminal shows on the line above the summary
    assert "5/5 runs" in bar  # the bar's last state stays on screen
    quiet = subprocess.run(args + ["--force"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and "runs" not in quiet.stderr  # stderr is a pipe: no bar
