"""Who vouches for the commitments: venue keys, BLS signatures, account statements."""
