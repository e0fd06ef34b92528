"""`python -m gateway` is the `plangruppe` command."""

import sys

from gateway.cli import main

sys.exit(main())
