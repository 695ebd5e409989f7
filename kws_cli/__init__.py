"""The `kws` command line: the composition root.

It puts the runtime (``kws``), training (``training``) and the device simulator
(``firmware_sim``) together behind one command; the runtime imports none of them, nor this
(``tests/test_layers.py`` walks the imports). ``python -m kws`` and ``python -m kws_cli`` both
run ``kws_cli.main.main``.
"""
