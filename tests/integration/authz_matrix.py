# ruff: noqa: E501
"""The authorisation matrix: for every route of every node and every role, the answer expected.

One line per route (method, path template), one column per role (``ROLES``; the header line
of each table names them). A cell is the class of the answer (``authz_walk.outcome``):

- ``ok``: allowed (2xx, or a page's redirect onwards);
- ``401``: no caller the node knows (no token, or a token of another node), or a legacy
  partner app it does not know (errcode 401xx);
- ``403``: a caller of the wrong role or scope (a page shows its sign-in form with 403);
- ``404``: IDOR refused: a citizen asking about a subject, request or correction that is not
  on their account is told it does not exist (not 403: the answer must not confirm it does);
- ``signin``: an admin or checkpoint page sends an anonymous reader to ``/signin/staff``;
- ``home``: a page sends the reader to the node's own start page (a citizen page with no
  session: its sign-in; ``/prefs`` and ``/signout`` always);
- ``503``: allowed, but what it needs is not there: the relay routes (``/v1/hub/...``) of a
  region the hub hosts, which has no link to a hub of its own to relay to (its checkpoint
  page talks to the hub directly).

Where validation would answer first (the role check is in the use case, after the body is
parsed), the matrix sends a minimal valid body (``authz_support.prepare``), so every cell is
decided by authorisation. The roles are described in ``authz_support``; "own" paths name the
citizen's subject, request and correction and the node's own region.

``CROSS_REGION`` is the same for write routes whose path or body names a region or area, sent
with the *other* region's (the column's "own" region is the one the path does not name): the
own-region writers are refused (403), and only the other region's own writers (the ``x_``
columns, at the hub) may write there.

Three cells here were wrong in the code when the matrix was first run, and were fixed:
``GET /v1/corrections/{correction_id}`` answered a health authority (corrections are for the
region's staff), ``PUT /v1/risk-areas/{code}`` at an issuer took an area outside its region, and
the hub's ``GET /admin/policies/edit`` opened another region's policy for editing.
"""

from __future__ import annotations

__all__ = ["CROSS_REGION", "MATRIX", "OUTCOMES", "ROLES", "Route"]

ROLES = (
    "anonymous",
    "citizen",
    "other_citizen",
    "checkpoint",
    "staff",
    "authority",
    "lab",
    "node",
    "admin",
    "x_citizen",
    "x_checkpoint",
    "x_staff",
    "x_authority",
    "x_lab",
    "x_node",
    "x_admin",
)
OUTCOMES = frozenset({"ok", "401", "403", "404", "signin", "home", "503"})

Route = tuple[str, str]  # (method, path template)

