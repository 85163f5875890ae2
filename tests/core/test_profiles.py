import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import companion


def test_profiles_grow_from_smoke_to_gpu():
    smoke, cpu, gpu = (companion.profile(n) for n in ("smoke", "cpu", "gpu"))
    assert smoke.n_train < cpu.n_train <= gpu.n_train
    assert smoke.epochs <= cpu.epochs <= gpu.epochs
    assert cpu.pick(smoke=1, cpu=2, gpu=3) == 2


def test_default_profile_is_cpu_and_env_overrides(monkeypatch):
    monkeypatch.delenv("COMPANION_PROFILE", raising=False)
    assert companion.profile().name == "cpu"  # a notebook run as it is: the committed numbers
    monkeypatch.setenv("COMPANION_PROFILE", "cpu")
    assert companion.profile().name == "cpu"
    assert companion.profile("gpu").name == "gpu"  # an explicit name beats the environment


def test_pytest_configuration_defaults_to_smoke_and_keeps_a_chosen_profile():
    conftest = Path(__file__).resolve().parents[2] / "conftest.py"
    run = "import os, runpy; runpy.run_path({!r}); print(os.environ['COMPANION_PROFILE'])"
    for env, expected in (({}, "smoke"), ({"COMPANION_PROFILE": "gpu"}, "gpu")):
        out = subprocess.run(
            [sys.executable, "-c", run.format(str(conftest))],
            env={k: v for k, v in os.environ.items() if k != "COMPANION_PROFILE"} | env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == expected


def test_unknown_profile_names_the_valid_ones():
    with pytest.raises(ValueError, match="smoke, cpu, gpu"):
        companion.profile("fast")


def test_seed_everything_makes_numpy_repeatable():
    companion.seed_everything(3)
    a = np.random.rand(4)
    companion.seed_everything(3)
    np.testing.assert_array_equal(a, np.random.rand(4))
    with pytest.raises(ValueError):
        companion.seed_everything(-1)


def test_record_rounds_stores_and_prints(capsys):
    companion.record("demo_accuracy", np.float32(0.123456))
    assert companion.recorded()["demo_accuracy"] == 0.1235
    assert "demo_accuracy = 0.1235" in capsys.readouterr().out
    companion.record("demo_error", 3.14159e-6)  # tiny values keep 3 significant digits, not 0.0
    assert companion.recorded()["demo_error"] == 3.14e-06
    with pytest.raises(ValueError):
        companion.record("bad name", 1)
    with pytest.raises(TypeError):
        companion.record("array", np.zeros(3))


def test_run_description_names_the_thread_setting_the_framework_reads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    assert companion.describe_run(companion.profile("smoke"))["threads"] == "1"
    # TensorFlow's kernels ignore OMP_NUM_THREADS: with TensorFlow loaded, one thread is TF's own
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow([]))
    assert companion.describe_run(companion.profile("smoke"))["threads"] == "default"
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "1")
    assert companion.describe_run(companion.profile("smoke"))["threads"] == "1"


def fake_tensorflow(gpus: list):
    """A stand-in ``tensorflow`` module whose ``tf.config`` lists ``gpus`` (names)."""
    tf = types.ModuleType("tensorflow")
    details = {name: {"device_name": f"NVIDIA {name}"} for name in gpus}
    tf.config = types.SimpleNamespace(
        list_physical_devices=lambda kind: list(gpus) if kind == "GPU" else [],
        experimental=types.SimpleNamespace(get_device_details=lambda gpu: details[gpu]),
    )
    return tf


def fake_torch(calls: list):
    """A stand-in ``torch`` module without CUDA that logs what ``seed_everything`` asks of it."""
    torch = types.ModuleType("torch")
    torch.manual_seed = lambda seed: calls.append(("seed", seed))
    torch.use_deterministic_algorithms = lambda on, warn_only: calls.append(("deterministic", on))
    torch.backends = types.SimpleNamespace(cudnn=types.SimpleNamespace(benchmark=None))
    torch.cuda = types.SimpleNamespace(is_available=lambda: False)
    return torch


