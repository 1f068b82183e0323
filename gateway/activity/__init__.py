"""Recording the provisioning activity log (see :mod:`adapters.activity`): entries for writes are
built here and stored by the adapter with each write (:mod:`.journal`); refusals are buffered and
appended off the request path, and old entries pruned in the background (:mod:`.recorder`)."""
