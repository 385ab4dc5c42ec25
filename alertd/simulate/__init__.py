"""Fake provider billing APIs served over real loopback HTTP, and the spend they serve.

`northflank.FakeNorthflank` and `friendli.FakeFriendli` follow the providers' documented
behaviour (auth, validation, pagination, error bodies) and misbehave on request (`Fault`);
`spend` generates deterministic, realistic data for them. Used by the tests and `alertd demo`.
"""
