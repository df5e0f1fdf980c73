"""One module per locally run server; `stack.registry` lists them in start order."""
