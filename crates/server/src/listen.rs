//! Binding the listeners and running them until shutdown.
//!
//! Sockets are bound here, before anything is served, so that "address in use" is a start-up
//! error with the address in the message rather than a failure of a background task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use gatehouse_config::Config;
use tokio::task::JoinSet;

use crate::{AppState, ServerError, app, management_app};

/// The listeners of a running server.
pub struct Running {
    handles: Vec<Handle<SocketAddr>>,
    tasks: JoinSet<Result<(), std::io::Error>>,
    /// The plain HTTP address, when `http-enabled`.
    pub http: Option<SocketAddr>,
    /// The HTTPS address, when certificate files are given.
    pub https: Option<SocketAddr>,
    /// The management address, when health or metrics are enabled.
    pub management: Option<SocketAddr>,
}

/// Binds every configured listener and starts serving on it.
pub async fn serve(config: &Config, state: AppState) -> Result<Running, ServerError> {
    let tls = match (
        &config.https_certificate_file,
        &config.https_certificate_key_file,
    ) {
        (Some(cert), Some(key)) => Some(load_tls(cert, key).await?),
        _ => None,
    };
    let public = app(state.clone());
    let mut running = Running {
        handles: Vec::new(),
        tasks: JoinSet::new(),
        http: None,
        https: None,
        management: None,
    };
    let scheme = |tls: &Option<RustlsConfig>| if tls.is_some() { "https" } else { "http" };

    if config.http_enabled {
        let addr = running
            .start(&config.http_host, config.http_port, public.clone(), None)
            .await?;
        tracing::info!("Listening on: http://{addr}");
        running.http = Some(addr);
    }
    if let Some(tls) = &tls {
        let addr = running
            .start(
                &config.http_host,
                config.https_port,
                public,
                Some(tls.clone()),
            )
            .await?;
        tracing::info!("Listening on: https://{addr}");
        running.https = Some(addr);
    }
    if config.health_enabled || config.metrics_enabled {
        let router = management_app(state, config);
        let addr = running
            .start(
                &config.http_host,
                config.http_management_port,
                router,
                tls.clone(),
            )
            .await?;
        tracing::info!(
            "Management interface listening on {}://{addr}",
            scheme(&tls)
        );
        running.management = Some(addr);
    }
    Ok(running)
}

impl Running {
    async fn start(
        &mut self,
        host: &str,
        port: u16,
        router: Router,
        tls: Option<RustlsConfig>,
    ) -> Result<SocketAddr, ServerError> {
        let wanted = resolve(host, port).await?;
        let listener = std::net::TcpListener::bind(wanted)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|cause| ServerError::Bind {
                addr: wanted,
                cause,
            })?;
        let bound = listener.local_addr().map_err(|cause| ServerError::Bind {
            addr: wanted,
            cause,
        })?;
        let handle = Handle::new();
        let scheme = crate::ctx::ListenerScheme(if tls.is_some() { "https" } else { "http" });
        let service = router
            .layer(axum::Extension(scheme))
            .into_make_service_with_connect_info::<SocketAddr>();
        let bind_err = |cause| ServerError::Bind { addr: bound, cause };
        match tls {
            Some(tls) => {
                let server = axum_server::from_tcp_rustls(listener, tls)
                    .map_err(bind_err)?
                    .handle(handle.clone());
                self.tasks.spawn(async move { server.serve(service).await });
            }
            None => {
                let server = axum_server::from_tcp(listener)
                    .map_err(bind_err)?
                    .handle(handle.clone());
                self.tasks.spawn(async move { server.serve(service).await });
            }
        }
        self.handles.push(handle);
        Ok(bound)
    }

    /// Resolves when any listener stops on its own, which only an I/O fault makes it do.
    pub async fn failed(&mut self) -> ServerError {
        match self.tasks.join_next().await {
            Some(Ok(Err(e))) => ServerError::Serve(e),
            Some(Ok(Ok(()))) => ServerError::Serve(std::io::Error::other("listener stopped")),
            Some(Err(e)) => ServerError::Serve(std::io::Error::other(e.to_string())),
            None => std::future::pending().await,
        }
    }

    /// Stops accepting connections, lets requests in flight finish for at most `grace`, then
    /// closes what remains.
    pub async fn shutdown(mut self, grace: Duration) -> Result<(), ServerError> {
        for handle in &self.handles {
            handle.graceful_shutdown(Some(grace));
        }
        while let Some(joined) = self.tasks.join_next().await {
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(ServerError::Serve(e)),
                Err(e) => return Err(ServerError::Serve(std::io::Error::other(e.to_string()))),
            }
        }
        Ok(())
    }
}

async fn resolve(host: &str, port: u16) -> Result<SocketAddr, ServerError> {
    let mut addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| ServerError::Host(host.to_owned()))?;
    addrs
        .next()
        .ok_or_else(|| ServerError::Host(host.to_owned()))
}

async fn load_tls(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<RustlsConfig, ServerError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let fail = |cause: String| ServerError::Tls {
        cert: cert.to_owned(),
        key: key.to_owned(),
        cause,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| fail(format!("certificate file: {e}")))?;
    if chain.is_empty() {
        return Err(fail("certificate file holds no certificate".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| fail(format!("key file: {e}")))?;
    let mut server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| fail(e.to_string()))?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(RustlsConfig::from_config(Arc::new(server)))
}
