"""The road-condition code (路面健康码): 1 m² cells, sensed defects, findings, work orders.

A separate part of the platform (docs/road.md). Everything here is pure — time and randomness are
parameters — except that positions are projected with PROJ (``pyproj``) and the shipped data files
(road network, defect catalogue, rule sets) are read from the package.
"""
