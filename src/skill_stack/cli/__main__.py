import sys

from skill_stack.cli.main import main

sys.exit(main())
