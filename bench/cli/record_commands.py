"""The commands that judge or check stored records: ``validate``, ``reproduce``, ``verify``,
``merge``."""

from __future__ import annotations

import argparse
import sys

from ..text_safety import for_terminal
from .render import VERIFY_SHOWN


def cmd_validate(args: argparse.Namespace) -> int:
    from .. import findings
    from ..api import validate_catalog

    def log(msg: str) -> None:
        print(for_terminal(msg), file=sys.stderr)

    if args.design:
        return _validate_design(args, log)
    confirmation, design = validate_catalog(
        args.results, args.suites, min_seeds=args.min_seeds, confirm=args.confirm,
        catalog=args.catalog, workers=args.workers, log=log)
    from .. import validity

    declared = findings.validate(args.results, args.suites, min_seeds=args.min_seeds, log=log)
    if args.json:
        import json

        out = validity.to_dict(confirmation, design)
        out["suite_findings"] = [validity.clean_nan(r.to_dict()) for r in declared]
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(validity.render_text(confirmation, design))
        if any(v.verdict == "missing" for j in (confirmation, design) for v in j.findings):
            from ..confirmation import checked_catalog, missing_specs

            cat = checked_catalog(args.catalog)
            todo = missing_specs(cat.only(args.suites) if args.suites else cat, args.results)
            if todo:
                more = "" if args.results == "results" else f" --results {args.results}"
                print(f"\n{len(todo)} runs the catalog needs are not stored in {args.results}: "
                      f"`lossbench validate --confirm{more}` runs them.")
        if declared:
            print("\nFindings declared by the suites themselves (Suite.findings):")
            print(findings.render_text(declared, args.min_seeds))
    contradicted = any(v.verdict == "contradicted" for v in confirmation.findings)
    return 1 if contradicted or any(r.verdict == "inverted" for r in declared) else 0


def _validate_design(args: argparse.Namespace, log) -> int:
    from ..api import design_vector
    from ..design_vector import render_vector

    vec = design_vector(args.results, args.suites, min_seeds=args.min_seeds,
                        confirm=args.confirm, catalog=args.catalog, workers=args.workers, log=log)
    if args.json:
        import json

        from ..validity import clean_nan

        print(json.dumps(clean_nan({
            "seed_set": vec.seed_set, "alpha": vec.alpha, "score": vec.score,
            "mean_tau": vec.mean_tau,
            "findings": [{"id": f, "verdict": v, "effect": e} for f, v, e in vec.verdicts],
            "rankings": [{"id": t, "tau": tau} for t, tau in vec.taus]}), indent=2,
            ensure_ascii=False))
    else:
        print(render_vector(vec))
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from ..api import reproduce

    outcome = reproduce(args.results, sample=args.sample, random_seed=args.random_seed,
                        threads=args.threads, workers=args.workers, executor=args.executor,
                        device=args.device, into=args.into)
    print(outcome.to_json() if args.json else outcome.render_text())
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    import json

    from ..api import merge

    report = merge(args.source, args.results, args.distribution)
    print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) if args.json
          else report.render_text())
    return 1 if report.refused else 0


def cmd_verify(args: argparse.Namespace) -> int:
    import json

    from ..api import verify
    from ..outputs import check_results_to_read

    check_results_to_read(args.results, "--results")
    if args.retire_below:
        from ..api import retire_below

        retired = retire_below(args.results, args.retire_below)
        versions = sorted({v for _, v in retired})
        print(f"retired {len(retired)} records of harness {', '.join(versions) or '–'} from "
              f"{args.results} (ledger: 'retire')", file=sys.stderr)
    outcome = verify(args.results, adopt=args.adopt)
    if args.adopt:
        print(f"adopted {outcome.adopted} records into {args.results}/_ledger.jsonl",
              file=sys.stderr)
    if args.json:
        print(json.dumps(outcome.to_dict(), indent=2, ensure_ascii=False))
    else:
        from ..sandbox import one_line

        print(outcome.line())
        for category in outcome.counts():
            found = [f for f in outcome.findings if f.category == category]
            for f in found[:VERIFY_SHOWN]:
                print(f"  {category:8} {one_line(f.path)}: {one_line(f.reason)}")
            if len(found) > VERIFY_SHOWN:
                print(f"  {category:8} … and {len(found) - VERIFY_SHOWN} more (--json lists all)")
    return 0 if outcome.ok else 1
