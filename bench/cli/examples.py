"""The examples at the end of ``lossbench --help`` and ``lossbench COMMAND --help``."""

#: The commands a researcher types most, shown by ``lossbench COMMAND --help``.
EXAMPLES = {
    None: """examples:
  lossbench list 'focal*'                                     what is registered
  lossbench show focal                                        a card and its stored results
  lossbench run --loss my_losses:MyLoss --task standard/mnist1d --seeds 2 --epochs 2
                                                              try a loss before packaging it
  lossbench check my_losses:MyLoss                            checks before publishing
  lossbench COMMAND --help                                    options and examples of COMMAND""",
    "list": """examples:
  lossbench list                        every loss and regularizer, with its summary
  lossbench list 'focal*' --long        with paper and fidelity
  lossbench list --kind suite           suites, tasks, versions, data availability""",
    "run": """examples:
  lossbench run --loss focal --task standard/mnist1d --seeds 2 --epochs 2
      a smoke run of one loss (cross-entropy runs beside it: the baseline)
  lossbench run --loss my_losses:MyLoss --hparam temperature=2 --task standard/mnist1d
      a loss from a plain module (no packaging), with a hyperparameter set
  lossbench run --regularizer mixup --suite noisy --seed 0 --seed 1
      a regularizer with cross-entropy on a suite's embedded tasks, seeds 0 and 1
  lossbench run --suite standard
      every entry on the standard suite, seeds 0-4 (stored runs are reused)""",
    "show": """examples:
  lossbench show focal                          card, paper link, defaults, stored results
  lossbench show my_losses:MyLoss --results /tmp/try
  lossbench show mixup --json                   for scripts""",
    "check": """examples:
  lossbench check my_losses:MyLoss              a loss in a plain module
  lossbench check my_regs:MyReg --kind regularizer
  lossbench check squared_hinge                 an installed plugin, before publishing""",
    "leaderboard": """examples:
  lossbench leaderboard                         re-render leaderboard.md from results/
  lossbench leaderboard --results /tmp/try --out /tmp/try/lb.md
  lossbench leaderboard --check                 exit 1 if leaderboard.md is stale
  lossbench leaderboard --html site/            also build the static HTML site in site/""",
    "tune": """examples:
  lossbench tune --loss focal --task standard/mnist1d --trials 8
  lossbench tune --regularizer mixup --suite noisy --trials 4 --seeds 3""",
    "validate": """examples:
  lossbench validate                    the catalog on the design and confirmation seeds
  lossbench validate --confirm          first run what the catalog still needs, then judge
  lossbench validate --design --results /tmp/variant --confirm
                                        a recipe variant: the design seeds' verdict vector
  lossbench validate --suite imbalanced --json""",
    "verify": """examples:
  lossbench verify                              results/ against its ledger (exit 1: findings)
  lossbench verify --results /tmp/try --json    for scripts
  lossbench verify --adopt                      vouch for records stored before the ledger
  lossbench verify --retire-below 0.4.0         after a harness bump: retire the old records""",
    "merge": """examples:
  lossbench merge job-results/ --distribution lossbench-polyloss
                                                the records of that distribution's own job""",
    "reproduce": """examples:
  lossbench reproduce                           re-run 20 stored records here, print the drift
  lossbench reproduce --sample 5 --random-seed 3 --json
  lossbench reproduce --results /tmp/try --threads 2 --into /tmp/try-rerun
      the same records at another thread count, the re-runs kept""",
}
