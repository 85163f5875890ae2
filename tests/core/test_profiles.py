import sys
import types

import numpy as np
import pytest

import companion


def test_profiles_grow_from_smoke_to_gpu():
    smoke, cpu, gpu = (companion.profile(n) for n in ("smoke", "cpu", "gpu"))
    assert smoke.n_train < cpu.n_train <= gpu.n_train
    assert smoke.epochs <= cpu.epochs <= gpu.epochs
    assert cpu.pick(smoke=1, cpu=2, gpu=3) == 2


def test_default_profile_is_smoke_and_env_overrides(monkeypatch):
    monkeypatch.delenv("COMPANION_PROFILE", raising=False)
    assert companion.profile().name == "smoke"
    monkeypatch.setenv("COMPANION_PROFILE", "cpu")
    assert companion.profile().name == "cpu"
    assert companion.profile("gpu").name == "gpu"  # an explicit name beats the environment


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
    monkeypatch.setitem(sys.modules, "tensorflow", types.ModuleType("tensorflow"))
    assert companion.describe_run(companion.profile("smoke"))["threads"] == "default"
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "1")
    assert companion.describe_run(companion.profile("smoke"))["threads"] == "1"
