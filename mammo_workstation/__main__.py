import sys

from mammo_workstation.cli import main

sys.exit(main())
