//! The cluster's rows: discovery (`cluster_ping`) and the cluster CA (`cluster_ca`). These are
//! read and written outside request transactions, by the cluster crate's background tasks.

use sqlx::Row as _;

use crate::connect::Store;
use crate::error::{StoreError, from_sqlx};

/// One node's discovery row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingRow {
    /// The node's name (its sticky-session route).
    pub node_name: String,
    /// `host:port` of its private transport.
    pub address: String,
    /// The site (data center) it runs in, if named.
    pub site: Option<String>,
    /// When the process started (epoch millis): older nodes rank first.
    pub started_at: i64,
    /// When the row was last refreshed (epoch millis).
    pub last_seen: i64,
}

/// The cluster CA as stored: PEM certificate and PEM (PKCS#8) private key.
#[derive(Clone)]
pub struct StoredCa {
    /// PEM certificate.
    pub certificate: String,
    /// PEM private key.
    pub private_key: String,
}

impl std::fmt::Debug for StoredCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredCa").finish_non_exhaustive()
    }
}

impl Store {
    /// Writes (or refreshes) this node's discovery row.
    pub async fn announce(&self, cluster: &str, row: &PingRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cluster_ping (cluster_name, node_name, address, site, started_at, last_seen) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (cluster_name, node_name) DO UPDATE SET \
             address = excluded.address, site = excluded.site, \
             started_at = excluded.started_at, last_seen = excluded.last_seen",
        )
        .bind(cluster)
        .bind(&row.node_name)
        .bind(&row.address)
        .bind(row.site.as_deref())
        .bind(row.started_at)
        .bind(row.last_seen)
        .execute(&self.inner.pool)
        .await
        .map(|_| ())
        .map_err(from_sqlx)
    }

    /// The rows of `cluster` refreshed at or after `since` (epoch millis).
    pub async fn discovered(&self, cluster: &str, since: i64) -> Result<Vec<PingRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT node_name, address, site, started_at, last_seen FROM cluster_ping \
             WHERE cluster_name = $1 AND last_seen >= $2 ORDER BY started_at, node_name",
        )
        .bind(cluster)
        .bind(since)
        .fetch_all(&self.inner.pool)
        .await
        .map_err(from_sqlx)?;
        rows.iter()
            .map(|r| {
                Ok(PingRow {
                    node_name: r.try_get(0).map_err(from_sqlx)?,
                    address: r.try_get(1).map_err(from_sqlx)?,
                    site: r.try_get(2).map_err(from_sqlx)?,
                    started_at: r.try_get(3).map_err(from_sqlx)?,
                    last_seen: r.try_get(4).map_err(from_sqlx)?,
                })
            })
            .collect()
    }

    /// Removes this node's row: a clean shutdown.
    pub async fn leave(&self, cluster: &str, node_name: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM cluster_ping WHERE cluster_name = $1 AND node_name = $2")
            .bind(cluster)
            .bind(node_name)
            .execute(&self.inner.pool)
            .await
            .map(|_| ())
            .map_err(from_sqlx)
    }

    /// Removes rows nobody refreshed since `stale_before` (nodes that died), so the table does
    /// not grow with every crash.
    pub async fn forget_stale(&self, cluster: &str, stale_before: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM cluster_ping WHERE cluster_name = $1 AND last_seen < $2")
            .bind(cluster)
            .bind(stale_before)
            .execute(&self.inner.pool)
            .await
            .map(|_| ())
            .map_err(from_sqlx)
    }

    /// The CA of `cluster`, making it from `make` if there is none yet. Nodes starting at once
    /// race here; the insert is conditional, so all of them end up with the one that won.
    pub async fn cluster_ca(
        &self,
        cluster: &str,
        make: impl FnOnce() -> Result<StoredCa, String>,
        now: i64,
    ) -> Result<StoredCa, StoreError> {
        if let Some(ca) = self.read_ca(cluster).await? {
            return Ok(ca);
        }
        let fresh = make().map_err(StoreError::Internal)?;
        sqlx::query(
            "INSERT INTO cluster_ca (cluster_name, certificate, private_key, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (cluster_name) DO NOTHING",
        )
        .bind(cluster)
        .bind(&fresh.certificate)
        .bind(&fresh.private_key)
        .bind(now)
        .execute(&self.inner.pool)
        .await
        .map_err(from_sqlx)?;
        self.read_ca(cluster)
            .await?
            .ok_or_else(|| StoreError::Internal("cluster CA vanished after insert".into()))
    }

    async fn read_ca(&self, cluster: &str) -> Result<Option<StoredCa>, StoreError> {
        let row =
            sqlx::query("SELECT certificate, private_key FROM cluster_ca WHERE cluster_name = $1")
                .bind(cluster)
                .fetch_optional(&self.inner.pool)
                .await
                .map_err(from_sqlx)?;
        row.map(|r| {
            Ok(StoredCa {
                certificate: r.try_get(0).map_err(from_sqlx)?,
                private_key: r.try_get(1).map_err(from_sqlx)?,
            })
        })
        .transpose()
    }
}