def test_a_gpu_dry_run_keeps_the_gpu_choices_and_shrinks_only_the_compute(monkeypatch):
    monkeypatch.setenv("COMPANION_DRYRUN", "1")
    dry = companion.profile("gpu")
    assert dry.name == "gpu" and dry.dry and dry.epochs == 1
    assert dry.pick(smoke="fashion-mnist", cpu="fashion-mnist", gpu="stl10") == "stl10"
    assert dry.compute(smoke=1, cpu=25, gpu=100) == 1
    assert dry.compute(smoke=None, cpu=None, gpu=None, dry=2) == 2
    assert companion.profile("cpu").compute(smoke=1, cpu=25, gpu=100) == 25
    monkeypatch.setenv("COMPANION_DRYRUN", "0")
    full = companion.profile("gpu")
    assert not full.dry and full.epochs == 20 and full.compute(smoke=1, cpu=25, gpu=100) == 100
    monkeypatch.setenv("COMPANION_DRYRUN", "yes")
    with pytest.raises(ValueError, match="COMPANION_DRYRUN must be '1'"):
        companion.profile("gpu")
    with pytest.raises(ValueError, match="only the gpu profile has a dry run"):
        companion.Profile("cpu", 1, 1, 1, 1, 1, dry=True)


def test_the_gpu_profile_refuses_to_run_without_a_gpu_and_names_the_one_it_has(monkeypatch):
    monkeypatch.delenv("COMPANION_DRYRUN", raising=False)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow([]))
    with pytest.raises(RuntimeError, match="gpu profile needs a GPU, but tensorflow sees none"):
        companion.describe_run(companion.profile("gpu"))
    assert companion.describe_run(companion.profile("cpu"))["device"] == "cpu"
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow(["H200"]))
    info = companion.describe_run(companion.profile("gpu"))
    assert info["device"] == "GPU: NVIDIA H200" and info["deterministic"] is False
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow([]))
    monkeypatch.setenv("COMPANION_DRYRUN", "1")  # a dry run proves the code path on a CPU
    info = companion.describe_run(companion.profile("gpu"))
    assert info["device"] == "cpu" and "not a result" in info["dry_run"]


def test_seed_everything_asks_for_determinism_except_at_the_gpu_profile(monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "torch", fake_torch(calls))
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    monkeypatch.delenv("COMPANION_DRYRUN", raising=False)
    companion.profile("cpu")
    companion.seed_everything(1)
    assert calls == [("seed", 1), ("deterministic", True)]
    assert sys.modules["torch"].backends.cudnn.benchmark is False
    companion.profile("gpu")
    companion.seed_everything(2)
    assert calls[-1] == ("deterministic", False)
    assert sys.modules["torch"].backends.cudnn.benchmark is True
    companion.seed_everything(3, deterministic=True)  # asked for explicitly
    assert calls[-1] == ("deterministic", True)
    with pytest.raises(TypeError, match="deterministic must be True, False or None"):
        companion.seed_everything(3, deterministic="yes")


def test_resume_files_live_under_companion_runs_except_in_tests(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_RUNS", str(tmp_path / "runs"))
    path = companion.PROFILES["cpu"].resume_file("ch4-pretrain.pt")
    assert path == tmp_path / "runs" / "cpu" / "ch4-pretrain.pt" and path.parent.is_dir()
    assert companion.PROFILES["smoke"].resume_file("ch4-pretrain.pt") is None
    monkeypatch.setenv("COMPANION_DRYRUN", "1")
    assert companion.profile("gpu").resume_file("ch4-pretrain.pt") is None  # a dry run: a test
    monkeypatch.delenv("COMPANION_RUNS")
    monkeypatch.chdir(tmp_path)
    assert companion.PROFILES["gpu"].resume_file("x.npz") == Path("runs/gpu/x.npz")
