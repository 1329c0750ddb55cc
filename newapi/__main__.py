import sys

from newapi.cli import main

sys.exit(main())
