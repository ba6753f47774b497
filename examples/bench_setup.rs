//! Creates the confidential client `bench/run` measures with, through the services layer (the
//! admin API that would create it is another issue). Used by `bench/grants.py` only.
//!
//! `cargo run --release --example bench_setup -- <data dir> <client id> <secret>`
//!
//! Opens `<data dir>/gatehouse.db` (the running node's SQLite file) and adds a client to the
//! master realm with a secret, a service account and direct access grants.

use std::path::PathBuf;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data_dir, client_id, secret] = args.as_slice() else {
        return Err("usage: bench_setup <data dir> <client id> <secret>".into());
    };
    let store = gatehouse_store::Store::connect(&gatehouse_store::ConnectOptions {
        db: gatehouse_store::DbSettings::Sqlite {
            path: PathBuf::from(data_dir).join("gatehouse.db"),
        },
        pool_min: 0,
        pool_max: 1,
        application_name: "bench-setup".into(),
        connect_timeout: Duration::from_secs(5),
    })
    .await?;
    let services = gatehouse_services::Services::new(store.clone());
    let master = services.realm("master").await?;
    let mut client = gatehouse_model::Client::new(
        gatehouse_model::ClientUuid::new_random(),
        master.id.clone(),
        gatehouse_model::ClientId::new(client_id.as_str()),
    );
    client.service_accounts_enabled = true;
    client.direct_access_grants_enabled = true;
    client.secret = Some(secret.clone());
    let created = services.create_client(client).await?;
    store.close().await;
    println!(
        "created client {} ({})",
        created.client_id.as_str(),
        created.id.as_str()
    );
    Ok(())
}
