"""``python -m nbaops.docs_reference [--check]``."""

from nbaops.docs_reference import main

raise SystemExit(main())
