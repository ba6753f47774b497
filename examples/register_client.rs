//! Registers an OpenID Connect client in the master realm of a `start-dev` data directory, for
//! tests that drive the server from outside Rust (`tests/keycloak-js`) until the admin REST API
//! exists. The server may be running: it reads clients from the database on every request.
//!
//! ```text
//! cargo run --example register_client -- <data-dir> <client-id> <redirect-uri> <web-origin> \
//!     <public | secret:VALUE> [attribute=value ...]
//! ```
//!
//! `<data-dir>` is the server's `--data-dir` (the one holding `gatehouse.db`). Prints the new
//! client's internal id.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use gatehouse_model::{Client, ClientId, ClientUuid};
use gatehouse_services::Services;
use gatehouse_store::{ConnectOptions, DbSettings, Store};

const USAGE: &str = "usage: register_client <data-dir> <client-id> <redirect-uri> <web-origin> \
                     <public|secret:VALUE> [attribute=value ...]";

struct Args {
    data_dir: PathBuf,
    client_id: String,
    redirect_uri: String,
    web_origin: String,
    secret: Option<String>,
    attributes: Vec<(String, String)>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let [
        data_dir,
        client_id,
        redirect_uri,
        web_origin,
        kind,
        rest @ ..,
    ] = args
    else {
        return Err(USAGE.into());
    };
    let secret = match kind.as_str() {
        "public" => None,
        other => match other.strip_prefix("secret:") {
            Some(secret) if !secret.is_empty() => Some(secret.to_owned()),
            _ => {
                return Err(format!(
                    "expected `public` or `secret:VALUE`, got `{other}`"
                ));
            }
        },
    };
    let attributes = rest
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
            _ => Err(format!("expected attribute=value, got `{pair}`")),
        })
        .collect::<Result<_, _>>()?;
    Ok(Args {
        data_dir: PathBuf::from(data_dir),
        client_id: client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        web_origin: web_origin.clone(),
        secret,
        attributes,
    })
}

async fn register(args: Args) -> Result<String, String> {
    let store = Store::connect(&ConnectOptions {
        db: DbSettings::Sqlite {
            path: args.data_dir.join("gatehouse.db"),
        },
        pool_min: 0,
        pool_max: 1,
        application_name: "register_client".into(),
        connect_timeout: Duration::from_secs(5),
    })
    .await
    .map_err(|e| format!("cannot open the database: {e}"))?;
    let services = Services::new(store.clone());
    let result = async {
        let master = services
            .realm("master")
            .await
            .map_err(|e| format!("master realm: {e}"))?;
        let mut client = Client::new(
            ClientUuid::new_random(),
            master.id.clone(),
            ClientId::new(&args.client_id),
        );
        client.public_client = args.secret.is_none();
        client.secret = args.secret;
        client.redirect_uris = vec![args.redirect_uri];
        client.web_origins = vec![args.web_origin];
        client.attributes.extend(args.attributes);
        let created = services
            .create_client(client)
            .await
            .map_err(|e| format!("cannot create client `{}`: {e}", args.client_id))?;
        Ok(created.id.to_string())
    }
    .await;
    store.close().await;
    result
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&args) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    match register(args).await {
        Ok(id) => {
            println!("{id}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
