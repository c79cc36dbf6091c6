"""`lossbench check`: every registered entry passes it, and broken plugins fail it clearly.

The per-entry tests are generated from the registry itself (timm's test_models idea), so an entry
cannot land untested. The broken examples below are loaded by ``module:attr`` like an
unregistered plugin would be.
"""

from __future__ import annotations

import ast
import pickle
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from lossbench.cards import search_space_problem
from lossbench.cli import main
from lossbench.conformance import check_entry
from lossbench.errors import UsageError
from lossbench.registry import LOSSES, REGULARIZERS

from .conftest import ROOT, run_cli

HERE = "tests.test_conformance"
TEMPLATE = ROOT / "examples" / "plugin-template"


# -- every registered entry ------------------------------------------------------------------------
@pytest.mark.parametrize("name", LOSSES.names())
def test_registered_loss_passes_the_conformance_checks(name):
    report = check_entry(name, "loss")
    assert report.ok, str(report)


@pytest.mark.parametrize("name", REGULARIZERS.names())
def test_registered_regularizer_passes_the_conformance_checks(name):
    report = check_entry(name, "regularizer")
    assert report.ok, str(report)


# -- deliberately broken plugins -------------------------------------------------------------------
class _Card:
    version = "1"
    paper = "a test fixture"
    hparams: dict = {}


class GoodLoss(_Card):
    def __call__(self, logits, targets):
        return F.cross_entropy(logits, targets)


class NanLoss(_Card):
    def __call__(self, logits, targets):
        return F.cross_entropy(logits, targets) * float("nan")


class PerSampleLoss(_Card):
    def __call__(self, logits, targets):
        return F.cross_entropy(logits, targets, reduction="none")


class DetachedLoss(_Card):
    def __call__(self, logits, targets):
        return F.cross_entropy(logits.detach(), targets)


class ConstantLoss(_Card):
    def __call__(self, logits, targets):
        return logits.sum() * 0 + 1


class UnseededLoss(_Card):
    def __call__(self, logits, targets):
        return F.cross_entropy(logits, targets) * (1 + random.random())


class UnpicklableLoss(_Card):
    def __init__(self):
        self.reduce = lambda v: v.mean()

    def __call__(self, logits, targets):
        return self.reduce(F.cross_entropy(logits, targets, reduction="none"))


class WrongSoftLoss(_Card):
    accepts_soft_targets = True

    def __call__(self, logits, targets):
        if targets.is_floating_point():  # forgets to take the log of the probabilities
            return -(targets * logits.softmax(-1)).sum(-1).mean()
        return F.cross_entropy(logits, targets)


class BadSearchSpace(GoodLoss):
    hparams = {"gamma": 2.0}
    search_space = {"gamma": {"low": 0.0, "high": 1.0}, "beta": {"low": 0.0, "high": 1.0}}

    def __init__(self, gamma: float = 2.0):
        self.gamma = gamma


class HparamNotAccepted(GoodLoss):
    hparams = {"gamma": 2.0}


class KwargsLoss(GoodLoss):
    hparams = {"gamma": 2.0}

    def __init__(self, **kwargs):
        self.kwargs = kwargs


class NoCard:
    def __call__(self, logits, targets):
        return F.cross_entropy(logits, targets)


class NanCardLoss:
    version = "1"
    paper = "none"
    hparams = {"gamma": float("nan")}

    def __init__(self, gamma=1.0):
        self.gamma = gamma

    def __call__(self, logits, targets):
        return F.cross_entropy(logits, targets)


class NoHooks(_Card):
    pass


class BadHookArity(_Card):
    def penalty(self, outputs):
        return outputs.pow(2).mean()


class NanPenalty(_Card):
    def penalty(self, outputs, y, ctx):
        return outputs.sum() * float("nan")


def _failure(report, check: str) -> str:
    result = report.result(check)
    assert result.status == "fail", str(report)
    assert not report.ok
    return result.detail


def test_nan_output_fails_forward_with_the_value():
    assert "not finite" in _failure(check_entry(f"{HERE}:NanLoss"), "forward")


def test_per_sample_output_fails_with_its_shape():
    detail = _failure(check_entry(f"{HERE}:PerSampleLoss"), "forward")
    assert "scalar (0-dim)" in detail and "(12,)" in detail


def test_detached_loss_fails_with_no_gradient():
    assert "no grad_fn" in _failure(check_entry(f"{HERE}:DetachedLoss"), "backward")


def test_constant_loss_fails_with_a_zero_gradient():
    assert "zero everywhere" in _failure(check_entry(f"{HERE}:ConstantLoss"), "backward")


def test_import_error_fails_load_and_skips_the_rest():
    report = check_entry("tests.no_such_plugin_module:Loss")
    assert "ModuleNotFoundError" in _failure(report, "load")
    assert {r.status for r in report.results[1:]} == {"skip"}


def test_missing_attribute_fails_load():
    assert "AttributeError" in _failure(check_entry(f"{HERE}:NoSuchLoss"), "load")


def test_missing_card_attributes_fail_the_card_check():
    assert "version, paper" in _failure(check_entry(f"{HERE}:NoCard"), "card")


def test_hparam_the_factory_does_not_take_fails_the_card_check():
    assert "'gamma'" in _failure(check_entry(f"{HERE}:HparamNotAccepted"), "card")


def test_a_factory_taking_kwargs_accepts_every_hparam():
    assert check_entry(f"{HERE}:KwargsLoss").result("card").status == "pass"


def test_the_checks_build_with_a_value_for_every_build_context_key():
    from lossbench.conformance.common import Checks
    from lossbench.signatures import BUILD_CONTEXT

    context = Checks(LOSSES.get("cross_entropy"), ["cpu"]).context()
    assert tuple(context) == BUILD_CONTEXT


