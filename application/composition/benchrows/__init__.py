"""The rows of `hexloop bench`: one module per area, each measuring against a baseline run in
the same process, so the ratios mean the same on any machine."""
