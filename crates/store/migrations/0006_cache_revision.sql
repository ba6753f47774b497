-- One counter that every transaction changing realm, client, role, group, user, client scope,
-- protocol mapper or key rows increments, in that same transaction. Nodes tag what they cache
-- with the revision they read before loading it and serve an entry only while the revision is
-- unchanged, so no node serves data another node has changed, and a read that raced with a
-- write can never put stale data back (issue 6's cluster invalidation will make the reads rarer,
-- not the rule weaker).
CREATE TABLE cache_revision (
    id INTEGER PRIMARY KEY,
    revision BIGINT NOT NULL
);
INSERT INTO cache_revision (id, revision) VALUES (1, 0);