def test_search_space_key_outside_hparams_fails_the_card_check():
    # the card validation the sweep and `lossbench list` use (registry.card_problems)
    assert "'beta', which is not in hparams" in _failure(check_entry(f"{HERE}:BadSearchSpace"),
                                                         "card")


def test_unseeded_randomness_fails_determinism():
    assert "same seed differ" in _failure(check_entry(f"{HERE}:UnseededLoss"), "determinism")


def test_unpicklable_loss_fails_pickle():
    assert "raised" in _failure(check_entry(f"{HERE}:UnpicklableLoss"), "pickle")


def test_soft_targets_that_disagree_with_class_indices_fail():
    assert "one-hot soft targets" in _failure(check_entry(f"{HERE}:WrongSoftLoss"),
                                              "soft_targets")


def test_regularizer_without_hooks_fails():
    detail = _failure(check_entry(f"{HERE}:NoHooks", "regularizer"), "hooks")
    assert "at least one hook" in detail and "penalty" in detail


def test_regularizer_hook_with_the_wrong_arity_fails():
    detail = _failure(check_entry(f"{HERE}:BadHookArity", "regularizer"), "hooks")
    assert "penalty() must accept 3" in detail


def test_regularizer_with_a_nan_penalty_fails_training():
    assert "non-finite" in _failure(check_entry(f"{HERE}:NanPenalty", "regularizer"), "train:cpu")


def test_a_good_unregistered_loss_passes():
    report = check_entry(f"{HERE}:GoodLoss")
    assert report.ok, str(report)
    assert report.result("device:cuda").status in ("pass", "skip")


def test_unknown_name_is_a_usage_error_with_suggestions():
    with pytest.raises(UsageError, match="did you mean 'focal'"):
        check_entry("focall")


def test_search_space_spec_format():
    assert search_space_problem({"low": 0.0, "high": 1.0}, 0.5) == ""
    assert search_space_problem({"choices": [1, 2]}, 1) == ""
    assert "outside" in search_space_problem({"low": 0.0, "high": 1.0}, 2.0)
    assert "low > 0" in search_space_problem({"low": 0.0, "high": 1.0, "log": True}, 0.5)
    assert "low must be < high" in search_space_problem({"low": 1.0, "high": 1.0}, 1.0)
    assert "not among" in search_space_problem({"choices": [1, 2]}, 3)


def test_report_round_trips_through_pickle():
    report = check_entry(f"{HERE}:GoodLoss")
    assert pickle.loads(pickle.dumps(report)).ok


# -- the command line (in-process: the main() the console script runs) ----------------------------
def test_cli_check_prints_a_line_per_check_and_exits_1_on_failure(capsys):
    assert main(["check", f"{HERE}:NanLoss"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  forward" in out and "PASS  load" in out
    assert "FAILED" in out.splitlines()[-2]
    assert out.splitlines()[-1].startswith("fix first: forward: the loss is not finite")


def test_cli_check_reports_a_card_problem_and_still_runs_the_functional_checks(capsys):
    # the done-when of issue 15: a submitter sees everything at once
    assert main(["check", "torch.nn:CrossEntropyLoss"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  card             missing card attribute(s) version, paper" in out
    assert "PASS  forward" in out and "PASS  determinism" in out
    assert out.splitlines()[-1].startswith("fix first: card: missing card attribute(s)")


def test_an_invalid_card_is_reported_and_the_entry_is_built_without_hparams():
    report = check_entry(f"{HERE}:NanCardLoss")
    assert "is nan" in _failure(report, "card")
    assert report.result("build").status == "pass"
    assert report.result("forward").status == "pass"


def test_cli_check_unknown_name_exits_2(capsys):
    assert main(["check", "no_such_loss"]) == 2
    err = capsys.readouterr().err
    assert "unknown" in err and "no_such_loss" in err


def test_cli_check_finds_a_registered_regularizer_by_name(capsys):
    assert main(["check", "z_loss"]) == 0
    out = capsys.readouterr().out
    assert "(regularizer," in out and "OK" in out.splitlines()[-1]


# -- the copyable plugin template ------------------------------------------------------------------
@pytest.fixture(scope="module")
def template_site(tmp_path_factory) -> Path:
    """The template, copied (so the build leaves the repo clean) and pip-installed into a folder."""
    root = tmp_path_factory.mktemp("template")
    src = root / "plugin-template"
    shutil.copytree(TEMPLATE, src)
    site = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(site), str(src)],
                   check=True, capture_output=True, text=True)
    return site


def test_template_does_not_import_lossbench():
    tree = ast.parse((TEMPLATE / "my_plugin" / "__init__.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported and not any(name.split(".")[0] == "lossbench" for name in imported)


def test_installed_template_passes_lossbench_check(template_site):
    out = run_cli("check", "squared_hinge", env={"PYTHONPATH": str(template_site)})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "my-lossbench-plugin 0.1.0" in out.stdout
    assert "OK" in out.stdout.splitlines()[-1]


def test_template_loss_is_the_squared_hinge_by_hand(template_site):
    sys.path.insert(0, str(template_site))
    try:
        from my_plugin import SquaredHinge
    finally:
        sys.path.remove(str(template_site))
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    # sample 1 (y=1): max(0, 1 + max(1.0, 0.5) - 2.0)^2 = 0; sample 2 (y=0): (1 + 3 - 0)^2 = 16
    assert SquaredHinge()(logits, torch.tensor([1, 0])).item() == pytest.approx(8.0)
