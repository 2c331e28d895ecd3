"""``python -m nbaops.docs_reference [--check]``."""

from nbaops.docs_reference import main
from nbaops.stdio import run_main

raise SystemExit(run_main(main))
