"""slotfill: slot filling for chatbots, from training data to a REST API.

The code lives in the top-level folders ``model/`` (the network, its artifact and the predictor),
``training/`` (data formats, the travel corpus, the training loop) and ``service/`` (the REST
API); they install as ``slotfill.model``, ``slotfill.training`` and ``slotfill.service``, so that
``pip install slotfill`` adds one name to site-packages and cannot shadow or be shadowed by a
user's own ``model`` or ``service``. ``slotfill.cli`` is the command line.
"""
