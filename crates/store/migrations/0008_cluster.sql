-- Cluster discovery and the cluster's certificate authority (`--cache-stack jdbc-ping`).
--
-- Every node of a cluster keeps one row here, refreshed every few seconds, naming the private
-- address its peers reach it on. A node starting up reads the rows of its cluster that are
-- fresh and asks those addresses to let it in, so no multicast and no member list is needed.
-- The cluster name is part of the key, so two clusters can share one database and stay apart.
CREATE TABLE cluster_ping (
    cluster_name VARCHAR(255) NOT NULL,
    node_name VARCHAR(255) NOT NULL,
    address VARCHAR(255) NOT NULL,
    site VARCHAR(255),
    started_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (cluster_name, node_name)
);

-- The CA that signs every node's transport certificate, made by the first node of a cluster.
-- Whoever can read this row can join the cluster, exactly as whoever can read the realm keys
-- can sign tokens: the database is the trust root either way.
CREATE TABLE cluster_ca (
    cluster_name VARCHAR(255) PRIMARY KEY,
    certificate TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
