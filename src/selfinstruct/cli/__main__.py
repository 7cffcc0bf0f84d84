"""`python -m selfinstruct.cli`: the command, for `accelerate launch -m` and `torchrun -m`."""

import sys

from . import main

sys.exit(main())
