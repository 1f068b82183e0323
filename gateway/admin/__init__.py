"""The Integrations page under ``/admin`` (issue 15 §2): operators sign in, see the directory's
locations with their SCIM state, enable SCIM for one (the Tenant URL and Secret Token shown once),
rotate its token, remove it, and read its provisioning activity.

Modules: ``routes`` (the routes and settings ``gateway/app.py`` adds), ``base`` (the handlers'
base: sessions, cookies, XSRF, headers, errors), ``session_pages``, ``location_pages``,
``activity_pages`` (Tornado handlers), and below them, without Tornado: ``context``, ``accounts``
(sign-in, lock-out, sessions), ``passwords`` (scrypt), ``integrations`` (enable/rotate/remove),
``activity_query`` (filters, keyset pages, CSV), ``command`` (``vizmo-scim admin``). The pages are
Tornado templates (``templates/``) with plain CSS and JavaScript (``static/``), shipped as
package data: no build step, nothing fetched from elsewhere.
"""
