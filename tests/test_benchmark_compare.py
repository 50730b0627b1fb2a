"""`python -m benchmarks.compare` runs end to end and writes every run (a one-epoch, one-seed
smoke run: the full study takes minutes and its figures are in benchmarks/RESULTS.md)."""

import json
import subprocess
import sys

from conftest import ROOT


def test_the_comparison_script_prints_its_tables_and_writes_every_run(tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks.compare", "--epochs", "1", "--seeds", "1",
                             "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            check=True)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("digits MLP 64-64-10 (ReLU), batch 32, 1 epochs, seeds [0], 80 runs")
    assert lines[2].startswith("| optimizer | lr | best val_accuracy |") and len(lines) == 2 + 10 + 1 + 11
    saved = json.loads(out.read_text())
    assert len(saved["rows"]) == 8 * 10 and saved["epochs"] == 1
    assert {r["optimizer"] for r in saved["rows"]} == {"SGD", "momentum", "Nesterov", "Adagrad", "RMSprop",
                                                       "Adam", "AdamW", "NAdam"}
    assert all(len(r["curve"]) == (0 if r["diverged"] else 1) for r in saved["rows"])
