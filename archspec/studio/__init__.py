"""``archspec serve``: the studio, a local web page to write a network and watch its analysis,
or to open a trained run and watch it think.

A thin ASGI layer (Starlette, uvicorn) over ``archspec.api``: ``server`` builds the app,
``safety`` refuses foreign hosts and origins, ``workspace`` says which files may be read and
written, ``analysis_view`` shapes the analysis for the page, ``explorer`` (the only module
that loads Keras) runs a trained model on a drawn image. The page is in ``static/``.
"""
