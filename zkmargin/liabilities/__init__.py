"""The exchange's proof of liabilities and reserves: a public Merkle sum tree of account
statements, each leaf with its debts proven covered, a signed root, and reserves proven to cover
the per-asset totals.

=============== ===============================================================================
module          its one job
=============== ===============================================================================
``leaf``        a leaf: columns, the liabilities derived from a statement and its proof, hash
``tree``        nodes: sums and hashes, paths
``root``        the signed root's message, signing and checking
``reserves``    PK{(t, β): T = t·G + β·H ∧ 0 ≤ R − t < 2^(64L)} per column
``plan``        every leaf decided up front, from the key, the epoch and the inputs
``work``        the tasks workers run (prove leaves, build subtrees, check leaves)
``parallel``    in process, a local process pool, or a Dask cluster
``store``       the SQLite publication (resumable work file, deterministic final file)
``vault``       the owner-only secrets file
``publish``     build a publication from a plan
``audit``       check every stored value of a publication
``inclusion``   a user's path to the signed root, and its check
=============== ===============================================================================

The protocol is explained in ``docs/liabilities.md``.
"""
