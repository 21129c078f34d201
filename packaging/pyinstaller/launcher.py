"""Entry script of the frozen application: the same ``main`` as the ``mammo-workstation`` command."""

import sys

from mammo_workstation.cli import main

if __name__ == "__main__":
    sys.exit(main())
