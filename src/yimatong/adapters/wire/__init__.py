"""The code on the wire: base45, COSE_Sign1 and the ``YMT1`` health code (DESIGN §5)."""