MATRIX_TEXT = {
    "hub": """
#                                                    anon   cit    cit2   cp     staff  auth   lab    node   admin  x_cit  x_cp   x_stf  x_aut  x_lab  x_nod  x_adm
GET    /openapi.json                                 ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok
GET    /static/{path}                                ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok
GET    /docs                                         ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
GET    /healthz                                      ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
GET    /readyz                                       ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
GET    /metrics                                      ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
GET    /problems/{slug}                              ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
GET    /prefs                                        home   401    401    home   home   home   home   home   home   401    home   home   home   home   home   401
GET    /signin/staff                                 ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
POST   /signin/staff                                 401    401    401    home   home   home   home   home   home   401    home   home   home   home   home   401
POST   /signout                                      home   401    401    home   home   home   home   home   home   401    home   home   home   home   home   401
GET    /checkpoint                                   signin 401    401    ok     403    403    403    403    403    401    ok     403    403    403    403    401
GET    /checkpoint/sw.js                             ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
GET    /v1/trust-list                                ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
GET    /v1/log/sth                                   ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
GET    /v1/log/entries                               ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
GET    /v1/log/proof/inclusion                       ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
GET    /v1/log/proof/consistency                     ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
POST   /v1/log/read-digests                          401    401    401    403    403    403    403    ok     403    401    403    403    403    403    ok     401
POST   /v1/log/witness                               401    401    401    403    403    403    403    ok     403    401    403    403    403    403    403    401
POST   /v1/overrides/approvals                       401    401    401    403    403    403    403    403    403    401    403    403    403    403    403    401
POST   /v1/issuers                                   401    401    401    403    403    403    403    403    ok     401    403    403    403    403    403    401
POST   /v1/issuers/{region}/keys                     401    401    401    403    403    403    403    ok     ok     401    403    403    403    403    403    401
DELETE /v1/issuers/{region}/keys/{kid}               401    401    401    403    403    403    403    ok     ok     401    403    403    403    403    403    401
GET    /v1/registry/changes                          401    401    401    403    403    403    403    403    ok     401    403    403    403    403    403    401
GET    /v1/risk-areas                                ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
PUT    /v1/risk-areas/{code}                         401    401    401    403    403    ok     403    403    403    401    403    403    403    403    403    401
POST   /v1/risk-areas/batch                          401    401    401    403    403    ok     403    403    403    401    403    403    403    403    403    401
POST   /v1/facts                                     401    401    401    403    403    ok     403    403    403    401    403    403    ok     403    403    401
GET    /v1/facts/{seq}/provenance                    401    401    401    403    403    ok     403    ok     ok     401    403    403    ok     403    ok     401
POST   /v1/tracing/queries                           401    401    401    403    403    ok     403    403    403    401    403    403    ok     403    403    401
POST   /v1/labs                                      401    401    401    403    403    403    403    403    ok     401    403    403    403    403    403    401
GET    /v1/labs                                      401    401    401    403    403    403    403    403    ok     401    403    403    403    403    403    401
POST   /v1/test-results                              401    401    401    403    403    403    ok     403    403    401    403    403    403    403    403    401
POST   /v1/departments                               401    401    401    403    403    403    403    403    ok     401    403    403    403    403    403    401
GET    /v1/departments                               401    401    401    403    403    403    403    403    ok     401    403    403    403    403    403    401
POST   /v1/department-records                        401    401    401    403    403    403    403    403    403    401    403    403    403    403    403    401
POST   /v1/subjects/register                         401    401    401    403    403    403    403    ok     403    401    403    403    403    403    ok     401
POST   /v1/summaries                                 401    401    401    403    403    403    403    ok     403    401    403    403    403    403    ok     401
GET    /v1/feed                                      401    401    401    403    403    403    403    ok     403    401    403    403    403    403    ok     401
GET    /v1/subjects/{sid}/facts                      401    401    401    403    403    403    403    ok     403    401    403    403    403    403    ok     401
GET    /v1/subjects/{sid}/test-results               401    401    401    403    403    403    403    ok     403    401    403    403    403    403    ok     401
GET    /v1/subjects/{sid}/summary                    401    401    401    403    403    403    403    ok     403    401    403    403    403    403    ok     401
POST   /v1/scans                                     401    401    401    ok     403    403    403    ok     403    401    403    403    403    403    403    401
POST   /v1/codes/verify                              401    401    401    ok     ok     403    403    ok     ok     401    ok     ok     403    403    ok     401
POST   /v1/codes/convert                             ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
PUT    /v1/policies/{region}                         401    401    401    403    403    ok     403    403    403    401    403    403    403    403    403    401
GET    /v1/policies/{region}                         ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
GET    /v1/policies/{region}/history                 ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
GET    /v1/international-trust                       ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
PUT    /v1/international-trust/dcc                   401    401    401    403    403    403    403    403    ok     401    403    403    403    403    403    401
PUT    /v1/international-trust/shc                   401    401    401    403    403    403    403    403    ok     401    403    403    403    403    403    401
PUT    /v1/international-trust/dcc-revocation        401    401    401    403    403    403    403    403    ok     401    403    403    403    403    403    401
POST   /v1/lookups                                   401    401    401    ok     403    403    403    ok     403    401    ok     403    403    403    ok     401
GET    /v1/stats/{figure}                            401    401    401    403    403    ok     403    403    ok     401    403    403    ok     403    403    401
GET    /                                             ok     401    401    ok     ok     ok     ok     ok     ok     401    ok     ok     ok     ok     ok     401
GET    /admin                                        signin 401    401    403    403    ok     403    403    ok     401    403    403    ok     403    403    401
GET    /admin/areas                                  signin 401    401    403    403    ok     403    403    ok     401    403    403    ok     403    403    401
GET    /admin/areas/{code}                           signin 401    401    403    403    ok     403    403    ok     401    403    403    403    403    403    401
POST   /admin/areas/{code}                           signin 401    401    403    403    ok     403    403    403    401    403    403    403    403    403    401
GET    /admin/policies                               signin 401    401    403    403    ok     403    403    ok     401    403    403    ok     403    403    401
GET    /admin/policies/edit                          signin 401    401    403    403    ok     403    403    403    401    403    403    403    403    403    401
POST   /admin/policies/edit                          signin 401    401    403    403    ok     403    403    403    401    403    403    403    403    403    401
GET    /admin/simulate                               signin 401    401    403    403    ok     403    403    ok     401    403    403    ok     403    403    401
POST   /admin/simulate                               signin 401    401    403    403    ok     403    403    ok     401    403    403    ok     403    403    401
GET    /admin/issuers                                signin 401    401    403    403    403    403    403    ok     401    403    403    403    403    403    401
GET    /admin/issuers/{region}/keys/{kid}/revoke     signin 401    401    403    403    403    403    403    ok     401    403    403    403    403    403    401
POST   /admin/issuers/{region}/keys/{kid}/revoke     signin 401    401    403    403    403    403    403    ok     401    403    403    403    403    403    401
GET    /admin/labs                                   signin 401    401    403    403    403    403    403    ok     401    403    403    403    403    403    401
POST   /admin/labs                                   signin 401    401    403    403    403    403    403    ok     401    403    403    403    403    403    401
GET    /admin/dashboards                             signin 401    401    403    403    ok     403    403    ok     401    403    403    ok     403    403    401
""",
    "issuer": """
#                                                    anon   cit    cit2   cp     staff  auth   lab    node   admin  x_cit  x_cp   x_stf  x_aut  x_lab  x_nod  x_adm
GET    /openapi.json                                 ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok
GET    /static/{path}                                ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok
GET    /docs                                         ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /healthz                                      ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /readyz                                       ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /metrics                                      ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /problems/{slug}                              ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /prefs                                        home   home   home   home   home   home   home   home   home   401    401    401    401    401    401    401
GET    /signin/staff                                 ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
POST   /signin/staff                                 401    401    401    home   home   home   home   home   home   401    401    401    401    401    401    401
POST   /signout                                      home   home   home   home   home   home   home   home   home   401    401    401    401    401    401    401
GET    /admin                                        signin 403    403    403    ok     ok     403    403    ok     401    401    401    401    401    401    401
GET    /admin/corrections/{correction_id}            signin 403    403    403    ok     403    403    403    ok     401    401    401    401    401    401    401
POST   /admin/corrections/{correction_id}            signin 403    403    403    ok     403    403    403    ok     401    401    401    401    401    401    401
GET    /admin/overrides                              signin 403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
POST   /admin/overrides                              signin 403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
POST   /admin/overrides/{override_id}                signin 403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
GET    /                                             ok     ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /signin/otp                                   ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
POST   /signin                                       home   home   home   home   home   home   home   home   home   401    401    401    401    401    401    401
POST   /apply                                        home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /people/{n}                                   home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /links/{request_id}/confirm                   home   ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /links/{request_id}/withdraw                  home   home   404    403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /people/{n}/qr.svg                            home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /people/{n}/code                              home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /people/{n}/code                              401    ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /people/{n}/declare                           home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /people/{n}/declare                           home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /people/{n}/itinerary                         home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /areas                                        401    ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /people/{n}/activity                          home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /people/{n}/corrections                       home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /people/{n}/corrections                       home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /people/{n}/card                              home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/auth/otp                                  ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
POST   /v1/auth/session                              ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
POST   /v1/applications                              401    ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/subjects                                  401    ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/link-requests                             401    ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/link-requests/{request_id}/confirm        401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
DELETE /v1/link-requests/{request_id}                401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/link-requests/{request_id}/in-person      401    403    403    403    ok     403    403    403    ok     401    401    401    401    401    401    401
GET    /v1/subjects/{sid}/proxies                    401    ok     404    403    ok     403    403    403    ok     401    401    401    401    401    401    401
DELETE /v1/subjects/{sid}/proxies/{account}          401    ok     404    403    ok     403    403    403    ok     401    401    401    401    401    401    401
PUT    /v1/subjects/{sid}/proxies/{account}/grants   401    ok     404    403    ok     403    403    403    ok     401    401    401    401    401    401    401
POST   /v1/declarations                              401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/itineraries                               401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/subjects/{sid}/health                     401    ok     404    403    ok     ok     403    403    ok     401    401    401    401    401    401    401
GET    /v1/subjects/{sid}/travel                     401    ok     404    403    ok     ok     403    403    ok     401    401    401    401    401    401    401
GET    /v1/subjects/{sid}/activity                   401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/subjects/{sid}/corrections                401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/codes                                     401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/travel-codes                              401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/codes/verify                              401    403    403    ok     ok     403    403    ok     ok     401    401    401    401    401    401    401
POST   /v1/corrections                               401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/corrections                               401    403    403    403    ok     403    403    403    ok     401    401    401    401    401    401    401
GET    /v1/corrections/{correction_id}               401    ok     404    403    ok     403    403    403    ok     401    401    401    401    401    401    401
POST   /v1/corrections/{correction_id}/decision      401    403    403    403    ok     403    403    403    ok     401    401    401    401    401    401    401
POST   /v1/overrides                                 401    403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
GET    /v1/overrides                                 401    403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
GET    /v1/overrides/{override_id}                   401    403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
POST   /v1/overrides/{override_id}/approval          401    403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
POST   /v1/overrides/{override_id}/refusal           401    403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
POST   /v1/overrides/{override_id}/hub-approval      401    403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
GET    /v1/keys                                      ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/risk-areas                                ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/log/sth                                   ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/log/entries                               ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/log/proof/inclusion                       ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/log/proof/consistency                     ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
PUT    /v1/risk-areas/{code}                         401    403    403    403    403    ok     403    403    ok     401    401    401    401    401    401    401
POST   /v1/subjects/{sid}/lookup                     401    403    403    403    403    403    403    ok     403    401    401    401    401    401    401    401
GET    /v1/hub/trust-list                            401    403    403    ok     403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/hub/risk-areas                            401    403    403    ok     403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/hub/international-trust                   401    403    403    ok     403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/hub/policies/{region}                     401    403    403    ok     403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/hub/codes/verify                          401    403    403    ok     403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/hub/lookups                               401    403    403    ok     403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/hub/scans                                 401    403    403    ok     403    403    403    403    403    401    401    401    401    401    401    401
GET    /checkpoint                                   signin 403    403    ok     403    403    403    403    403    401    401    401    401    401    401    401
GET    /checkpoint/sw.js                             ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
""",
    "hosted": """
#                                                    anon   cit    cit2   cp     staff  auth   lab    node   admin  x_cit  x_cp   x_stf  x_aut  x_lab  x_nod  x_adm
GET    /openapi.json                                 ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok
GET    /static/{path}                                ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok
GET    /docs                                         ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /healthz                                      ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /readyz                                       ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /metrics                                      ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /problems/{slug}                              ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /prefs                                        home   home   home   home   home   home   home   home   home   401    401    401    401    401    401    401
GET    /signin/staff                                 ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
POST   /signin/staff                                 401    401    401    home   home   home   home   home   home   401    401    401    401    401    401    401
POST   /signout                                      home   home   home   home   home   home   home   home   home   401    401    401    401    401    401    401
GET    /admin                                        signin 403    403    403    ok     ok     403    403    ok     401    401    401    401    401    401    401
GET    /admin/corrections/{correction_id}            signin 403    403    403    ok     403    403    403    ok     401    401    401    401    401    401    401
POST   /admin/corrections/{correction_id}            signin 403    403    403    ok     403    403    403    ok     401    401    401    401    401    401    401
GET    /admin/overrides                              signin 403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
POST   /admin/overrides                              signin 403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
POST   /admin/overrides/{override_id}                signin 403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
GET    /                                             ok     ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /signin/otp                                   ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
POST   /signin                                       home   home   home   home   home   home   home   home   home   401    401    401    401    401    401    401
POST   /apply                                        home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /people/{n}                                   home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /links/{request_id}/confirm                   home   ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /links/{request_id}/withdraw                  home   home   404    403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /people/{n}/qr.svg                            home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /people/{n}/code                              home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /people/{n}/code                              401    ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /people/{n}/declare                           home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /people/{n}/declare                           home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /people/{n}/itinerary                         home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /areas                                        401    ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /people/{n}/activity                          home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /people/{n}/corrections                       home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /people/{n}/corrections                       home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /people/{n}/card                              home   ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/auth/otp                                  ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
POST   /v1/auth/session                              ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
POST   /v1/applications                              401    ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/subjects                                  401    ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/link-requests                             401    ok     ok     403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/link-requests/{request_id}/confirm        401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
DELETE /v1/link-requests/{request_id}                401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/link-requests/{request_id}/in-person      401    403    403    403    ok     403    403    403    ok     401    401    401    401    401    401    401
GET    /v1/subjects/{sid}/proxies                    401    ok     404    403    ok     403    403    403    ok     401    401    401    401    401    401    401
DELETE /v1/subjects/{sid}/proxies/{account}          401    ok     404    403    ok     403    403    403    ok     401    401    401    401    401    401    401
PUT    /v1/subjects/{sid}/proxies/{account}/grants   401    ok     404    403    ok     403    403    403    ok     401    401    401    401    401    401    401
POST   /v1/declarations                              401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/itineraries                               401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/subjects/{sid}/health                     401    ok     404    403    ok     ok     403    403    ok     401    401    401    401    401    401    401
GET    /v1/subjects/{sid}/travel                     401    ok     404    403    ok     ok     403    403    ok     401    401    401    401    401    401    401
GET    /v1/subjects/{sid}/activity                   401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/subjects/{sid}/corrections                401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/codes                                     401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/travel-codes                              401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/codes/verify                              401    403    403    ok     ok     403    403    ok     ok     401    401    401    401    401    401    401
POST   /v1/corrections                               401    ok     404    403    403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/corrections                               401    403    403    403    ok     403    403    403    ok     401    401    401    401    401    401    401
GET    /v1/corrections/{correction_id}               401    ok     404    403    ok     403    403    403    ok     401    401    401    401    401    401    401
POST   /v1/corrections/{correction_id}/decision      401    403    403    403    ok     403    403    403    ok     401    401    401    401    401    401    401
POST   /v1/overrides                                 401    403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
GET    /v1/overrides                                 401    403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
GET    /v1/overrides/{override_id}                   401    403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
POST   /v1/overrides/{override_id}/approval          401    403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
POST   /v1/overrides/{override_id}/refusal           401    403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
POST   /v1/overrides/{override_id}/hub-approval      401    403    403    403    403    ok     403    403    403    401    401    401    401    401    401    401
GET    /v1/keys                                      ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/risk-areas                                ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/log/sth                                   ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/log/entries                               ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/log/proof/inclusion                       ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/log/proof/consistency                     ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
PUT    /v1/risk-areas/{code}                         401    403    403    403    403    ok     403    403    ok     401    401    401    401    401    401    401
POST   /v1/subjects/{sid}/lookup                     401    403    403    403    403    403    403    ok     403    401    401    401    401    401    401    401
GET    /v1/hub/trust-list                            401    403    403    503    403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/hub/risk-areas                            401    403    403    503    403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/hub/international-trust                   401    403    403    503    403    403    403    403    403    401    401    401    401    401    401    401
GET    /v1/hub/policies/{region}                     401    403    403    503    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/hub/codes/verify                          401    403    403    503    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/hub/lookups                               401    403    403    503    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/hub/scans                                 401    403    403    503    403    403    403    403    403    401    401    401    401    401    401    401
GET    /checkpoint                                   signin 403    403    ok     403    403    403    403    403    401    401    401    401    401    401    401
GET    /checkpoint/sw.js                             ok     ok     ok     ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
""",
    "road": """
# the road node: staff is a maintenance team (team-north), auth a department (traffic_police);
# citizens and the x_ roles are Zhejiang's tokens, unknown here (authz_support.py)
#                                                    anon   cit    cit2   cp     staff  auth   lab    node   admin  x_cit  x_cp   x_stf  x_aut  x_lab  x_nod  x_adm
GET    /openapi.json                                 ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok
GET    /static/{path}                                ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok
GET    /docs                                         ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /healthz                                      ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /readyz                                       ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /metrics                                      ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /problems/{slug}                              ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
POST   /v1/road/observations                         ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/road/cells                                ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/road/cells/{cell}                         ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/road/network                              ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/road/ruleset                              ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/road/dashboard                            ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/road/log-key                              ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/road/points/{device_id}                   ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
POST   /v1/road/devices                              401    401    401    403    403    403    403    403    ok     401    401    401    401    401    401    401
GET    /v1/road/work-orders                          401    401    401    403    ok     ok     403    403    ok     401    401    401    401    401    401    401
GET    /v1/road/work-orders/{order_id}               401    401    401    403    ok     ok     403    403    ok     401    401    401    401    401    401    401
POST   /v1/road/work-orders/{order_id}/steps         401    401    401    403    ok     403    403    403    ok     401    401    401    401    401    401    401
GET    /v1/road/findings                             401    401    401    403    403    ok     403    403    ok     401    401    401    401    401    401    401
GET    /v1/road/feed                                 401    401    401    403    403    ok     403    403    ok     401    401    401    401    401    401    401
GET    /v1/log/sth                                   ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/log/entries                               ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/log/proof/inclusion                       ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /v1/log/proof/consistency                     ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /prefs                                        home   401    401    home   home   home   home   home   home   401    401    401    401    401    401    401
GET    /signin/staff                                 ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
POST   /signin/staff                                 401    401    401    home   home   home   home   home   home   401    401    401    401    401    401    401
POST   /signout                                      home   401    401    home   home   home   home   home   home   401    401    401    401    401    401    401
GET    /                                             ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /road/cells/{cell}                            ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /road/orders                                  signin 401    401    403    ok     ok     403    403    ok     401    401    401    401    401    401    401
GET    /road/dashboard                               ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
GET    /road/report                                  ok     401    401    ok     ok     ok     ok     ok     ok     401    401    401    401    401    401    401
""",
    "legacy": """
#                                                    anon   cit    cit2   cp     staff  auth   lab    node   admin  x_cit  x_cp   x_stf  x_aut  x_lab  x_nod  x_adm
POST   /hbjkm/userHealth/validateInfo                401    401    401    ok     401    401    401    ok     ok     401    401    401    401    401    401    401
POST   /hbjkm/user/register                          401    401    401    403    401    401    401    403    ok     401    401    401    401    401    401    401
POST   /hbjkm/code/generate                          401    401    401    403    401    401    401    403    ok     401    401    401    401    401    401    401
POST   /hbjkm/admin/setStatus                        401    401    401    403    401    401    401    403    ok     401    401    401    401    401    401    401
POST   /hbjkm/admin/hsjc                             401    401    401    403    401    401    401    403    ok     401    401    401    401    401    401    401
GET    /healthz                                      ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok     ok
""",
}
CROSS_REGION_TEXT = {
    "issuer": """
#                                                    anon   cit    cit2   cp     staff  auth   lab    node   admin  x_cit  x_cp   x_stf  x_aut  x_lab  x_nod  x_adm
PUT    /v1/risk-areas/{code}                         401    403    403    403    403    403    403    403    403    401    401    401    401    401    401    401
POST   /v1/hub/scans                                 401    403    403    403    403    403    403    403    403    401    401    401    401    401    401    401
""",
    "hosted": """
#                                                    anon   cit    cit2   cp     staff  auth   lab    node   admin  x_cit  x_cp   x_stf  x_aut  x_lab  x_nod  x_adm
PUT    /v1/risk-areas/{code}                         401    403    403    403    403    403    403    403    403    401    401    401    401    401    401    401
""",
    "hub": """
#                                                    anon   cit    cit2   cp     staff  auth   lab    node   admin  x_cit  x_cp   x_stf  x_aut  x_lab  x_nod  x_adm
PUT    /v1/risk-areas/{code}                         401    401    401    403    403    403    403    403    403    401    403    403    ok     403    403    401
POST   /v1/risk-areas/batch                          401    401    401    403    403    403    403    403    403    401    403    403    ok     403    403    401
PUT    /v1/policies/{region}                         401    401    401    403    403    403    403    403    403    401    403    403    ok     403    403    401
POST   /v1/issuers/{region}/keys                     401    401    401    403    403    403    403    403    ok     401    403    403    403    403    403    401
# the other region (420000, legacy) has no keys: who may act for it is told 404, the rest 403
DELETE /v1/issuers/{region}/keys/{kid}               401    401    401    403    403    403    403    403    404    401    403    403    403    403    404    401
POST   /v1/scans                                     401    401    401    403    403    403    403    403    403    401    ok     403    403    403    ok     401
POST   /admin/areas/{code}                           signin 401    401    403    403    403    403    403    403    401    403    403    ok     403    403    401
GET    /admin/policies/edit                          signin 401    401    403    403    403    403    403    403    401    403    403    ok     403    403    401
POST   /admin/policies/edit                          signin 401    401    403    403    403    403    403    403    401    403    403    ok     403    403    401
""",
}


def _parse(text: str) -> dict[Route, dict[str, str]]:
    rows: dict[Route, dict[str, str]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        method, path, *cells = line.split()
        assert len(cells) == len(ROLES), f"{method} {path}: {len(cells)} cells"
        assert set(cells) <= OUTCOMES, f"{method} {path}: {set(cells) - OUTCOMES}"
        assert (method, path) not in rows, f"{method} {path} twice"
        rows[(method, path)] = dict(zip(ROLES, cells, strict=True))
    return rows


#: kind of node → (method, path template) → role → expected outcome
MATRIX = {kind: _parse(text) for kind, text in MATRIX_TEXT.items()}
CROSS_REGION = {kind: _parse(text) for kind, text in CROSS_REGION_TEXT.items()}
