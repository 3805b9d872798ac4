"""`python -m alignment …` runs the alignment CLI (see alignment/cli.py)."""

import sys

from alignment.cli import main

sys.exit(main())
