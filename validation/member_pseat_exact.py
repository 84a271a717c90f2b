"""The exact-posterior check of the member slope on ``pseat_z`` (``member_pseat``).

    python -m validation.member_pseat_exact [n_draws]

The same as ``python -m validation.member_slope_exact --slope pseat_z [n_draws]``: see
``validation/member_slope_exact.py`` (this command line is kept for the runs reported in
``validation/README.md``).
"""

from __future__ import annotations

import sys

from validation.member_slope_exact import main

if __name__ == "__main__":
    main(["--slope", "pseat_z", *sys.argv[1:]])
