"""Machine facts for `tinytorch doctor`: never crash, report None when unknown."""

from tinytorch.setup import system


def test_memory_info_parses_proc_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16384 kB\nMemFree:  1 kB\nMemAvailable:    8192 kB\n")
    info = system.memory_info(meminfo)
    assert (info.total_bytes, info.available_bytes) == (16384 * 1024, 8192 * 1024)


def test_memory_info_without_proc_meminfo(tmp_path):
    info = system.memory_info(tmp_path / "missing")
    assert info.available_bytes is None
    assert info.total_bytes is None or info.total_bytes > 0


def test_cpu_python_and_blas_info():
    cpu = system.cpu_info()
    assert cpu.logical_cores is None or cpu.logical_cores >= 1
    assert cpu.usable_cores is None or cpu.usable_cores >= 1
    assert system.python_info()["version"].count(".") == 2
    assert system.blas_info()["name"]
