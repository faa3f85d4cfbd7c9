"""The road node (路面健康码, docs/road.md): storage, ingest, work orders, points, its API.

The pure core is ``yimatong.road``; this package stores it (SQLAlchemy Core, tables
``road_*``), logs it (the same transparency log code as the health side, in the road node's own
database) and serves it.
"""
