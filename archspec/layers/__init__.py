"""Layer kinds: the records (``registry``), one module per family, all found through ``catalog.all_kinds()``."""
