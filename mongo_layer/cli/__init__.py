"""`mongo-layer`: the operator's command for a database used by MongoDataLayer.

The command itself is the click group in `commands`; this module only starts it, after
choosing where Chainlit may write.
"""

import os
import sys
from pathlib import Path


def chainlit_scratch_folder() -> Path:
    """Where Chainlit writes while the command runs. Importing Chainlit creates `.chainlit/`
    and `.files/` in its app root, the working folder unless `CHAINLIT_APP_ROOT` says
    otherwise, and an operator's command must leave the folder it runs in as it was."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "mongo-layer" / "chainlit"


def run() -> None:
    """The `mongo-layer` console script (and `python -m mongo_layer`)."""
    if "chainlit" not in sys.modules and not os.environ.get("CHAINLIT_APP_ROOT"):
        scratch = chainlit_scratch_folder()
        scratch.mkdir(parents=True, exist_ok=True)
        os.environ["CHAINLIT_APP_ROOT"] = str(scratch)
    from .commands import main

    main(prog_name="mongo-layer")
