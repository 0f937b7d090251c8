"""Notes: dated entries by their author on a prospect's (and its customer's) timeline."""
