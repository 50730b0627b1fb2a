"""The GPU run (benchmarks/gpu_run.sh) rehearsed on the CPU: the same script, every part of it
that a CPU can run (the fused kernels in Triton's interpreter, tiny sizes, one repeat), so
that it cannot fail on a typo when a GPU's minutes count. No timing is asserted."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))

from benchmarks import gpu_run  # noqa: E402

pytest.importorskip("triton")


def test_the_dry_run_runs_every_part_and_writes_its_files(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("TRITON_INTERPRET", None)   # the script sets it itself for --dry-run
    result = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_run.sh"), str(tmp_path),
                             "--dry-run"], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log = (tmp_path / "gpu_run.log").read_text()
    assert log == result.stdout and "== summary" in log
    [report_path] = tmp_path.glob("gpu_run_cpu_*.json")
    [steps_path] = tmp_path.glob("optim_step_cpu_*.json")
    report, steps = json.loads(report_path.read_text()), json.loads(steps_path.read_text())
    assert report["errors"] == {} and report["dry_run"]
    assert report["checks"] and all(c["passed"] for c in report["checks"])
    assert all(isinstance(seconds, float) for seconds in report["sections"].values())
    paths = {(r["optimizer"], r["library"], r["path"]) for r in steps["rows"]}
    for name in ("SGD momentum", "Adam", "AdamW", "RMSprop"):
        assert {(name, "ddlopt", "fused"), (name, "ddlopt", "fused, 4-byte loads"),
                (name, "torch.optim", "for-loop"), (name, "torch.optim", "foreach")} <= paths
    assert {(r["parameters"], r["tensors"]) for r in steps["rows"]} == set(
        gpu_run.DRY_SIZES.values())
    assert len(report["configs"]) == len(gpu_run.CONFIGS) * len(gpu_run.CONFIG_ROLES)
    assert len(report["targets"]) == len(gpu_run.targets(gpu_run.SIZES))


def row(optimizer, size, library, path, ms, times_floor):
    return dict(optimizer=optimizer, parameters=size[0], tensors=size[1], library=library,
                path=path, ms=ms, times_floor=times_floor)


def test_the_targets_are_judged_from_the_rows():
    sizes = gpu_run.SIZES
    large, many, small = sizes["large, few tensors"], sizes["large, many tensors"], sizes["small"]
    rows = [row("Adam", large, "ddlopt", "fused", 2.0, 1.05),
            row("Adam", many, "ddlopt", "fused", 1.0, 1.2),
            row("Adam", many, "torch.optim", "fused", 1.6, 1.9),
            row("Adam", small, "ddlopt", "fused, CUDA graph", 0.031, 4.0)]
    verdicts = {(v["target"], v["parameters"]): v for v in gpu_run.judge(rows, sizes)}
    assert verdicts["ddlopt fused Adam / floor", large[0]]["met"] is True
    assert verdicts["ddlopt fused Adam / floor", many[0]]["met"] is False
    assert verdicts["ddlopt fused Adam / floor", sizes["medium"][0]]["met"] is None
    speedup = verdicts["torch fused Adam / ddlopt fused Adam", many[0]]
    assert speedup["value"] == 1.6 and speedup["met"] is True
    graph = verdicts["ddlopt Adam, CUDA graph, us per step", small[0]]
    assert graph["value"] == 31.0 and graph["met"] is False


def test_without_a_gpu_the_real_run_says_how_to_rehearse(tmp_path):
    if __import__("torch").cuda.is_available():
        pytest.skip("a GPU is here")
    result = subprocess.run([sys.executable, "-m", "benchmarks.gpu_run", "--out", str(tmp_path)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode != 0 and "--dry-run" in result.stderr
