"""Services the cockpit runs off its event loop: each has one job, blocks freely (it is
called from worker threads) and knows nothing of Textual.

- :mod:`~intelligentos.services.snapshots`: open the store, evaluate, read what screens show.
- :mod:`~intelligentos.services.alerts`: people's lifecycle actions, and which alerts
  are news.
"""
