"""Print the registered losses and regularizers, one "<kind> <name>" per line (used by the
pull-request workflow to find the entries a PR adds)."""

from lossbench.api import list_entries

for row in list_entries(kind="loss") + list_entries(kind="regularizer"):
    print(row["kind"], row["name"])
