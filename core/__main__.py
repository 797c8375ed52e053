"""`python -m core …`: the workbench without a browser (see core/cli.py)."""
import sys

from core.cli import main

sys.exit(main())
