"""Layer kinds: one module per family, all found through ``registry.all_kinds()``."""
