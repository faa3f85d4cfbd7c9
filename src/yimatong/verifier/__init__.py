"""The checkpoint (核验端): offline-first verification, entry policies, scan records.

``verifier.Verifier`` decides on one scan; ``agent.Agent`` runs a gate; ``policy`` holds the
facts a policy sees and ``decide``. See docs/checkpoint.md and docs/policies.md.
"""
