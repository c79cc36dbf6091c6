"""Hostile and buggy plugin packages, built and installed as real distributions (with pip, as
tests/test_plugin_path.py does), for the isolation tests.

``install_all`` builds every package below in one pip call into one folder; ``site_with`` then
makes a folder holding only some of them (symlinks), to put on ``PYTHONPATH``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

CE_LOSS = '''
import torch.nn.functional as F


class Loss:
    """{summary}"""

    version = "1"
    paper = "{paper}"
    fidelity = "{fidelity}"
    hparams = {{}}

    def __call__(self, logits, targets):
        return F.cross_entropy(logits, targets)
'''

PACKAGES: dict[str, dict] = {
    # changes global state every later run in the same process would inherit
    "lossbench-dtype": {
        "module": "hostile_dtype",
        "entries": {"dtype_loss": "hostile_dtype:Loss"},
        "source": '''
            import os
            import torch
            import torch.nn.functional as F

            if os.environ.get("HOSTILE_PID_FILE"):
                with open(os.environ["HOSTILE_PID_FILE"], "a") as fh:
                    fh.write(f"{os.getpid()}\\n")
            torch.set_default_dtype(torch.float64)
            torch.manual_seed(1234)
            torch.set_num_threads(3)


            class Loss:
                """Cross-entropy from a package that changes torch's global state at import."""

                version = "1"
                hparams = {}

                def __call__(self, logits, targets):
                    return F.cross_entropy(logits, targets)
        ''',
    },
    "lossbench-exit": {
        "module": "hostile_exit",
        "entries": {"exit_loss": "hostile_exit:Loss"},
        "source": '''
            import os
            print("about to leave")
            os._exit(9)
        ''',
    },
    "lossbench-hang": {
        "module": "hostile_hang",
        "entries": {"hang_loss": "hostile_hang:Loss"},
        "source": '''
            import time
            time.sleep(3600)
        ''',
    },
    "lossbench-badcards": {
        "module": "badcards",
        "entries": {"nan_card": "badcards:NanCard", "int_suites": "badcards:IntSuites",
                    "unknown_suite": "badcards:UnknownSuite", "long_version": "badcards:Long",
                    "sane_card": "badcards:Sane"},
        "source": '''
            import torch.nn.functional as F


            class Sane:
                """A healthy loss packaged beside broken ones."""

                version = "1"
                hparams = {}

                def __call__(self, logits, targets):
                    return F.cross_entropy(logits, targets)


            class NanCard(Sane):
                hparams = {"gamma": float("nan")}

                def __init__(self, gamma=1.0):
                    pass


            class IntSuites(Sane):
                suites = 42


            class UnknownSuite(Sane):
                suites = ("standard", "no_such_suite")


            class Long(Sane):
                version = "9" * 100_000
        ''',
    },
    "lossbench-good": {
        "module": "goodloss",
        "entries": {"good_loss": "goodloss:Loss"},
        "source": CE_LOSS.format(summary="A healthy third-party loss.", paper="Nobody, 2024",
                                 fidelity="exact"),
    },
    # markup and terminal control sequences in every string of its card (and in its name)
    "lossbench-markup": {
        "module": "markup",
        "entries": {"x|y<script>": "markup:Loss"},
        "source": CE_LOSS.format(
            summary="x|y <script>alert(1)</script>",
            paper="[click](javascript:alert(1)) <img src=x onerror=alert(1)>",
            fidelity="approximate: a|b\\n# heading <b>bold</b>").replace(
                'version = "1"', 'version = "1|<b>v</b>\\x1b[2J"'),
    },
    # changes only torch's thread count at import
    "lossbench-threads": {
        "module": "hostile_threads",
        "entries": {"threads_loss": "hostile_threads:Loss"},
        "source": textwrap.dedent("""
            import os
            import torch

            if os.environ.get("HOSTILE_PID_FILE"):
                with open(os.environ["HOSTILE_PID_FILE"], "a") as fh:
                    fh.write(f"{os.getpid()}\\n")
            torch.set_num_threads(5)
        """) + CE_LOSS.format(summary="Cross-entropy; sets 5 torch threads at import.",
                             paper="", fidelity="exact"),
    },
    # two packages that register the same loss name, and one that reuses a built-in's name
    "lossbench-clash-a": {
        "module": "clash_a",
        "entries": {"clash_loss": "clash_a:Loss"},
        "source": CE_LOSS.format(summary="One of two losses named clash_loss.", paper="",
                                 fidelity="exact"),
    },
    "lossbench-clash-b": {
        "module": "clash_b",
        "entries": {"clash_loss": "clash_b:Loss"},
        "source": CE_LOSS.format(summary="The other loss named clash_loss.", paper="",
                                 fidelity="exact"),
    },
    "lossbench-shadow": {
        "module": "shadow",
        "entries": {"focal": "shadow:Loss"},
        "source": textwrap.dedent("""
            import os

            if os.environ.get("HOSTILE_PID_FILE"):
                with open(os.environ["HOSTILE_PID_FILE"], "a") as fh:
                    fh.write(f"{os.getpid()}\\n")
        """) + CE_LOSS.format(summary="Tries to replace the built-in focal loss.", paper="",
                             fidelity="exact"),
    },
    # reaches for the run's result pipe and sends a pickle whose loading runs a shell command
    "lossbench-pipe": {
        "module": "hostile_pipe",
        "entries": {"pipe_loss": "hostile_pipe:Loss"},
        "source": '''
            import gc
            import os
            from multiprocessing.connection import Connection

            import torch.nn.functional as F


            class Payload:
                """Unpickling this runs ``touch $HOSTILE_MARKER``."""

                def __init__(self, marker):
                    self.marker = marker

                def __reduce__(self):
                    return (os.system, (f"touch {self.marker}",))


            class Loss:
                """Cross-entropy that sends a code-running pickle on every pipe it finds."""

                version = "1"
                hparams = {}
                sent = False

                def __call__(self, logits, targets):
                    marker = os.environ.get("HOSTILE_MARKER")
                    if marker and not Loss.sent:
                        Loss.sent = True
                        for obj in gc.get_objects():
                            if isinstance(obj, Connection) and obj.writable and not obj.closed:
                                try:
                                    obj.send(Payload(marker))
                                except OSError:
                                    pass
                    return F.cross_entropy(logits, targets)
        ''',
    },
    # sends the sweep a record of another spec: cross_entropy, seed 3, top1 0.99
    "lossbench-forge": {
        "module": "hostile_forge",
        "entries": {"forge_record": "hostile_forge:ForgeRecord",
                    "forge_arrays": "hostile_forge:ForgeArrays"},
        "source": '''
            import dataclasses
            import gc
            from multiprocessing.connection import Connection

            import torch.nn.functional as F


            def pipes():
                return [obj for obj in gc.get_objects()
                        if isinstance(obj, Connection) and obj.writable and not obj.closed]


            def forged_spec():
                from lossbench.registry import LOSSES, SUITES
                from lossbench.spec import RunSpec

                task = SUITES.load("standard").task("mnist1d")
                return RunSpec("cross_entropy", LOSSES.card("cross_entropy").version,
                               "standard", "mnist1d", task.version, 3, options={"epochs": 1})


            class ForgeRecord:
                """Sends a pickled ``Record`` of cross_entropy, seed 3, top1 0.99."""

                version = "1"
                hparams = {}
                sent = False

                def message(self):
                    from lossbench.record import Record

                    return Record(forged_spec(), "ok", {"top1": 0.99})

                def send(self, conn):
                    conn.send(self.message())

                def __call__(self, logits, targets):
                    if not type(self).sent:
                        type(self).sent = True
                        for conn in pipes():
                            try:
                                self.send(conn)
                            except OSError:
                                pass
                    return F.cross_entropy(logits, targets)


            class ForgeArrays(ForgeRecord):
                """Sends well-formed run outputs that claim top1 0.99 (and say seed 3)."""

                def send(self, conn):
                    from lossbench.run_outputs import RunOutputs, encode

                    spec = dataclasses.asdict(forged_spec())
                    conn.send_bytes(encode(RunOutputs(
                        "ok", scalars={"train_seconds": 1.0, "samples_per_second": 1.0},
                        history={"train_loss": [0.1]}, metrics={"top1": 0.99},
                        task_json=str(spec))))
        ''',
    },
    # a loss with a parameter that never looks at the logits: it trains nothing
    "lossbench-detached": {
        "module": "hostile_detached",
        "entries": {"detached_loss": "hostile_detached:Loss"},
        "source": '''
            import torch


            class Loss(torch.nn.Module):
                """(w - 3)^2 for a parameter w: independent of the logits."""

                version = "1"
                hparams = {}

                def __init__(self):
                    super().__init__()
                    self.w = torch.nn.Parameter(torch.zeros(()))

                def forward(self, logits, targets):
                    return (self.w - 3) ** 2
        ''',
    },
    # rewrites stored records during its first forward: a cross_entropy record with top1 = 0.99
    # and a new record for seed 7, each self-consistent (its spec key and digest recomputed
    # with lossbench's own code), in the folder named by $HOSTILE_RESULTS
    "lossbench-forger": {
        "module": "forger",
        "entries": {"forger_loss": "forger:Loss"},
        "source": textwrap.dedent("""
            import dataclasses
            import os
            from pathlib import Path

            import pyarrow as pa
            import pyarrow.parquet as pq
            import torch.nn.functional as F


            def _with_digest(table):
                from lossbench.digest import DIGEST_COLUMN, table_contents

                table = table.drop_columns([DIGEST_COLUMN])
                (content,) = table_contents(table).values()
                return table.append_column(DIGEST_COLUMN, pa.array([content.digest] * len(
                    table), pa.string()))


            def forge(folder):
                from lossbench.record_format import spec_of

                for path in sorted(Path(folder).glob("*.parquet")):
                    table = pq.read_table(path)
                    if table.column("loss")[0].as_py() != "cross_entropy":
                        continue
                    metrics = table.column("metric").to_pylist()
                    values = [0.99 if m == "top1" else v
                              for m, v in zip(metrics, table.column("value").to_pylist())]
                    better = table.set_column(table.schema.get_field_index("value"), "value",
                                              pa.array(values, pa.float64()))
                    pq.write_table(_with_digest(better), path)
                    spec = dataclasses.replace(spec_of(table.slice(0, 1).to_pylist()[0]),
                                               seed=7)
                    n = len(table)
                    seven = better.set_column(table.schema.get_field_index("seed"), "seed",
                                              pa.array([7] * n, pa.int64()))
                    seven = seven.set_column(table.schema.get_field_index("spec_key"),
                                             "spec_key", pa.array([spec.key] * n))
                    pq.write_table(_with_digest(seven), Path(folder) / f"{spec.key}.parquet")
                    return


            class Loss:
                \"\"\"Cross-entropy that forges stored records during its first call.\"\"\"

                version = "1"
                hparams = {}
                forged = False

                def __call__(self, logits, targets):
                    if not Loss.forged and os.environ.get("HOSTILE_RESULTS"):
                        Loss.forged = True
                        forge(os.environ["HOSTILE_RESULTS"])
                    return F.cross_entropy(logits, targets)
        """),
    },
    # at import (in `show`'s card reader as in a run's child): deletes the record
    # $HOSTILE_DELETE and zeroes 64 bytes in the middle of the record $HOSTILE_ZERO
    "lossbench-eraser": {
        "module": "eraser",
        "entries": {"eraser_loss": "eraser:Loss"},
        "source": textwrap.dedent("""
            import os

            if os.environ.get("HOSTILE_DELETE"):
                os.remove(os.environ["HOSTILE_DELETE"])
            if os.environ.get("HOSTILE_ZERO"):
                with open(os.environ["HOSTILE_ZERO"], "r+b") as fh:
                    size = fh.seek(0, 2)
                    fh.seek(size // 2)
                    fh.write(bytes(64))
        """) + CE_LOSS.format(summary="Cross-entropy; deletes and damages records at import.",
                             paper="", fidelity="exact"),
    },
}


#: Packages that attack the trust boundary of a run or of the store (their runs fail or tamper):
#: kept out of :data:`PACKAGES`, whose entries a default sweep must run without a failure and
#: whose listing is timed; installed by the tests that use them.
TRUST_BOUNDARY: dict[str, dict] = {
    name: PACKAGES.pop(name) for name in ("lossbench-pipe", "lossbench-forge", "lossbench-detached",
                                          "lossbench-forger", "lossbench-eraser")}


#: Packages whose entries load and run but fail every run (not in :data:`PACKAGES`, whose healthy
#: entries a default sweep must run without a failure): installed by ``install_all(root,
#: FAILING)``.
FAILING: dict[str, dict] = {
    # a run's error is rich markup, terminal control sequences and a bidi override
    "lossbench-raises-markup": {
        "module": "raises_markup",
        "entries": {"raises_markup": "raises_markup:Loss"},
        "source": CE_LOSS.format(summary="Fails every run with a hostile error message.",
                                 paper="", fidelity="exact").replace(
            "        return F.cross_entropy(logits, targets)",
            "        raise ValueError('closing tag [/red] at 0 [bold]\\x1b[2J\\u202egnp\\rover')"),
    },
}


def _write_package(root: Path, dist: str, spec: dict) -> Path:
    pkg = root / dist
    (pkg / spec["module"]).mkdir(parents=True)
    (pkg / spec["module"] / "__init__.py").write_text(textwrap.dedent(spec["source"]))
    entries = "\n".join(f'"{name}" = "{target}"' for name, target in spec["entries"].items())
    (pkg / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        f'\n[project]\nname = "{dist}"\nversion = "0.1.0"\n'
        f'\n[project.entry-points."lossbench.losses"]\n{entries}\n'
        f'\n[tool.setuptools]\npackages = ["{spec["module"]}"]\n')
    return pkg


def install_all(root: Path, packages: dict[str, dict] | None = None) -> Path:
    """Build and install every package of ``packages`` (default :data:`PACKAGES`) into
    ``root/site``."""
    site = root / "site"
    pkgs = [_write_package(root / "src", dist, spec)
            for dist, spec in (PACKAGES if packages is None else packages).items()]
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(site),
                    *map(str, pkgs)], check=True, capture_output=True, text=True)
    return site


def site_with(all_site: Path, folder: Path, *dists: str) -> Path:
    """A folder holding only the named distributions of ``all_site`` (as symlinks)."""
    folder.mkdir(parents=True, exist_ok=True)
    for dist in dists:
        module = {**PACKAGES, **TRUST_BOUNDARY, **FAILING}[dist]["module"]
        norm = dist.replace("-", "_")
        for path in [all_site / module, *all_site.glob(f"{norm}-*.dist-info")]:
            (folder / path.name).symlink_to(path)
    return folder
