"""`python -m mongo_layer`: the operator command, the same as `mongo-layer`."""

from .cli import main

main(prog_name="mongo-layer")
