"""`python -m benchmarks.compare` runs end to end and writes every trial (a one-epoch,
two-trial, two-seed smoke run: the full study takes minutes and its figures are in
benchmarks/RESULTS.md)."""

import json
import subprocess
import sys

from conftest import ROOT


def test_the_comparison_script_prints_its_tables_and_writes_every_trial(tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks.compare", "--epochs", "1",
                             "--trials", "2", "--seeds", "2", "--tune-seeds", "1", "--n-train", "100",
                             "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, check=True)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("## digits, 100 training images")
    assert lines[2] == "| optimizer | chosen setting | test loss | test accuracy |"
    assert [line.split(" | ")[0] for line in lines[4:8]] == ["| SGD", "| momentum", "| Adam",
                                                              "| AdamW"]
    saved = json.loads(out.read_text())
    assert saved["epochs"] == 1 and saved["seeds"] == [1, 2] and "machine" in saved
    results = saved["results"]["100"]
    assert set(results) == {"SGD", "momentum", "Adam", "AdamW"}
    assert all(len(r["trials"]) == 2 and len(r["test_accuracy"]) == 2 for r in results.values())
    assert set(results["Adam"]["chosen"]) == {"lr", "beta1"}
