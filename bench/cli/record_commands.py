"""The commands that judge or check stored records: ``validate``, ``reproduce``, ``verify``,
``merge``."""

from __future__ import annotations

import argparse
import sys

from ..text_safety import for_terminal
from .render import render_verify


def cmd_validate(args: argparse.Namespace) -> int:
    from ..api import catalog_validation, missing_catalog_runs

    def log(msg: str) -> None:
        print(for_terminal(msg), file=sys.stderr)

    if args.design:
        return _validate_design(args, log)
    judged = catalog_validation(args.results, args.suites, min_seeds=args.min_seeds,
                                confirm=args.confirm, catalog=args.catalog, workers=args.workers,
                                log=log)
    if args.json:
        import json

        print(json.dumps(judged.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(judged.render_catalog())
        if judged.missing:
            todo = missing_catalog_runs(args.results, args.suites, args.catalog)
            if todo:
                more = "" if args.results == "results" else f" --results {args.results}"
                print(f"\n{todo} runs the catalog needs are not stored in {args.results}: "
                      f"`lossbench validate --confirm{more}` runs them.")
        if judged.suite_findings:
            print("\nFindings declared by the suites themselves (Suite.findings):")
            print(judged.render_suite_findings())
    return 1 if judged.contradicted else 0


def _validate_design(args: argparse.Namespace, log) -> int:
    from ..api import design_vector, design_vector_dict, design_vector_text

    vec = design_vector(args.results, args.suites, min_seeds=args.min_seeds,
                        confirm=args.confirm, catalog=args.catalog, workers=args.workers, log=log)
    if args.json:
        import json

        print(json.dumps(design_vector_dict(vec), indent=2, ensure_ascii=False))
    else:
        print(design_vector_text(vec))
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
        print(render_verify(outcome))
    return 0 if outcome.ok else 1
