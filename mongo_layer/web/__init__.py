"""Web: the HTTP routes the layer mounts on Chainlit's app (element files, guarded
feedback) and who may read or change a thread."""
