"""Quarterly targets and OKRs: proposing targets from the stored forecasts
(:mod:`~intelligentos.services.okr.propose`), accepting them into the store and the catalog's
files (:mod:`~intelligentos.services.okr.accept`), grading a quarter
(:mod:`~intelligentos.services.okr.grade`) and an agent's review
(:mod:`~intelligentos.services.okr.review`)."""
