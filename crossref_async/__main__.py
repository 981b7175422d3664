"""``python -m crossref_async``: the same as the ``crossref-async`` command."""

import sys

from .cli import main

sys.exit(main())
