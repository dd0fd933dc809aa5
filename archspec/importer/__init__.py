"""``archspec import``: a Keras model (a ``.keras`` file or a Keras Applications model) as a
spec a person would write. Reading a ``.keras`` file never imports Keras and never runs
anything in it: ``config.json`` is read as JSON."""
