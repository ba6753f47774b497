//! A small client for the Admin REST API, as the end-to-end tests drive it: a token from the
//! master realm through `admin-cli`, then JSON in and out with the status and `Location` kept.

use serde_json::Value;

use crate::harness::Node;

/// The bootstrap administrator every admin test starts its node with.
pub const ADMIN_ENV: [(&str, &str); 2] = [
    ("KC_BOOTSTRAP_ADMIN_USERNAME", "admin"),
    ("KC_BOOTSTRAP_ADMIN_PASSWORD", "Admin-Pass-1"),
];

/// One answer of the admin API.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body, or `Null` when empty or not JSON.
    pub body: Value,
    /// The `Location` header, for creates.
    pub location: Option<String>,
}

impl Answer {
    /// The id at the end of `Location` (how python-keycloak and the admin client read it).
    pub fn created_id(&self) -> String {
        assert_eq!(self.status, 201, "expected 201 Created: {:?}", self.body);
        let location = self.location.as_deref().expect("Location header");
        location.rsplit('/').next().expect("id").to_owned()
    }
}

/// An admin session against one node.
pub struct AdminApi {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl AdminApi {
    /// Logs in to `realm` through `admin-cli` with a password and keeps the access token.
    pub async fn login(node: &Node, realm: &str, username: &str, password: &str) -> AdminApi {
        let http = reqwest::Client::new();
        let url = node.url(&format!("/realms/{realm}/protocol/openid-connect/token"));
        let res = http
            .post(url)
            .form(&[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", username),
                ("password", password),
            ])
            .send()
            .await
            .expect("token request");
        let status = res.status();
        let body: Value = res.json().await.expect("token json");
        assert_eq!(status, 200, "admin login failed: {body}");
        AdminApi {
            base: node.url(""),
            token: Some(body["access_token"].as_str().expect("token").to_owned()),
            http,
        }
    }

    /// The bootstrap admin of [`ADMIN_ENV`] in the master realm.
    pub async fn master(node: &Node) -> AdminApi {
        AdminApi::login(node, "master", "admin", "Admin-Pass-1").await
    }

    /// A session that sends no token at all, for the 401 paths.
    pub fn anonymous(node: &Node) -> AdminApi {
        AdminApi {
            base: node.url(""),
            token: None,
            http: reqwest::Client::new(),
        }
    }

    /// A session with a given bearer token (a client-credentials token, say).
    pub fn with_token(node: &Node, token: &str) -> AdminApi {
        AdminApi {
            base: node.url(""),
            token: Some(token.to_owned()),
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req.send().await.expect("admin request");
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = res.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            location,
        }
    }

    /// `GET path` (path from the server root, e.g. `/admin/realms/master/users`).
    pub async fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Answer {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// `DELETE path` with a JSON body (role mappings and composites are removed this way).
    pub async fn delete_with(&self, path: &str, body: &Value) -> Answer {
        self.send(reqwest::Method::DELETE, path, Some(body)).await
    }
}
