"""Run `dupfix` from a given source tree: `python _run_from.py CODE_DIR ARGS...` (bench_live_state).

An editable install puts a meta path finder ahead of PYTHONPATH, so PYTHONPATH alone would run the
installed checkout whatever it names; this drops that finder and puts CODE_DIR first.
"""

from __future__ import annotations

import runpy
import sys

code = sys.argv[1]
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
sys.path.insert(0, code)
sys.argv = ["dupfix", *sys.argv[2:]]
runpy.run_module("dupfix_policy", run_name="__main__", alter_sys=True)
