"""The Numba cache folder follows the source of every kernel module (rlgo/__init__.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import rlgo
from rlgo import kernel_cache_dir

ROOT = Path(__file__).resolve().parents[1]


def test_the_cache_folder_changes_with_any_kernel_module_and_only_with_them(tmp_path):
    package = tmp_path / "pkg"
    (package / "go").mkdir(parents=True)
    (package / "go" / "kernels.py").write_text("from numba import njit\n@njit(cache=True)\ndef f():\n    return 1\n")
    (package / "commands.py").write_text("HELP = 'plain Python'\n")
    first = kernel_cache_dir(package, tmp_path / "cache")
    assert first.parent == tmp_path / "cache" and first.name.startswith("numba-")
    (package / "commands.py").write_text("HELP = 'edited'\n")
    assert kernel_cache_dir(package, tmp_path / "cache") == first
    (package / "go" / "kernels.py").write_text("from numba import njit\n@njit(cache=True)\ndef f():\n    return 2\n")
    assert kernel_cache_dir(package, tmp_path / "cache") != first


def test_a_kernel_calling_a_changed_function_of_another_file_is_compiled_again(tmp_path):
    """Numba alone would load caller() from its cache and return the callee's old value."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "callee.py").write_text("from numba import njit\n@njit(cache=True)\ndef callee():\n    return 1\n")
    (package / "caller.py").write_text("from numba import njit\nfrom pkg.callee import callee\n"
                                       "@njit(cache=True)\ndef caller():\n    return callee()\n")
    script = textwrap.dedent(f"""
        import os, sys
        from pathlib import Path
        from rlgo import kernel_cache_dir
        os.environ["NUMBA_CACHE_DIR"] = str(kernel_cache_dir(Path({str(package)!r}), Path({str(tmp_path / 'cache')!r})))
        sys.path.insert(0, {str(tmp_path)!r})
        from pkg.caller import caller
        print(caller())
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run() -> str:
        return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                              check=True).stdout.strip()

    assert run() == "1"
    (package / "callee.py").write_text("from numba import njit\n@njit(cache=True)\ndef callee():\n    return 2\n")
    assert run() == "2"


def _cache_dir_after_import(env: dict) -> str:
    code = "import os, rlgo; print(os.environ.get('NUMBA_CACHE_DIR', ''))"
    base = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**base, "PYTHONPATH": str(ROOT), **env}).stdout.strip()


def test_importing_rlgo_sets_the_folder_for_worker_processes_keeps_a_few_and_respects_the_users(tmp_path):
    old = [tmp_path / "rlgo" / f"numba-old{i}" for i in range(rlgo.KEPT_CACHES + 2)]
    for i, folder in enumerate(old):
        folder.mkdir(parents=True)
        os.utime(folder, (1000 + i, 1000 + i))
    chosen = _cache_dir_after_import({"XDG_CACHE_HOME": str(tmp_path)})
    assert chosen == str(kernel_cache_dir(base=tmp_path / "rlgo"))
    kept = sorted(p.name for p in (tmp_path / "rlgo").iterdir())
    assert kept == sorted([Path(chosen).name] + [p.name for p in old[-(rlgo.KEPT_CACHES - 1):]])
    assert _cache_dir_after_import({"NUMBA_CACHE_DIR": str(tmp_path / "mine")}) == str(tmp_path / "mine")
