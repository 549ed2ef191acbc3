"""`python -m mongo_layer`: the operator command, the same as `mongo-layer`."""

from .cli import run

run()
